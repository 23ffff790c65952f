"""Keyset pagination of a project's floorplans, 3D models and massings: pages are disjoint,
complete and in the list's order; bad cursors and limits are refused precisely; the indexes
of migration 0004 serve each page without a sort."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spacekontext.pagination import encode_cursor

Headers = dict[str, str]
# (collection, response key, the document's key that a list never shows)
KINDS = [("floorplans", "floorplans", "data"), ("models3d", "models3d", "modelData")]
KINDS.append(("massings", "massings", "massingData"))


async def pages(
    client: httpx.AsyncClient, url: str, headers: Headers, key: str, **params: Any
) -> list[list[dict[str, Any]]]:
    found: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = await client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        found.append(body[key])
        cursor = body["nextCursor"]
        if cursor is None:
            return found
        assert len(found) < 50, "paging does not end"


async def make(client: httpx.AsyncClient, headers: Headers, pid: str, kind: str, n: int) -> None:
    for i in range(n):
        body: dict[str, Any] = {"name": f"{kind}-{i}"}
        if kind == "floorplans":
            body["level"] = [1, 0, 2, 0, 1, 0, 1][i % 7]  # several of each level
        response = await client.post(f"/api/projects/{pid}/{kind}", json=body, headers=headers)
        assert response.status_code == 201, response.text


@pytest.mark.parametrize(("kind", "key", "document"), KINDS)
async def test_pages_are_disjoint_and_complete(
    client: httpx.AsyncClient, ann: Headers, project: dict[str, Any], kind: str, key: str,
    document: str,
) -> None:  # fmt: skip
    pid = project["id"]
    await make(client, ann, pid, kind, 7)
    url = f"/api/projects/{pid}/{kind}"
    whole = (await client.get(url, headers=ann)).json()
    assert whole["nextCursor"] is None
    assert len(whole[key]) == 7
    for limit in (1, 2, 3, 7):
        paged = await pages(client, url, ann, key, limit=limit)
        assert [len(page) for page in paged[:-1]] == [limit] * (len(paged) - 1)
        ids = [row["id"] for page in paged for row in page]
        assert len(set(ids)) == len(ids)  # disjoint
        assert ids == [row["id"] for row in whole[key]]  # complete, in the list's order
        assert all(document not in row for page in paged for row in page)
    # The last full page still hands out a cursor only when more rows follow.
    assert (await client.get(url, params={"limit": 7}, headers=ann)).json()["nextCursor"] is None


async def test_floorplan_order_and_level_filter_across_pages(
    client: httpx.AsyncClient, ann: Headers, project: dict[str, Any]
) -> None:
    pid = project["id"]
    await make(client, ann, pid, "floorplans", 7)
    url = f"/api/projects/{pid}/floorplans"
    rows = [row for page in await pages(client, url, ann, "floorplans", limit=2) for row in page]
    keys = [(row["level"], row["createdAt"], row["id"]) for row in rows]
    assert keys == sorted(keys)
    ground = await pages(client, url, ann, "floorplans", limit=2, level=0)
    assert [len(page) for page in ground] == [2, 1]
    assert {row["level"] for page in ground for row in page} == {0}


@pytest.mark.parametrize("kind", ["floorplans", "models3d", "massings"])
async def test_bad_limits_and_cursors_are_refused(
    client: httpx.AsyncClient, ann: Headers, project: dict[str, Any], kind: str
) -> None:
    url = f"/api/projects/{project['id']}/{kind}"
    for limit in (0, 101):
        response = await client.get(url, params={"limit": limit}, headers=ann)
        assert response.status_code == 422, response.text
    now = datetime.now(UTC)
    # A cursor of another list: floorplans' carry the level first, the others' do not.
    foreign = encode_cursor(now, "x") if kind == "floorplans" else encode_cursor(now, "x", 1)
    bad_level = encode_cursor(now, "x").replace("=", "")  # a timestamp where the level goes
    for cursor in ("%%%garbage", "bm90IGEgY3Vyc29y", foreign, bad_level):
        if kind != "floorplans" and cursor == bad_level:
            continue  # a valid cursor there
        response = await client.get(url, params={"cursor": cursor}, headers=ann)
        assert response.status_code == 400, (cursor, response.text)
        body = response.json()
        assert (body["success"], body["code"], body["error"]) == (
            False,
            "invalid_cursor",
            "malformed cursor",
        )
    response = await client.get(url, params={"cursor": "c" * 513}, headers=ann)
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("kind", "query", "table", "index"),
    [
        ("floorplans", "", "floorplans", "ix_floorplans_project_id_level_created_at_id"),
        ("floorplans", "&level=0", "floorplans", "ix_floorplans_project_id_level_created_at_id"),
        ("models3d", "", "models_3d", "ix_models_3d_project_id_updated_at_id"),
        ("massings", "", "massings", "ix_massings_project_id_updated_at_id"),
    ],
)
async def test_an_index_serves_each_page_in_order(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    connection: AsyncConnection,
    ann: Headers,
    project: dict[str, Any],
    kind: str,
    query: str,
    table: str,
    index: str,
) -> None:
    pid = project["id"]
    await make(client, ann, pid, kind, 7)
    url = f"/api/projects/{pid}/{kind}?limit=2{query}"
    first = (await client.get(url, headers=ann)).json()
    # The statement of a later page as the service sends it, with its parameters.
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if re.search(rf"FROM app\.{table}\b", statement):
            sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        later = await client.get(url, params={"cursor": first["nextCursor"]}, headers=ann)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert later.status_code == 200, later.text
    ((statement, parameters),) = sent
    # The table is tiny: without sequential scans the planner shows whether an index gives
    # the order (an index scan, no sort) or only finds the rows (a sort on top).
    await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    explained = await connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
    plan = json.dumps(explained.scalar())
    await connection.exec_driver_sql("RESET enable_seqscan")
    assert '"Sort"' not in plan and '"Incremental Sort"' not in plan, plan
    assert f'"Index Name": "{index}"' in plan, plan
