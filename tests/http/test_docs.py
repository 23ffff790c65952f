"""The start page, the documentation pages and the OpenAPI security schemes, in-process."""

from __future__ import annotations

import re

import httpx


async def test_start_page_answers_a_person(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for link in ('href="/docs"', 'href="/redoc"', 'href="/app"', 'href="/healthz"'):
        assert link in page
    assert "spacekontext token create --email" in page


async def test_docs_pages_load_nothing_from_elsewhere(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        page = (await client.get(path)).text
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
        urls += re.findall(r"""url:\s*['"]([^'"]+)['"]""", page)
        assert urls, page
        for url in urls:
            assert url.startswith("/"), (path, url)
            asset = await client.get(url)
            assert asset.status_code == 200, (path, url)
        assert "cdn" not in page.lower() and "googleapis" not in page


async def test_operations_that_need_a_session_declare_it(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["bearerAuth"]["description"],
    }
    assert schemes["sessionCookie"]["in"] == "cookie"
    secured = {
        (path, method)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") == [{"bearerAuth": []}, {"sessionCookie": []}]
    }
    assert ("/api/projects", "get") in secured
    assert ("/api/floorplans/{floorplan_id}", "put") in secured
    # Public: liveness, readiness, the signed webhook, the signed storage URLs.
    for public in [("/healthz", "get"), ("/readyz", "get"), ("/api/webhooks/clerk", "post")]:
        assert public not in secured
    # Every operation is one or the other, and the secured ones really refuse no token.
    for path, method in sorted(secured):
        if "{" in path or method != "get":
            continue
        response = await client.get(path)
        assert response.status_code == 401, (path, response.status_code)
