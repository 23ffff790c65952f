"""Rooms from walls through the API: on DXF import, on a save with walls and no zones, and on
request beside the editor's zones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.floorplans import drawings

Auth = Callable[[str], dict[str, str]]
ANN = "ann@example.com"


async def new_project(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post("/api/projects", json={"name": "Rooms"}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["project"]["id"])


async def import_dxf(
    client: httpx.AsyncClient, headers: dict[str, str], project_id: str, data: bytes
) -> httpx.Response:
    return await client.post(
        f"/api/projects/{project_id}/floorplans/import",
        headers=headers,
        files={"file": ("plan.dxf", data, "image/vnd.dxf")},
    )


def walls_only(rooms: list[tuple[float, float, float, float]]) -> dict[str, Any]:
    """A plan of rectangles' walls (shared walls drawn once), 0.2 m thick, no zones."""
    nodes: dict[str, Any] = {}
    edges: dict[str, Any] = {}
    ids: dict[tuple[float, float], str] = {}

    def node(x: float, y: float) -> str:
        if (x, y) not in ids:
            ids[(x, y)] = f"n{len(ids) + 1}"
            nodes[ids[(x, y)]] = {"position": [x, y], "connectedEdges": []}
        return ids[(x, y)]

    seen: set[frozenset[str]] = set()
    for x0, y0, x1, y1 in rooms:
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        for i in range(4):
            a, b = node(*corners[i]), node(*corners[(i + 1) % 4])
            if frozenset((a, b)) in seen:
                continue
            seen.add(frozenset((a, b)))
            edge_id = f"e{len(edges) + 1}"
            edges[edge_id] = {"startNodeId": a, "endNodeId": b, "thickness": 0.2, "openings": []}
            nodes[a]["connectedEdges"].append(edge_id)
            nodes[b]["connectedEdges"].append(edge_id)
    return {"nodes": nodes, "edges": edges, "zones": [], "furniture": []}


async def test_a_single_line_dxf_imports_with_its_room(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    ann = auth(ANN)
    project_id = await new_project(client, ann)
    data = drawings.single_lines([(0, 0, 6, 0), (6, 0, 6, 4), (6, 4, 0, 4), (0, 4, 0, 0)])
    response = await import_dxf(client, ann, project_id, data)
    assert response.status_code == 201, response.text
    body = response.json()
    plan = body["floorplan"]
    assert (plan["wallCount"], plan["roomCount"], plan["totalAreaM2"]) == (4, 1, 24.0)
    assert body["import"]["zones"] == 1
    assert body["import"]["totalAreaM2"] == 24.0
    assert body["import"]["roomsFromWalls"] == {"rooms": 1, "netAreaM2": 24.0, "grossAreaM2": 24.0}
    stored = (await client.get(f"/api/floorplans/{plan['id']}", headers=ann)).json()
    (zone,) = stored["floorplan"]["data"]["zones"]
    assert zone["derived"] is True and zone["areaM2"] == 24.0


async def test_a_double_line_flat_imports_with_its_rooms_named(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    ann = auth(ANN)
    project_id = await new_project(client, ann)
    data = drawings.double_lines(drawings.FLAT_WALLS, drawings.FLAT_DOORS, drawings.FLAT_LABELS)
    response = await import_dxf(client, ann, project_id, data)
    assert response.status_code == 201, response.text
    plan = response.json()["floorplan"]
    assert plan["roomCount"] == 5
    assert plan["totalAreaM2"] == pytest.approx(sum(drawings.FLAT_NET.values()), rel=0.01)
    stored = (await client.get(f"/api/floorplans/{plan['id']}", headers=ann)).json()
    labels = {z["label"] for z in stored["floorplan"]["data"]["zones"]}
    assert labels == set(drawings.FLAT_NET)


async def test_walls_without_a_closed_room_import_with_a_warning(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    ann = auth(ANN)
    project_id = await new_project(client, ann)
    # A 2.5 m gap in the north wall: wider than the 2 m closed by default.
    lines = [(0, 0, 6, 0), (6, 0, 6, 4), (6, 4, 4.25, 4), (1.75, 4, 0, 4), (0, 4, 0, 0)]
    response = await import_dxf(client, ann, project_id, drawings.single_lines(lines))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["floorplan"]["roomCount"], body["floorplan"]["totalAreaM2"]) == (0, 0.0)
    assert any(
        w.startswith("no closed room: the largest gap is 2.5 m at (3.00, 4.00)")
        for w in body["import"]["warnings"]
    )


async def test_a_save_with_walls_and_no_zones_gets_its_rooms(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    ann = auth(ANN)
    project_id = await new_project(client, ann)
    document = walls_only([(0, 0, 4, 3), (4, 0, 7, 3)])
    created = await client.post(
        f"/api/projects/{project_id}/floorplans",
        json={"name": "L0", "data": document},
        headers=ann | {"Prefer": "return=representation"},
    )
    assert created.status_code == 201, created.text
    plan = created.json()["floorplan"]
    # Net: inside 0.2 m walls: 3.8 x 2.8 and 2.8 x 2.8.
    assert plan["roomCount"] == 2
    assert plan["totalAreaM2"] == pytest.approx(3.8 * 2.8 + 2.8 * 2.8)
    zones = plan["data"]["zones"]
    assert all(z["derived"] for z in zones)
    assert sorted(z["grossAreaM2"] for z in zones) == [9.0, 12.0]
    # Saving the document as it came back changes nothing (same rooms, same hash).
    again = await client.put(
        f"/api/floorplans/{plan['id']}",
        json={"data": plan["data"]},
        headers=ann | {"If-Match": '"1"'},
    )
    assert again.status_code == 200, again.text
    assert again.json()["changed"] is False

    # The editor draws a zone of its own: the next save keeps it and derives nothing.
    mine = {"id": "mine", "points": [[0, 0], [4, 0], [4, 3], [0, 3]], "label": "Office"}
    edited = {**plan["data"], "zones": [mine]}
    saved = await client.put(
        f"/api/floorplans/{plan['id']}",
        json={"data": edited},
        headers=ann | {"If-Match": '"1"', "Prefer": "return=representation"},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["floorplan"]["data"]["zones"] == [mine]
    assert saved.json()["floorplan"]["roomCount"] == 1

    # On request: the rooms from the walls beside the editor's zone, which stays as drawn.
    stale = await client.post(
        f"/api/floorplans/{plan['id']}/rooms", headers=ann | {"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    derived = await client.post(
        f"/api/floorplans/{plan['id']}/rooms",
        headers=ann | {"If-Match": '"2"', "Prefer": "return=representation"},
    )
    assert derived.status_code == 200, derived.text
    body = derived.json()["floorplan"]
    assert body["version"] == 3
    assert body["data"]["zones"][0] == mine
    added = [z for z in body["data"]["zones"] if z.get("derived")]
    assert [z["grossAreaM2"] for z in added] == [9.0]
    assert body["roomCount"] == 2
    other = await client.post(
        "/api/floorplans/nope/rooms", headers=auth("bob@example.com") | {"If-Match": '"1"'}
    )
    assert other.status_code == 404
