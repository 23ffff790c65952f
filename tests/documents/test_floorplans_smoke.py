from __future__ import annotations

from typing import Any

import httpx

from tests.documents.conftest import square_room


async def test_roundtrip(
    client: httpx.AsyncClient, ann: dict[str, str], project: dict[str, Any]
) -> None:
    doc = square_room()
    r = await client.post(
        f"/api/projects/{project['id']}/floorplans", json={"name": "GF", "data": doc}, headers=ann
    )
    assert r.status_code == 201, r.text
    fp = r.json()["floorplan"]
    print(fp, r.headers)
    g = await client.get(f"/api/floorplans/{fp['id']}", headers=ann)
    assert g.status_code == 200, g.text
    assert g.json()["floorplan"]["data"] == doc
    print(g.headers)
