"""What a person opens in a browser: the start page (`GET /`), and the API documentation —
Swagger UI at /docs and ReDoc at /redoc — from assets installed with a Python package
(`fastapi-offline`), so they render with no network; and the security schemes that make
Swagger UI's "Authorize" work (a bearer token, or the session cookie).

FastAPI's own /docs loads Swagger UI from a CDN: offline (a train, a locked-down network) the
page stays blank. Here every asset comes from this server."""

from __future__ import annotations

import html
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from spacekontext.auth.deps import current_user
from spacekontext.http.openapi import complete_responses
from spacekontext.settings import Settings

ASSETS = "/docs/assets"
OPENAPI_URL = "/openapi.json"
BEARER = "bearerAuth"
COOKIE = "sessionCookie"


def install_docs(app: FastAPI, settings: Settings) -> None:
    """Mount the documentation assets and pages, the start page, and the OpenAPI security
    schemes. The app must be created with `docs_url=None, redoc_url=None`."""
    static = files("fastapi_offline") / "static"
    redoc_js = _local_redoc(static.joinpath("redoc.standalone.js").read_bytes())

    # Before the mount: the first match wins.
    @app.get(f"{ASSETS}/redoc.standalone.js", include_in_schema=False)
    async def redoc_script() -> Response:
        return Response(
            redoc_js,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.mount(ASSETS, StaticFiles(directory=str(static)), name="docs-assets")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + OPENAPI_URL,
            title=f"{title} — docs",
            oauth2_redirect_url=root + "/docs/oauth2-redirect",
            swagger_js_url=root + f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=root + f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=root + f"{ASSETS}/favicon.png",
            # No validator badge: it would send the spec to validator.swagger.io.
            swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None},
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=root + OPENAPI_URL,
            title=f"{title} — ReDoc",
            redoc_js_url=root + f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=root + f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    @app.get("/", include_in_schema=False)
    async def start_page(request: Request) -> HTMLResponse:
        return HTMLResponse(start_page_html(settings, request.scope.get("root_path", "")))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            add_security(schema, app)
            # Error answers and statuses by rule, for every route (http/openapi.py).
            app.openapi_schema = complete_responses(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def add_security(schema: dict[str, Any], app: FastAPI) -> None:
    """Declare how the API authenticates, and mark every operation that needs a session.

    Routes authenticate through the `CurrentUser` dependency, read by hand (not a FastAPI
    `Security` object), so FastAPI does not see it: it would cost a dependency on every
    request and the hot routes take none (http/hot.py)."""
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A session token: on a laptop, one minted by "
            "`spacekontext token create --email you@example.com`; in production, the "
            "identity provider's session JWT.",
        },
        COOKIE: {
            "type": "apiKey",
            "in": "cookie",
            "name": "__session",
            "description": "The web client's session cookie (the same token).",
        },
    }
    needs_session: set[tuple[str, str]] = set()
    # Routers included into the app are walked as FastAPI's own OpenAPI generator walks them.
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        route: Any = context  # an APIRoute with the including routers' prefixes applied
        if _calls(route.dependant, current_user):
            needs_session |= {(route.path_format, method.lower()) for method in route.methods}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if (path, method) in needs_session:
                operation["security"] = [{BEARER: []}, {COOKIE: []}]


def _local_redoc(script: bytes) -> bytes:
    """ReDoc's sidebar shows Redocly's logo from their CDN (no option turns it off): point it
    at this server's icon, so that the page fetches nothing from elsewhere."""
    cdn_logo = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
    return script.replace(cdn_logo, f"{ASSETS}/favicon.png".encode())


def _calls(dependant: Dependant, call: object) -> bool:
    return any(dep.call is call or _calls(dep, call) for dep in dependant.dependencies)


def start_page_html(settings: Settings, root: str = "") -> str:
    def link(path: str, label: str, what: str) -> str:
        href = html.escape(root + path)
        return f'<li><a href="{href}">{html.escape(label)}</a> — {what}</li>'

    token = ""
    if settings.dev_tokens_enabled and settings.env != "production":
        token = (
            "<h2>Get a token</h2>"
            "<p>On this machine, in the checkout:</p>"
            "<pre>.venv/bin/spacekontext token create --email you@example.com</pre>"
            '<p>Then open <a href="' + html.escape(root + "/docs") + '">the API docs</a>, '
            "press <b>Authorize</b> and paste it as the bearer token, or send it as "
            "<code>Authorization: Bearer …</code>. The console signs you in by e-mail.</p>"
            "<p><code>spacekontext status</code> shows the data dir, the database and its "
            "URL for <code>psql</code>.</p>"
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<title>Space Kontext API</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;"
        "padding:0 1rem;color:#1d2430}pre,code{background:#f2f4f7;border-radius:4px;"
        "padding:.1rem .3rem}pre{padding:.6rem .8rem;overflow-x:auto}a{color:#1f5fbf}</style>"
        "</head><body><h1>Space Kontext API</h1>"
        "<p>Projects, floorplans, 3D models, massings, site analysis, files and CAD blocks.</p>"
        "<ul>"
        + link("/app", "Console", "the web app: projects, floorplans, blocks, operations")
        + link("/docs", "API docs", "every operation, tried from the browser (Swagger UI)")
        + link("/redoc", "API reference", "the same, to read (ReDoc)")
        + link(OPENAPI_URL, "OpenAPI", "the machine-readable description")
        + link("/healthz", "/healthz", "liveness")
        + link("/readyz", "/readyz", "readiness: database, migrations, replicas, Redis")
        + "</ul>"
        + token
        + "</body></html>"
    )
