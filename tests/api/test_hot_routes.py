"""The hot routes (http/hot.py) answer exactly as the FastAPI routes of the same paths: same
status, body and headers for successes and for every kind of error, and they really are the
ones serving when `HOT_ROUTES` is on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from prometheus_client import REGISTRY

from spacekontext.app import create_app
from spacekontext.http.hot import HotRoute
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings
from tests.api.conftest import app_client

Auth = Callable[[str], dict[str, str]]
ANN = "ann.hot@example.com"
BOB = "bob.hot@example.com"
# Headers that differ per request by design.
VOLATILE = {"x-request-id", "server-timing", "date"}


def _comparable(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE}
    return response.status_code, response.content, headers


async def _same(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient], url: str, headers: dict[str, str]
) -> httpx.Response:
    hot, plain = pair
    first = await hot.get(url, headers=headers)
    second = await plain.get(url, headers=headers)
    assert _comparable(first) == _comparable(second), url
    return first


async def _all_same(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient], cases: list[tuple[str, dict[str, str], int]]
) -> None:
    """Each (url, headers, status) answered alike by both, with that status; an error with the
    API's error body."""
    for url, headers, status in cases:
        response = await _same(pair, url, headers)
        assert response.status_code == status, (url, response.text)
        if status in (400, 401, 404, 422):
            assert response.json()["success"] is False


async def test_hot_and_fastapi_routes_answer_byte_for_byte_alike(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient], auth: Auth
) -> None:
    hot, _ = pair
    ann, bob = auth(ANN), auth(BOB)
    ann_token = ann["Authorization"].removeprefix("Bearer ")
    ids = []
    for n in range(3):
        created = await hot.post("/api/projects", json={"name": f"Hot {n}"}, headers=ann)
        assert created.status_code == 201
        ids.append(created.json()["project"]["id"])

    first = await _same(pair, "/api/projects?limit=2", ann)
    assert first.status_code == 200
    page = first.json()
    assert [p["id"] for p in page["projects"]] == ids[::-1][:2]
    rest = await _same(pair, f"/api/projects?limit=2&cursor={page['nextCursor']}", ann)
    assert [p["id"] for p in rest.json()["projects"]] == ids[:1]
    assert (await _same(pair, f"/api/projects/{ids[0]}", ann)).status_code == 200

    cases: list[tuple[str, dict[str, str], int]] = [
        ("/api/projects", ann, 200),
        ("/api/projects?limit=1&limit=3&unknown=x", ann, 200),  # the last repeat wins
        ("/api/projects?limit=0", ann, 422),
        ("/api/projects?limit=101", ann, 422),
        ("/api/projects?limit=abc", ann, 422),
        ("/api/projects?limit=", ann, 422),  # a blank value is kept, as FastAPI does
        ("/api/projects?cursor=" + "x" * 513, ann, 422),
        ("/api/projects?cursor=%%%", ann, 400),
        ("/api/projects?cursor=", ann, 200),  # an empty cursor is the first page
        ("/api/projects", {}, 401),
        ("/api/projects?limit=0", {}, 401),  # authentication is checked first
        ("/api/projects", {"Authorization": "Bearer not-a-token"}, 401),
        ("/api/projects", {"Authorization": "Basic abc"}, 401),
        # The web client's session cookie, plain and suffixed, and a bad one.
        ("/api/projects", {"Cookie": f"__session={ann_token}"}, 200),
        (f"/api/projects/{ids[0]}", {"Cookie": f"a=1; __session_abcd1234={ann_token}"}, 200),
        ("/api/projects", {"Cookie": "__session=not-a-token"}, 401),
        ("/api/projects", {"Cookie": "unrelated=1"}, 401),
        (f"/api/projects/{ids[0]}", bob, 404),  # somebody else's is missing
        ("/api/projects/does-not-exist", ann, 404),
        ("/api/projects/", ann, 307),  # not a hot path: FastAPI's trailing-slash redirect
    ]
    await _all_same(pair, cases)


async def test_hot_routes_share_the_rate_limits(
    settings: Settings, services: Services, auth: Auth
) -> None:
    limited = settings.model_copy(
        update={
            "rate_limit_enabled": True,
            "rate_limit_read_per_s": 0.01,
            "rate_limit_read_burst": 2,
        }
    )
    built = build_services(limited, services.db)
    try:
        async with app_client(limited, built) as hot:
            statuses = [
                (await hot.get("/api/projects", headers=auth(ANN))).status_code for _ in range(3)
            ]
            refused = await hot.get("/api/projects/x", headers=auth(ANN))
    finally:
        await built.aclose()
    assert statuses == [200, 200, 429]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["code"] == "rate_limited"


async def _call(
    app: Any,
    path: str,
    query: bytes,
    headers: dict[str, str],
    *,
    method: str = "GET",
    body: bytes = b"",
    status: int = 200,
) -> dict[str, Any]:
    """One request straight into the app; the scope it leaves (which names the route that
    served it). A body is sent as JSON."""
    if body:
        headers = headers | {"content-type": "application/json", "content-length": str(len(body))}
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    started: dict[str, Any] = {}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)

    await app(scope, receive, send)
    assert started["status"] == status
    return scope


@pytest.mark.parametrize("hot_routes", [True, False])
async def test_the_switch_decides_who_serves_and_metrics_name_the_template(
    settings: Settings, services: Services, auth: Auth, hot_routes: bool
) -> None:
    configured = settings.model_copy(update={"hot_routes": hot_routes})
    app = create_app(configured, services=services)
    ann = auth(ANN)
    async with app_client(configured, services) as client:
        created = await client.post("/api/projects", json={"name": "Counted"}, headers=ann)
    project_id = created.json()["project"]["id"]
    labels = {"route": "/api/projects/{project_id}", "method": "GET", "status": "200"}
    before = REGISTRY.get_sample_value("spacekontext_http_requests_total", labels) or 0.0

    scope = await _call(app, f"/api/projects/{project_id}", b"", ann)

    assert isinstance(scope["route"], HotRoute if hot_routes else APIRoute)
    assert scope["route"].path == "/api/projects/{project_id}"
    after = REGISTRY.get_sample_value("spacekontext_http_requests_total", labels)
    assert after == before + 1


# What the hot path does in place of a FastAPI dependency of its twin: `hot_caller` runs the
# same `authenticate` as `current_user`, and the services come from the app state as in
# `get_services`. Anything else a twin depends on would be skipped by the hot path.
HOT_PATH_COVERS = frozenset({"current_user", "get_services"})
# The parameters the hot path reads: the path's own, and ListQuery's fields.
HOT_PATH_READS = frozenset({"project_id", "limit", "cursor"})


def uncovered_by_the_hot_path(
    route: APIRoute,
    *,
    covers: frozenset[str] = HOT_PATH_COVERS,
    reads: frozenset[str] | set[str] = HOT_PATH_READS,
) -> list[str]:
    """The dependencies (at any depth, with those of the router, the include and the app) and
    the parameters of a FastAPI route that the hot path does not run (`covers`) or read
    (`reads`)."""
    missing: list[str] = []
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        for dependency in dependant.dependencies:
            name = getattr(dependency.call, "__name__", repr(dependency.call))
            if name not in covers:
                missing.append(f"dependency {name}")
            stack.append(dependency)
        params = [
            *dependant.query_params,
            *dependant.path_params,
            *dependant.header_params,
            *dependant.cookie_params,
            *dependant.body_params,
        ]
        for param in params:
            names = param.field_info.annotation  # a query model: its fields are the parameters
            fields = getattr(names, "model_fields", None)
            for name in fields if fields else [param.name]:
                if name not in reads:
                    missing.append(f"parameter {name}")
    return sorted(missing)


@pytest.mark.parametrize("path", ["/api/projects", "/api/projects/{project_id}"])
async def test_the_fastapi_twins_of_hot_routes_need_nothing_the_hot_path_skips(
    settings: Settings, services: Services, auth: Auth, path: str
) -> None:
    """The FastAPI route that serves the path when HOT_ROUTES is off, as the app resolves it
    (so dependencies added where the router is included, or app-wide, count too)."""
    configured = settings.model_copy(update={"hot_routes": False})
    ann = auth(ANN)
    async with app_client(configured, services) as client:
        created = await client.post("/api/projects", json={"name": "Twin"}, headers=ann)
    app = create_app(configured, services=services)
    scope = await _call(app, path.format(project_id=created.json()["project"]["id"]), b"", ann)
    route = scope["route"]
    assert isinstance(route, APIRoute)
    assert uncovered_by_the_hot_path(route) == []


def test_the_guard_sees_a_dependency_the_hot_path_would_skip() -> None:
    from fastapi import Depends, FastAPI, Header

    async def audit_log(x_audit: str = Header("")) -> None:
        return None

    async def current_user() -> None:
        return None

    app = FastAPI()

    @app.get("/api/projects", dependencies=[Depends(audit_log)])
    async def listing(limit: int = 5, user: None = Depends(current_user)) -> None:
        return None

    route = next(r for r in app.router.routes if isinstance(r, APIRoute))
    assert uncovered_by_the_hot_path(route) == ["dependency audit_log", "parameter x_audit"]
