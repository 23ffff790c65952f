"""The console's pages in process: sign-in and its cookie, what each page shows, and that
nothing of another user's shows on any page or fragment."""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spacekontext.app import create_app
from spacekontext.auth.tokens import DevTokens
from spacekontext.db.engine import Database
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings
from tests.conftest import require
from tests.documents.conftest import square_room
from tests.redisproc import RedisProcess, redis_server_binary

Auth = Callable[[str], dict[str, str]]
ANN = "ann@example.com"
BOB = "bob@example.com"
ORIGIN = {"Origin": "http://testserver"}


def session(dev_tokens: DevTokens, email: str, ttl_s: int = 3600) -> dict[str, str]:
    return {"Cookie": f"__session={dev_tokens.mint(email, ttl_s=ttl_s)}"}


async def make_project(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    created = await client.post("/api/projects", json={"name": name}, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["project"]["id"])


async def make_floorplan(client: httpx.AsyncClient, headers: dict[str, str], project: str) -> str:
    created = await client.post(
        f"/api/projects/{project}/floorplans",
        json={"name": "Ground floor", "level": 0, "data": square_room(5.0)},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["floorplan"]["id"])


async def test_pages_need_a_session(client: httpx.AsyncClient) -> None:
    for path in ("/app", "/app/blocks", "/app/ops", "/app/projects/x"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/app/sign-in?reason=missing")
    page = await client.get("/app/sign-in?reason=missing")
    assert page.status_code == 200
    assert "Please sign in to continue." in page.text
    assert 'name="email"' in page.text


async def test_sign_in_sets_an_http_only_lax_cookie_and_sign_out_clears_it(
    client: httpx.AsyncClient,
) -> None:
    foreign = await client.post(
        "/app/sign-in",
        data={"email": ANN},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert "set-cookie" not in foreign.headers
    bad = await client.post("/app/sign-in", data={"email": "nobody"}, headers=ORIGIN)
    assert bad.status_code == 400
    assert "Enter an e-mail address" in bad.text
    signed = await client.post(
        "/app/sign-in", data={"email": ANN, "next": "//evil.example/x"}, headers=ORIGIN
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/app"  # never an open redirect
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith("__session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    page = await client.get("/app", headers={"Cookie": f"__session={token}"})
    assert page.status_code == 200
    assert ANN in page.text
    out = await client.post("/app/sign-out", headers=ORIGIN)
    assert out.status_code == 303
    assert "Max-Age=0" in out.headers["set-cookie"] or "expires=" in out.headers["set-cookie"]


async def test_an_expired_session_goes_to_sign_in(
    client: httpx.AsyncClient, dev_tokens: DevTokens
) -> None:
    response = await client.get("/app", headers=session(dev_tokens, ANN, ttl_s=-3600))
    assert response.status_code == 303
    assert response.headers["location"] == "/app/sign-in?reason=expired&next=/app"
    page = await client.get(response.headers["location"])
    assert "Your session has expired" in page.text


async def test_projects_grid_shows_own_projects_with_preview_and_counts(
    client: httpx.AsyncClient, auth: Auth, dev_tokens: DevTokens
) -> None:
    project = await make_project(client, auth(ANN), "Villa Savoye")
    floorplan = await make_floorplan(client, auth(ANN), project)
    await make_project(client, auth(BOB), "Bob's secret tower")
    page = await client.get("/app", headers=session(dev_tokens, ANN))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "private, no-store"
    assert "Villa Savoye" in page.text
    assert f"/app/previews/{floorplan}.svg" in page.text
    assert "1 floorplan ·" in page.text
    assert "secret tower" not in page.text
    preview = await client.get(f"/app/previews/{floorplan}.svg", headers=session(dev_tokens, ANN))
    assert preview.status_code == 200
    assert preview.headers["content-type"] == "image/svg+xml"
    assert preview.text.startswith("<svg")


async def test_keyset_paging_of_the_grid(
    client: httpx.AsyncClient, auth: Auth, dev_tokens: DevTokens
) -> None:
    names = [f"Paged {i:02d}" for i in range(26)]
    for name in names:
        await make_project(client, auth(ANN), name)
    first = await client.get("/app", headers=session(dev_tokens, ANN))
    assert "Paged 25" in first.text and "Paged 01" not in first.text
    assert 'rel="next"' in first.text
    link = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = await client.get(link.replace("&amp;", "&"), headers=session(dev_tokens, ANN))
    assert "Paged 01" in second.text and "Paged 00" in second.text
    assert "Paged 25" not in second.text


async def test_server_side_search_forgives_a_typo_and_highlights(
    client: httpx.AsyncClient, auth: Auth, dev_tokens: DevTokens
) -> None:
    await make_project(client, auth(ANN), "Kitchen renovation")
    await make_project(client, auth(BOB), "Kitchen of Bob")
    page = await client.get("/app", params={"q": "kitchn"}, headers=session(dev_tokens, ANN))
    assert page.status_code == 200
    assert "renovation" in page.text
    assert "of Bob" not in page.text
    too_long = await client.get("/app", params={"q": "x" * 201}, headers=session(dev_tokens, ANN))
    assert too_long.status_code == 400
    assert "These values could not be used: q." in too_long.text
    exact = await client.get("/app", params={"q": "kitchen"}, headers=session(dev_tokens, ANN))
    assert "<mark>Kitchen</mark>" in exact.text


async def test_project_page_shows_levels_history_site_and_files(
    client: httpx.AsyncClient, auth: Auth, dev_tokens: DevTokens
) -> None:
    project = await make_project(client, auth(ANN), "Farnsworth")
    floorplan = await make_floorplan(client, auth(ANN), project)
    patched = await client.patch(
        f"/api/floorplans/{floorplan}", json={"name": "Ground floor v2"}, headers=auth(ANN)
    )
    assert patched.status_code == 200, patched.text
    site = await client.post(
        "/api/site-analysis",
        json={
            "projectId": project,
            "coordinates": {"lat": 41.64, "lng": -88.53},
            "boundary": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [-88.531, 41.639],
                        [-88.529, 41.639],
                        [-88.529, 41.641],
                        [-88.531, 41.641],
                        [-88.531, 41.639],
                    ]
                ],
            },
        },
        headers=auth(ANN),
    )
    assert site.status_code == 200, site.text
    page = await client.get(
        f"/app/projects/{project}", params={"date": "2026-06-21"}, headers=session(dev_tokens, ANN)
    )
    assert page.status_code == 200, page.text
    text = page.text
    assert "Ground floor v2" in text
    assert "<dt>Walls</dt><dd>4</dd>" in text
    assert "25.0 m²" in text or "m²" in text
    assert f'data-versions="{floorplan}" data-current="2"' in text
    assert 'class="sunpath"' in text
    assert "<polyline" in text
    assert "Sunrise" in text and "Sunset" in text and "Solar noon" in text
    assert 'class="outline"' in text
    bad_date = await client.get(
        f"/app/projects/{project}", params={"date": "21/06"}, headers=session(dev_tokens, ANN)
    )
    assert bad_date.status_code == 400
    assert "YYYY-MM-DD" in bad_date.text


async def test_another_users_project_is_a_404_page_everywhere(
    client: httpx.AsyncClient, auth: Auth, dev_tokens: DevTokens
) -> None:
    project = await make_project(client, auth(ANN), "Private house")
    floorplan = await make_floorplan(client, auth(ANN), project)
    bob = session(dev_tokens, BOB)
    for path in (
        f"/app/projects/{project}",
        f"/app/previews/{floorplan}.svg",
        "/app/files/nope/download",
    ):
        response = await client.get(path, headers=bob)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "Private house" not in response.text
        assert '"success"' not in response.text
        assert "Sign out" in response.text  # the page keeps the person's navigation
    grid = await client.get("/app", headers=bob)
    assert "Private house" not in grid.text
    found = await client.get("/app", params={"q": "private"}, headers=bob)
    assert "Private house" not in found.text


async def test_ops_is_for_admins_and_counts_requests(
    client: httpx.AsyncClient, services: Services, dev_tokens: DevTokens
) -> None:
    services.settings = services.settings.model_copy(update={"admin_emails": ["root@example.com"]})
    assert (await client.get("/app/ops", headers=session(dev_tokens, ANN))).status_code == 403
    assert (
        await client.get("/app/ops/live.json", headers=session(dev_tokens, ANN))
    ).status_code == 403
    admin = session(dev_tokens, "root@example.com")
    await client.get("/app/blocks", headers=admin)
    page = await client.get("/app/ops", headers=admin)
    assert page.status_code == 200, page.text
    assert 'data-route="GET /app/blocks"' in page.text
    live = (await client.get("/app/ops/live.json", headers=admin)).json()
    routes = {route["key"]: route for route in live["routes"]}
    assert routes["GET /app/blocks"]["count"] >= 1
    assert set(live["jobs"]) >= {"queued", "running", "done", "failed"}
    fragment = await client.get("/app/ops/assess", headers=admin)
    assert fragment.status_code == 200, fragment.text
    assert "Assessed" in fragment.text


async def test_an_unknown_console_path_is_a_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/app/nowhere/at-all")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text


@pytest.mark.parametrize("path", ["/app/static/console.js", "/app/static/console.css"])
async def test_static_files_are_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200


async def test_ops_shows_the_latest_load_test_with_its_chart(
    client: httpx.AsyncClient, services: Services, dev_tokens: DevTokens
) -> None:
    results = services.settings.data_dir / "loadtest-results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "not-a-result.json").write_text('{"hello": 1}')
    run = {
        "label": "stack",
        "startedAt": "2026-11-26T13:52:17+00:00",
        "steps": [
            {"users": 100, "requestsPerS": 49.7, "p50Ms": 9.1, "p99Ms": 59.3, "errorRate": 0.0},
            {
                "users": 500,
                "requestsPerS": 240.2,
                "p50Ms": 14.0,
                "p99Ms": 120.5,
                "errorRate": 0.001,
            },
        ],
    }
    (results / "stack.json").write_text(json.dumps(run))
    try:
        services.settings = services.settings.model_copy(
            update={"admin_emails": ["root@example.com"]}
        )
        page = await client.get("/app/ops", headers=session(dev_tokens, "root@example.com"))
        assert page.status_code == 200, page.text
        assert "Latest load test: <strong>stack</strong>" in page.text
        assert "240.2" in page.text and "0.10 %" in page.text
        assert 'aria-label="Load test stack: requests per second' in page.text
    finally:
        shutil.rmtree(results)


async def test_pages_with_redis_and_when_redis_goes_away(
    settings: Settings,
    engine: AsyncEngine,
    connection: AsyncConnection,
    dev_tokens: DevTokens,
    tmp_path: Path,
) -> None:
    """The real shared cache: pages work through it, the ops page reports it, and when it
    stops the pages still work (the cache is bypassed) while the ops page says so."""
    require(redis_server_binary() is not None, "redis-server (Debian package redis-server)")
    redis = RedisProcess(tmp_path / "redis")
    redis.start()
    try:
        with_redis = settings.model_copy(
            update={
                "redis_url": redis.url,
                "cache_key_prefix": f"t{secrets.token_hex(4)}:",
                "admin_emails": ["root@example.com"],
            }
        )
        services = build_services(with_redis, Database(engine, bind=connection))
        app = create_app(with_redis, services=services)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        admin = session(dev_tokens, "root@example.com")
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            for _ in range(3):
                assert (await http.get("/app", headers=admin)).status_code == 200
            page = await http.get("/app/ops", headers=admin)
            assert page.status_code == 200, page.text
            assert '<dd id="redis-state">reachable</dd>' in page.text
            redis.kill()
            assert (await http.get("/app", headers=admin)).status_code == 200
            down = await http.get("/app/ops", headers=admin)
            assert down.status_code == 200
            assert '<dd id="redis-state">unreachable' in down.text
        await services.aclose()
    finally:
        redis.kill()
