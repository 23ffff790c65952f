"""Unexpected failures: a 500 with a request id, and nothing of the exception leaked."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from spacekontext.app import create_app
from spacekontext.services import Services
from spacekontext.settings import Settings


async def test_unexpected_error_is_500_with_request_id(
    settings: Settings, services: Services, auth: Callable[[str], dict[str, str]]
) -> None:
    raised: list[str] = []

    class Exploding:
        """The two methods `GET /api/projects` calls: the page's cache keys (read ahead with
        the caller) and the page, which fails with a secret in its message."""

        def list_cache_keys(self, user_id: str, **page: object) -> list[str]:
            return []

        async def list_json(self, user_id: str, **page: object) -> bytes:
            raised.append(user_id)
            raise RuntimeError("secret connection string postgres://admin:hunter2@db")

    services.projects = Exploding()  # type: ignore[assignment]
    app = create_app(settings, services=services)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/api/projects", headers=auth("ann@example.com"))
    assert response.status_code == 500
    assert len(raised) == 1, "the 500 must come from the service's own failure"
    body = response.json()
    assert body["success"] is False
    assert body["code"] == "internal_error"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert body["details"]["requestId"] == response.headers["x-request-id"]


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 16


async def test_unknown_route_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["success"] is False


async def test_readyz_reports_database_and_migrations(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok"}
