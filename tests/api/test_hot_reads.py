"""The hot reads (http/hot.py): one document of each kind, a project's list of each kind, and a
project's site answer exactly as their FastAPI twins do, byte for byte, for successes, 304s and
every kind of error; and the twins need nothing the hot path skips."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from spacekontext.app import create_app
from spacekontext.http.hot import HotRoute
from spacekontext.services import Services
from spacekontext.settings import Settings
from tests.api.conftest import app_client
from tests.api.test_hot_routes import (
    HOT_PATH_COVERS,
    HOT_PATH_READS,
    _all_same,
    _call,
    _same,
    uncovered_by_the_hot_path,
)
from tests.api.test_hot_saves import KINDS, _create

Auth = Callable[[str], dict[str, str]]
ANN = "ann.hotread@example.com"
BOB = "bob.hotread@example.com"
SITE = {"coordinates": {"lat": 47.37, "lng": 8.54}}


async def _project(client: httpx.AsyncClient, ann: dict[str, str], name: str) -> str:
    created = await client.post("/api/projects", json={"name": name}, headers=ann)
    assert created.status_code == 201, created.text
    return str(created.json()["project"]["id"])


async def _site(client: httpx.AsyncClient, ann: dict[str, str], pid: str) -> None:
    saved = await client.post("/api/site-analysis", json={"projectId": pid, **SITE}, headers=ann)
    assert saved.status_code == 200, saved.text


async def _readable(
    configured: Settings, services: Services, ann: dict[str, str], kind: tuple[Any, ...]
) -> tuple[str, str]:
    """A project with a site and one document of `kind`, made through an app configured so:
    (project id, document id)."""
    async with app_client(configured, services) as client:
        pid = await _project(client, ann, "readable")
        own = await _create(client, pid, kind, ann)
        await _site(client, ann, pid)
    return pid, own


@pytest.mark.parametrize("kind", KINDS, ids=[k[0] for k in KINDS])
async def test_hot_and_fastapi_document_reads_answer_byte_for_byte_alike(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient], auth: Auth, kind: tuple[Any, ...]
) -> None:
    hot, _ = pair
    collection, _key, _doc, _patch, answer = kind
    ann, bob = auth(ANN), auth(BOB)
    pid = await _project(hot, ann, "reads")
    ids = [await _create(hot, pid, kind, ann) for _ in range(3)]
    empty = await _project(hot, ann, "empty")
    bobs = await _project(hot, bob, "bob's")

    first = await _same(pair, f"/api/{collection}/{ids[0]}", ann)
    assert first.status_code == 200
    assert first.json()[answer]["id"] == ids[0]
    etag = first.headers["etag"]
    page = await _same(pair, f"/api/projects/{pid}/{collection}?limit=2", ann)
    assert len(page.json()[collection]) == 2
    cursor = page.json()["nextCursor"]
    assert cursor

    level = "?level=0" if collection == "floorplans" else "?level=zero"  # ignored elsewhere
    cases: list[tuple[str, dict[str, str], int]] = [
        (f"/api/{collection}/{ids[1]}", ann, 200),
        (f"/api/{collection}/{ids[0]}", ann | {"If-None-Match": etag}, 304),
        (f"/api/{collection}/{ids[0]}", ann | {"If-None-Match": '"999"'}, 200),
        (f"/api/{collection}/{ids[0]}", ann | {"If-None-Match": "*"}, 304),
        (f"/api/{collection}/{ids[0]}", bob, 404),  # somebody else's is missing
        (f"/api/{collection}/does-not-exist", ann, 404),
        (f"/api/{collection}/{ids[0]}", {}, 401),
        (f"/api/{collection}/{ids[0]}", {"Authorization": "Bearer not-a-token"}, 401),
        (f"/api/projects/{pid}/{collection}", ann, 200),
        (f"/api/projects/{pid}/{collection}?limit=2&cursor={cursor}", ann, 200),
        (f"/api/projects/{pid}/{collection}?limit=1&limit=3&unknown=x", ann, 200),
        (f"/api/projects/{pid}/{collection}{level}", ann, 200),
        (f"/api/projects/{pid}/{collection}?limit=0", ann, 422),
        (f"/api/projects/{pid}/{collection}?limit=abc&cursor=" + "x" * 513, ann, 422),
        (f"/api/projects/{pid}/{collection}?limit=", ann, 422),
        (f"/api/projects/{pid}/{collection}?cursor=%%%", ann, 400),
        (f"/api/projects/{pid}/{collection}?limit=0", {}, 401),  # authentication first
        (f"/api/projects/{empty}/{collection}", ann, 200),
        (f"/api/projects/{bobs}/{collection}", ann, 404),
        (f"/api/projects/missing/{collection}", ann, 404),
        (f"/api/projects/{pid}/{collection}/", ann, 307),  # not a hot path
    ]
    if collection == "floorplans":
        cases += [
            (f"/api/projects/{pid}/floorplans?level=abc", ann, 422),
            (f"/api/projects/{pid}/floorplans?level=1001&limit=0", ann, 422),
            (f"/api/projects/{pid}/floorplans?level=-100", ann, 200),
        ]
    await _all_same(pair, cases)


async def test_hot_and_fastapi_site_reads_answer_byte_for_byte_alike(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient], auth: Auth
) -> None:
    hot, _ = pair
    ann, bob = auth(ANN), auth(BOB)
    pid = await _project(hot, ann, "site")
    bare = await _project(hot, ann, "no site")
    await _site(hot, ann, pid)
    base = f"/api/site-analysis/{pid}"
    cases: list[tuple[str, dict[str, str], int]] = [
        (base, ann, 200),
        (f"{base}?date=2026-06-21", ann, 200),
        (f"{base}?date=2026-06-21&interval=15", ann, 200),
        (f"{base}?interval=7", ann, 422),  # not a supported interval (the service's check)
        (f"{base}?date=21.06.2026", ann, 422),
        (f"{base}?date=2026-13-01&interval=x", ann, 422),
        (f"{base}?date=", ann, 422),
        (f"{base}?interval=7", {}, 401),
        (base, bob, 404),
        (f"/api/site-analysis/{bare}", ann, 404),
        (f"{base}/", ann, 307),
    ]
    await _all_same(pair, cases)


@pytest.mark.parametrize("hot_routes", [True, False])
async def test_the_switch_decides_who_serves_the_reads(
    settings: Settings, services: Services, auth: Auth, hot_routes: bool
) -> None:
    configured = settings.model_copy(update={"hot_routes": hot_routes})
    ann = auth(ANN)
    pid, fid = await _readable(configured, services, ann, KINDS[0])
    app = create_app(configured, services=services)
    served = {
        "/api/floorplans/{floorplan_id}": f"/api/floorplans/{fid}",
        "/api/projects/{project_id}/floorplans": f"/api/projects/{pid}/floorplans",
        "/api/site-analysis/{project_id}": f"/api/site-analysis/{pid}",
    }
    for template, path in served.items():
        scope = await _call(app, path, b"", ann)
        assert isinstance(scope["route"], HotRoute if hot_routes else APIRoute), path
        assert scope["route"].path == template


# What the hot reads do in place of their twins' dependencies: `hot_caller` and the app state,
# as for the project reads, and `_page`/`_page_by_level` by validating the same bounds
# (http/pages.py); the path's ids, If-None-Match and the site's date and interval are read as
# they are.
READ_COVERS = HOT_PATH_COVERS | {"_page", "_page_by_level"}
READ_READS = HOT_PATH_READS | {"document_id", "if_none_match", "level", "day", "interval"}


@pytest.mark.parametrize(
    "path",
    [
        *(f"/api/{k[0]}/{{id}}" for k in KINDS),
        *(f"/api/projects/{{project}}/{k[0]}" for k in KINDS),
        "/api/site-analysis/{project}",
    ],
)
async def test_the_fastapi_twins_of_hot_reads_need_nothing_the_hot_path_skips(
    settings: Settings, services: Services, auth: Auth, path: str
) -> None:
    configured = settings.model_copy(update={"hot_routes": False})
    ann = auth(ANN)
    kind = next((k for k in KINDS if f"/{k[0]}" in path), KINDS[0])
    pid, own = await _readable(configured, services, ann, kind)
    app = create_app(configured, services=services)
    scope = await _call(app, path.format(id=own, project=pid), b"", ann)
    twin = scope["route"]
    assert isinstance(twin, APIRoute)
    assert uncovered_by_the_hot_path(twin, covers=READ_COVERS, reads=READ_READS) == []
