from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spacekontext.app import create_app
from spacekontext.db.partitions import add_months, ensure_monthly_partitions, month_start
from spacekontext.floorplans.service import FloorplanService
from spacekontext.services import Services
from spacekontext.settings import Settings
from tests.documents.conftest import make_project, square_room

Headers = dict[str, str]


async def create_fp(
    client: httpx.AsyncClient, headers: Headers, project_id: str, **body: Any
) -> httpx.Response:
    body.setdefault("name", "Ground floor")
    body.setdefault("data", square_room())
    return await client.post(f"/api/projects/{project_id}/floorplans", json=body, headers=headers)


async def made(client: httpx.AsyncClient, headers: Headers, project_id: str, **body: Any) -> dict:
    response = await create_fp(client, headers, project_id, **body)
    assert response.status_code == 201, response.text
    floorplan: dict = response.json()["floorplan"]
    return floorplan


async def test_document_round_trips_with_unknown_keys_and_derived_metadata(
    client: httpx.AsyncClient, ann: Headers, project: dict
) -> None:
    doc = square_room(extra={"custom": {"nested": [1, 2.5, None, True, "é"]}, "zz": {}})
    response = await create_fp(client, ann, project["id"], data=doc, level=2)
    assert response.status_code == 201
    assert response.headers["etag"] == '"1"'
    meta = response.json()["floorplan"]
    assert "data" not in meta
    assert meta["wallCount"] == 4
    assert meta["openingCount"] == 2
    assert meta["roomCount"] == 1
    assert meta["furnitureCount"] == 1
    assert meta["totalAreaM2"] == 16.0
    assert meta["bbox"] == [0.0, 0.0, 4.0, 4.0]
    assert meta["dataBytes"] == len(orjson.dumps(doc))
    assert meta["level"] == 2
    assert meta["version"] == 1

    got = await client.get(f"/api/floorplans/{meta['id']}", headers=ann)
    assert got.status_code == 200
    assert got.headers["etag"] == '"1"'
    body = got.json()["floorplan"]
    # jsonb normalizes key order and whitespace, so the comparison is of parsed values.
    assert body["data"] == doc
    assert {k: v for k, v in body.items() if k != "data"} == meta


async def test_metadata_sent_by_the_client_is_ignored(
    client: httpx.AsyncClient, ann: Headers, project: dict
) -> None:
    response = await create_fp(client, ann, project["id"], wallCount=99)
    assert response.status_code == 422  # unknown top-level fields are refused
    doc = square_room(extra={"wallCount": 99, "totalAreaM2": 1e6})
    meta = await made(client, ann, project["id"], data=doc)
    assert meta["wallCount"] == 4
    assert meta["totalAreaM2"] == 16.0


def _broken(change: str) -> dict:
    doc = square_room()
    if change == "dangling_node":
        doc["edges"]["e2"]["startNodeId"] = "nope"
    elif change == "dangling_edge":
        doc["nodes"]["n3"]["connectedEdges"] = ["e2", "e404"]
    elif change == "two_point_zone":
        doc["zones"][0]["points"] = [[0, 0], [4, 0], [0, 0]]
    elif change == "bow_tie":
        doc["zones"][0]["points"] = [[0, 0], [4, 4], [4, 0], [0, 4]]
    elif change == "opening_outside":
        doc["edges"]["e2"]["openings"][0]["position"] = 3.8
    elif change == "bad_opening_type":
        doc["edges"]["e2"]["openings"][0]["type"] = "portal"
    return doc


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ("dangling_node", "/edges/e2/startNodeId"),
        ("dangling_edge", "/nodes/n3/connectedEdges/1"),
        ("two_point_zone", "/zones/0/points"),
        ("bow_tie", "/zones/0/points"),
        ("opening_outside", "/edges/e2/openings/0"),
        ("bad_opening_type", "/edges/e2/openings/0/type"),
    ],
)
async def test_bad_documents_get_precise_errors_and_change_nothing(
    client: httpx.AsyncClient, ann: Headers, project: dict, change: str, path: str
) -> None:
    response = await create_fp(client, ann, project["id"], data=_broken(change))
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "invalid_document"
    assert [p["path"] for p in error["details"]["problems"]] == [path]
    listing = await client.get(f"/api/projects/{project['id']}/floorplans", headers=ann)
    assert listing.json()["floorplans"] == []

    # The same document as an update leaves the stored one and its version alone.
    meta = await made(client, ann, project["id"])
    put = await client.put(
        f"/api/floorplans/{meta['id']}", json={"data": _broken(change)}, headers=ann
    )
    assert put.status_code == 422
    after = (await client.get(f"/api/floorplans/{meta['id']}", headers=ann)).json()["floorplan"]
    assert after["version"] == 1
    assert after["data"] == square_room()
    history = await client.get(f"/api/floorplans/{meta['id']}/versions", headers=ann)
    assert len(history.json()["versions"]) == 1


async def test_nan_in_the_body_is_refused(
    client: httpx.AsyncClient, ann: Headers, project: dict
) -> None:
    raw = orjson.dumps({"name": "x", "data": square_room()}).replace(b'"zoom":1.5', b'"zoom":NaN')
    response = await client.post(
        f"/api/projects/{project['id']}/floorplans",
        content=raw,
        headers=ann | {"content-type": "application/json"},
    )
    assert response.status_code in (400, 422), response.text
    listing = await client.get(f"/api/projects/{project['id']}/floorplans", headers=ann)
    assert listing.json()["floorplans"] == []


async def test_non_object_document_is_refused(
    client: httpx.AsyncClient, ann: Headers, project: dict
) -> None:
    response = await create_fp(client, ann, project["id"], data=[1, 2])
    assert response.status_code == 422
    assert response.json()["details"]["problems"][0]["path"] == "/"


async def test_document_over_the_limit_is_413(
    settings: Settings, services: Services, ann: Headers
) -> None:
    small = settings.model_copy(update={"max_document_bytes": 4096})
    limited = dataclasses.replace(services, floorplans=FloorplanService(services.db, small))
    app = create_app(small, services=limited)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        project = await make_project(client, ann)
        big = square_room(extra={"notes": "x" * 5000})
        response = await create_fp(client, ann, project["id"], data=big)
        assert response.status_code == 413
        assert response.json()["code"] == "document_too_large"
        assert response.json()["details"]["limitBytes"] == 4096
        listing = await client.get(f"/api/projects/{project['id']}/floorplans", headers=ann)
        assert listing.json()["floorplans"] == []


async def test_etags_if_match_and_if_none_match(
    client: httpx.AsyncClient, ann: Headers, project: dict
) -> None:
    meta = await made(client, ann, project["id"])
    url = f"/api/floorplans/{meta['id']}"
    cached = await client.get(url, headers=ann | {"If-None-Match": '"1"'})
    assert cached.status_code == 304
    assert cached.headers["etag"] == '"1"'
    assert cached.content == b""

    changed = square_room(5.0)
    ok = await client.put(url, json={"data": changed}, headers=ann | {"If-Match": '"1"'})
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == '"2"'
    assert ok.json()["floorplan"]["totalAreaM2"] == 25.0

    stale = await client.put(
        url, json={"data": square_room(6.0)}, headers=ann | {"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_mismatch"
    assert stale.json()["details"] == {"currentVersion": 2}
    assert stale.headers["etag"] == '"2"'

    stale_patch = await client.patch(url, json={"name": "x"}, headers=ann | {"If-Match": '"1"'})
    assert stale_patch.status_code == 412
    stale_delete = await client.delete(url, headers=ann | {"If-Match": '"1"'})
    assert stale_delete.status_code == 412

    fresh = await client.get(url, headers=ann | {"If-None-Match": '"1"'})
    assert fresh.status_code == 200
    assert fresh.json()["floorplan"]["data"] == changed
    assert fresh.json()["floorplan"]["name"] == "Ground floor"

    deleted = await client.delete(url, headers=ann | {"If-Match": '"2"'})
    assert deleted.status_code == 200
    assert (await client.get(url, headers=ann)).status_code == 404


async def test_patch_is_a_merge_patch_of_the_document(
    client: httpx.AsyncClient, ann: Headers, project: dict
) -> None:
    meta = await made(client, ann, project["id"])
    url = f"/api/floorplans/{meta['id']}"
    patch = {
        "data": {
            "edges": {"e3": {"thickness": 0.35}},
            "editorState": {"zoom": None},
            "layers": ["walls"],
        }
    }
    response = await client.patch(
        url,
        json=patch,
        headers=ann
        | {"content-type": "application/merge-patch+json", "Prefer": "return=representation"},
    )
    assert response.status_code == 200, response.text
    body = response.json()["floorplan"]
    assert body["version"] == 2
    expected = square_room()
    expected["edges"]["e3"]["thickness"] = 0.35
    del expected["editorState"]["zoom"]
    expected["layers"] = ["walls"]
    assert body["data"] == expected
    stored = (await client.get(url, headers=ann)).json()["floorplan"]
    assert stored["data"] == expected

    renamed = await client.patch(url, json={"name": "GF", "level": 1}, headers=ann)
    assert renamed.json()["floorplan"]["version"] == 3
    assert renamed.json()["floorplan"]["level"] == 1

    # A patch that breaks the document is refused like a bad PUT.
    broken = await client.patch(
        url, json={"data": {"edges": {"e1": {"endNodeId": "nowhere"}}}}, headers=ann
    )
    assert broken.status_code == 422
    assert broken.json()["details"]["problems"][0]["path"] == "/edges/e1/endNodeId"
    assert (await client.get(url, headers=ann)).json()["floorplan"]["version"] == 3


async def test_history_unchanged_saves_and_restore(
    client: httpx.AsyncClient, ann: Headers, project: dict
) -> None:
    v1 = square_room()
    meta = await made(client, ann, project["id"], data=v1)
    url = f"/api/floorplans/{meta['id']}"
    v2 = square_room(6.0)
    assert (await client.put(url, json={"data": v2}, headers=ann)).json()["floorplan"][
        "version"
    ] == 2

    # The same content again (keys in another order): no new version, no history row.
    reordered = dict(reversed(list(copy.deepcopy(v2).items())))
    same = await client.put(url, json={"data": reordered}, headers=ann)
    assert same.status_code == 200
    assert same.json()["changed"] is False
    assert same.json()["floorplan"]["version"] == 2

    versions = (await client.get(f"{url}/versions", headers=ann)).json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["totalAreaM2"] == 16.0
    assert versions[0]["totalAreaM2"] == 36.0
    assert all("data" not in v for v in versions)

    one = await client.get(f"{url}/versions/1", headers=ann)
    assert one.json()["version"]["data"] == v1

    restored = await client.post(f"{url}/versions/1/restore", headers=ann | {"If-Match": '"2"'})
    assert restored.status_code == 200, restored.text
    assert restored.json()["floorplan"]["version"] == 3
    assert restored.headers["etag"] == '"3"'
    current = (await client.get(url, headers=ann)).json()["floorplan"]
    assert current["data"] == v1
    assert current["totalAreaM2"] == 16.0
    versions = (await client.get(f"{url}/versions", headers=ann)).json()["versions"]
    assert [v["version"] for v in versions] == [3, 2, 1]

    missing = await client.post(f"{url}/versions/9/restore", headers=ann)
    assert missing.status_code == 404
    assert missing.json()["code"] == "version_not_found"
    stale = await client.post(f"{url}/versions/2/restore", headers=ann | {"If-Match": '"2"'})
    assert stale.status_code == 412


async def test_level_filter_and_order(
    client: httpx.AsyncClient, ann: Headers, project: dict
) -> None:
    for name, level in (("L1", 1), ("L0", 0), ("L1b", 1)):
        await made(client, ann, project["id"], name=name, level=level)
    base = f"/api/projects/{project['id']}/floorplans"
    everything = (await client.get(base, headers=ann)).json()["floorplans"]
    assert [f["name"] for f in everything] == ["L0", "L1", "L1b"]
    first = (await client.get(base, params={"level": 1}, headers=ann)).json()["floorplans"]
    assert [f["name"] for f in first] == ["L1", "L1b"]
    assert (await client.get(base, params={"level": "x"}, headers=ann)).status_code == 422


async def test_someone_elses_floorplan_is_404(
    client: httpx.AsyncClient, ann: Headers, bob: Headers, project: dict
) -> None:
    meta = await made(client, ann, project["id"])
    url = f"/api/floorplans/{meta['id']}"
    for method, path, body in (
        ("GET", url, None),
        ("PUT", url, {"data": {}}),
        ("PATCH", url, {"name": "mine"}),
        ("DELETE", url, None),
        ("GET", f"{url}/versions", None),
        ("GET", f"{url}/versions/1", None),
        ("POST", f"{url}/versions/1/restore", None),
        ("GET", f"/api/projects/{project['id']}/floorplans", None),
        ("POST", f"/api/projects/{project['id']}/floorplans", {"name": "x", "data": {}}),
    ):
        response = await client.request(method, path, json=body, headers=bob)
        assert response.status_code == 404, (method, path)
    assert (await client.get(url, headers=ann)).json()["floorplan"]["version"] == 1


# --- what the list endpoints send to PostgreSQL ---------------------------------------------------


@contextmanager
def captured_sql(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)


# A document column named in a statement ("floorplans.data" but not "floorplans.data_bytes").
DOCUMENT_COLUMNS = re.compile(
    r"\b(floorplans\.data|models_3d\.model_data|massings\.massing_data|massings\.analysis)\b"
    r"|\bSELECT\s+\*"
)


async def test_list_endpoints_never_select_a_document_column(
    client: httpx.AsyncClient, ann: Headers, project: dict, engine: AsyncEngine
) -> None:
    pid = project["id"]
    await made(client, ann, pid)
    model = await client.post(
        f"/api/projects/{pid}/models3d",
        json={"name": "m", "modelData": {"objects": [{}]}},
        headers=ann,
    )
    assert model.status_code == 201
    massing = await client.post(
        f"/api/projects/{pid}/massings",
        json={"name": "m", "massingData": {"blocks": []}, "analysis": {"x": 1}},
        headers=ann,
    )
    assert massing.status_code == 201
    fp_id = (await client.get(f"/api/projects/{pid}/floorplans", headers=ann)).json()["floorplans"][
        0
    ]["id"]
    for path in (
        "/api/projects",
        f"/api/projects/{pid}/floorplans",
        f"/api/projects/{pid}/floorplans?level=0",
        f"/api/projects/{pid}/models3d",
        f"/api/projects/{pid}/massings",
        f"/api/floorplans/{fp_id}/versions",
    ):
        with captured_sql(engine) as statements:
            response = await client.get(path, headers=ann)
        assert response.status_code == 200
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert selects, path
        for statement in selects:
            assert not DOCUMENT_COLUMNS.search(statement), (path, statement)
            assert "floorplan_versions.data " not in statement + " "

    # The check itself can fail: a full read does select the document.
    with captured_sql(engine) as statements:
        await client.get(f"/api/floorplans/{fp_id}", headers=ann)
    assert any(DOCUMENT_COLUMNS.search(s) for s in statements)


async def _count_statements(
    engine: AsyncEngine, client: httpx.AsyncClient, path: str, headers: Headers
) -> int:
    with captured_sql(engine) as statements:
        response = await client.get(path, headers=headers)
    assert response.status_code == 200
    return len(statements)


async def test_lists_take_a_constant_number_of_statements(
    client: httpx.AsyncClient, auth: Any, engine: AsyncEngine
) -> None:
    counts = {}
    for rows in (1, 12):
        headers = auth(f"n{rows}@example.com")
        project = await make_project(client, headers)
        for i in range(rows - 1):
            await make_project(client, headers, name=f"extra {i}")
        for i in range(rows):
            await made(client, headers, project["id"], name=f"F{i}")
        counts[rows] = (
            await _count_statements(engine, client, "/api/projects", headers),
            await _count_statements(
                engine, client, f"/api/projects/{project['id']}/floorplans", headers
            ),
        )
        listing = await client.get(f"/api/projects/{project['id']}/floorplans", headers=headers)
        assert len(listing.json()["floorplans"]) == rows
    assert counts[1] == counts[12], counts


# --- history across a month boundary ------------------------------------------------------------


async def test_history_and_restore_across_a_month_boundary(
    client: httpx.AsyncClient, ann: Headers, project: dict, connection: AsyncConnection
) -> None:
    this_month = month_start(
        await connection.scalar(text("SELECT (now() AT TIME ZONE 'UTC')::date"))
    )
    last_month = add_months(this_month, -1)
    # DDL is transactional in PostgreSQL: these partitions vanish with the test's rollback.
    await ensure_monthly_partitions(connection, start=last_month, months_ahead=2)

    v1 = square_room()
    meta = await made(client, ann, project["id"], data=v1)
    url = f"/api/floorplans/{meta['id']}"
    # Version 1 was saved "last month": the row moves to last month's partition.
    await connection.execute(
        text(
            "UPDATE app.floorplan_versions SET created_at = created_at - interval '32 days' "
            "WHERE floorplan_id = :id AND version = 1"
        ),
        {"id": meta["id"]},
    )
    await client.put(url, json={"data": square_room(7.0)}, headers=ann)
    rows = (
        await connection.execute(
            text(
                "SELECT version, tableoid::regclass::text FROM app.floorplan_versions "
                "WHERE floorplan_id = :id ORDER BY version"
            ),
            {"id": meta["id"]},
        )
    ).all()
    assert [r[1] for r in rows] == [
        f"app.floorplan_versions_p{last_month.year:04d}_{last_month.month:02d}",
        f"app.floorplan_versions_p{this_month.year:04d}_{this_month.month:02d}",
    ]
    versions = (await client.get(f"{url}/versions", headers=ann)).json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["createdAt"][:7] != versions[1]["createdAt"][:7]

    restored = await client.post(f"{url}/versions/1/restore", headers=ann | {"If-Match": '"2"'})
    assert restored.status_code == 200
    assert (await client.get(url, headers=ann)).json()["floorplan"]["data"] == v1


async def test_ensure_moves_rows_out_of_the_default_partition(
    connection: AsyncConnection, client: httpx.AsyncClient, ann: Headers, project: dict
) -> None:
    meta = await made(client, ann, project["id"])
    far = add_months(
        month_start(await connection.scalar(text("SELECT (now() AT TIME ZONE 'UTC')::date"))), 30
    )
    # A row for a month without a partition lands in the default partition…
    await connection.execute(
        text("UPDATE app.floorplan_versions SET created_at = :at WHERE floorplan_id = :id"),
        {"at": datetime(far.year, far.month, 2, 12, tzinfo=UTC), "id": meta["id"]},
    )
    where = "SELECT tableoid::regclass::text FROM app.floorplan_versions WHERE floorplan_id = :id"
    assert await connection.scalar(text(where), {"id": meta["id"]}) == (
        "app.floorplan_versions_default"
    )
    # …and is moved into that month's partition when it is created; ensure is idempotent.
    created = await ensure_monthly_partitions(connection, start=far, months_ahead=1)
    assert created == [
        f"floorplan_versions_p{far.year:04d}_{far.month:02d}",
        f"floorplan_versions_p{add_months(far, 1).year:04d}_{add_months(far, 1).month:02d}",
    ]
    assert await ensure_monthly_partitions(connection, start=far, months_ahead=1) == []
    assert await connection.scalar(text(where), {"id": meta["id"]}) == f"app.{created[0]}"
    versions = (await client.get(f"/api/floorplans/{meta['id']}/versions", headers=ann)).json()
    assert len(versions["versions"]) == 1
