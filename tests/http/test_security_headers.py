"""Headers and exposure: the headers every response carries, the ones only some get, and
what production keeps to itself (/metrics, Server-Timing)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from spacekontext.app import create_app
from spacekontext.services import Services
from spacekontext.settings import Settings

Auth = Callable[[str], dict[str, str]]
METRICS_TOKEN = "m" * 32


async def client_for(settings: Settings, services: Services, base: str = "http://t") -> Any:
    app = create_app(settings, services=services)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=base)


@pytest.fixture
async def production(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    # model_copy skips validation: production's refusals of laptop defaults are not the point.
    prod = settings.model_copy(
        update={"env": "production", "metrics_token": METRICS_TOKEN, "hsts_max_age_s": 31536000}
    )
    async with await client_for(prod, services, "https://api.example.test") as http:
        yield http


@pytest.mark.parametrize("hot", [True, False])
async def test_every_response_carries_the_base_headers(
    settings: Settings, services: Services, auth: Auth, hot: bool
) -> None:
    ann = auth("ann@example.com")
    async with await client_for(settings.model_copy(update={"hot_routes": hot}), services) as http:
        responses = [
            await http.get("/healthz"),
            await http.get("/api/projects", headers=ann),
            await http.get("/api/projects"),  # 401
            await http.get("/api/nothing", headers=ann),  # 404
            await http.post("/api/projects", content=b"{", headers=ann),  # 400
            await http.get("/docs"),
        ]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff", response.url
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers  # plain HTTP


async def test_authenticated_api_answers_are_not_stored(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    ann = auth("ann@example.com")
    listed = await client.get("/api/projects", headers=ann)
    assert listed.headers["cache-control"] == "no-store"
    created = await client.post("/api/projects", json={"name": "n"}, headers=ann)
    assert created.headers["cache-control"] == "no-store"
    # Not authenticated, not the API: no opinion imposed.
    assert "cache-control" not in (await client.get("/healthz")).headers


async def test_html_pages_get_a_content_security_policy(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc", "/"):
        response = await client.get(path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "content-security-policy" not in (await client.get("/healthz")).headers


async def test_hsts_only_over_https_when_set(production: httpx.AsyncClient) -> None:
    response = await production.get("/healthz")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_metrics_in_production_need_a_token_or_an_allowed_network(
    production: httpx.AsyncClient, settings: Settings, services: Services
) -> None:
    assert (await production.get("/metrics")).status_code == 404
    wrong = await production.get("/metrics", headers={"Authorization": "Bearer " + "x" * 32})
    assert wrong.status_code == 404
    right = await production.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert right.status_code == 200
    assert b"spacekontext_" in right.content
    # The test transport's client address is 127.0.0.1.
    allowed = settings.model_copy(
        update={"env": "production", "metrics_allow_networks": ["127.0.0.0/8"]}
    )
    async with await client_for(allowed, services) as http:
        assert (await http.get("/metrics")).status_code == 200
    # Outside production, as before: open (loopback development, tests, load tests).
    async with await client_for(settings, services) as http:
        assert (await http.get("/metrics")).status_code == 200


async def test_server_timing_is_off_in_production(
    production: httpx.AsyncClient, client: httpx.AsyncClient, auth: Auth
) -> None:
    ann = auth("ann@example.com")
    assert "server-timing" in (await client.get("/api/projects", headers=ann)).headers
    assert "server-timing" not in (await production.get("/api/projects", headers=ann)).headers


async def test_422_bodies_carry_no_pydantic_urls(client: httpx.AsyncClient, auth: Auth) -> None:
    ann = auth("ann@example.com")
    responses = [
        await client.post("/api/projects", json={"name": 5}, headers=ann),
        await client.get("/api/projects?limit=abc", headers=ann),
        await client.post("/api/geometry/wall", json={"points": "x"}, headers=ann),
    ]
    for response in responses:
        assert response.status_code in (400, 404, 422), response.text
        assert "errors.pydantic.dev" not in response.text
        assert '"url"' not in response.text
