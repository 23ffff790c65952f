"""The rule that keeps sharding by user possible (docs/scale-out.md): a request reaches a user's
data through its owner.

Through the API, every request that touches a user's data does so first with a statement that
filters by the owning user (`user_id`), so the user known at the start of the request names
the one shard its data would live on. The statements after that first one which do not name
the owner (a child row by its primary key, under the row lock the first statement took) are
listed here by shape, each with what would have to change for a distributed table; a new
shape fails this test until it is either scoped by the owner or added to the list (and to
docs/scale-out.md)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from spacekontext.services import Services
from tests.documents.conftest import square_room

Auth = Callable[[str], dict[str, str]]
# Tables that hold a user's data (users itself is the root, looked up by token subject).
USER_DATA = (
    "projects",
    "floorplans",
    "floorplan_versions",
    "models_3d",
    "massings",
    "site_analyses",
    "files",
    "project_files",
    "ai_render_tasks",
    "sketchfab_tokens",
)
_TABLE = re.compile(r"\bapp\.(" + "|".join(USER_DATA) + r")\b")
_VERB = re.compile(r"^\s*(?:WITH\b.*?\)\s*)?(SELECT|INSERT|UPDATE|DELETE)\b", re.S | re.I)
_OWNER = re.compile(r"\buser_id\b")

# Statements that reach a child row without naming its owner, after the request's first
# statement checked ownership (shape: verb and the first user-data table named). Under Citus
# each needs the owner's id on the child table (co-location) and in the statement.
KNOWN_UNSCOPED: dict[tuple[str, str], str] = {
    ("UPDATE", "floorplans"): "the versioned update by id after the lock",
    ("INSERT", "floorplans"): "insert under a project checked for the owner",
    ("INSERT", "floorplan_versions"): "history row copied from the floorplan row",
    ("SELECT", "floorplan_versions"): "history of a floorplan checked for the owner",
    ("UPDATE", "models_3d"): "the versioned update by id after the lock",
    ("INSERT", "models_3d"): "insert under a project checked for the owner",
    ("SELECT", "models_3d"): "a document read back by id under the row lock",
    ("INSERT", "massings"): "insert under a project checked for the owner",
    ("SELECT", "massings"): "a document or the project's massings by project id",
    ("INSERT", "site_analyses"): "insert under a project checked for the owner",
    ("DELETE", "floorplans"): "delete by id under the row lock",
    ("SELECT", "projects"): "a project's settings by id inside a checked transaction",
}


@pytest.fixture
def recorded(services: Services) -> Iterator[list[str]]:
    """Every statement the app sends through its engine, in order."""
    seen: list[str] = []
    engine = services.db.engine.sync_engine

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    yield seen
    event.remove(engine, "before_cursor_execute", listen)


def shape(statement: str) -> tuple[str, str] | None:
    tables = _TABLE.findall(statement)
    verb = _VERB.match(statement)
    if not tables or verb is None:
        return None
    return verb.group(1).upper(), tables[0]


async def test_requests_reach_user_data_through_the_owner(
    client: httpx.AsyncClient, auth: Auth, recorded: list[str]
) -> None:
    ann = auth("ann@example.com")
    checked: list[tuple[str, list[str]]] = []

    async def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        recorded.clear()
        response = await client.request(method, path, headers=ann, **kwargs)
        assert response.status_code < 400, (method, path, response.text)
        checked.append((f"{method} {path}", list(recorded)))
        return response

    pid = (await call("POST", "/api/projects", json={"name": "Scale"})).json()["project"]["id"]
    await call("GET", f"/api/projects/{pid}")
    await call("PATCH", f"/api/projects/{pid}", json={"settings": {"floorToFloorHeight": 3.2}})
    await call("GET", "/api/projects?limit=20")
    plan = (
        await call(
            "POST", f"/api/projects/{pid}/floorplans", json={"name": "G", "data": square_room()}
        )
    ).json()["floorplan"]
    fid = plan["id"]
    await call("GET", f"/api/projects/{pid}/floorplans")
    await call("GET", f"/api/floorplans/{fid}")
    await call("PUT", f"/api/floorplans/{fid}", json={"data": square_room(5.0)})
    await call("PATCH", f"/api/floorplans/{fid}", json={"data": {"units": "m"}})
    await call("GET", f"/api/floorplans/{fid}/versions")
    await call("GET", f"/api/floorplans/{fid}/versions/1")
    await call("POST", f"/api/floorplans/{fid}/versions/1/restore")
    model = await call(
        "POST",
        f"/api/projects/{pid}/models3d",
        json={"name": "M", "modelData": {"objects": [{"id": "a"}]}},
    )
    mid = model.json()["model3d"]["id"]
    await call("PATCH", f"/api/models3d/{mid}", json={"modelData": {"objects": []}})
    footprint = [[0, 0], [10, 0], [10, 10], [0, 10]]
    massing = await call(
        "POST",
        f"/api/projects/{pid}/massings",
        json={"name": "B", "massingData": {"blocks": [{"footprint": footprint, "height": 9}]}},
    )
    await call("GET", f"/api/massings/{massing.json()['massing']['id']}")
    await call(
        "POST",
        "/api/site-analysis",
        json={"projectId": pid, "coordinates": {"lat": 47.0, "lng": 8.0}, "date": "2026-12-21"},
    )
    await call("GET", f"/api/site-analysis/{pid}")
    await call("GET", "/api/search?q=scale")
    await call("DELETE", f"/api/floorplans/{fid}")
    await call("DELETE", f"/api/projects/{pid}")

    unknown: dict[tuple[str, str], str] = {}
    used: set[tuple[str, str]] = set()
    for request, statements in checked:
        user_data = [s for s in statements if shape(s) is not None]
        if not user_data:
            continue
        # The first statement on a user's data names its owner: the shard is known.
        assert _OWNER.search(user_data[0]), (request, user_data[0][:300])
        for statement in user_data[1:]:
            found = shape(statement)
            assert found is not None
            if not _OWNER.search(statement):
                used.add(found)
                if found not in KNOWN_UNSCOPED:
                    unknown[found] = f"{request}: {statement[:200]}"
    assert not unknown, unknown
    # A ratchet: a shape that now names its owner leaves the list.
    stale = sorted(KNOWN_UNSCOPED.keys() - used)
    assert not stale, " ".join(map(str, stale))
