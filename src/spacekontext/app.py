"""The application factory. Nothing is created at import time: `create_app(settings)` wires
routers and middleware, and the lifespan opens the engine, clients and background work."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware

from spacekontext.cadblocks import router as cadblocks
from spacekontext.compat import blocks, cleanup, geometry, materials, render, sketchfab
from spacekontext.compat.state import build_compat
from spacekontext.db.engine import Database
from spacekontext.dxf import router as dxf
from spacekontext.files import router as files
from spacekontext.floorplans import router as floorplans
from spacekontext.http.docs import install_docs
from spacekontext.http.edge import EdgeMiddleware
from spacekontext.http.errors import install_error_handlers
from spacekontext.http.hot import HotRoutes
from spacekontext.massings import router as massings
from spacekontext.models3d import router as models3d
from spacekontext.observability.error_tracking import default_release, init_error_tracking
from spacekontext.observability.logging import configure_logging
from spacekontext.projects import router as projects
from spacekontext.search import router as search
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings
from spacekontext.site import router as site
from spacekontext.storage import router as storage
from spacekontext.storage.base import upload_body_limit
from spacekontext.tasks import stop_task
from spacekontext.tools import health
from spacekontext.tools.assess import router as assess
from spacekontext.tools.profiles import profile_settings
from spacekontext.web import router as web
from spacekontext.webhooks import router as webhooks

# A web app on another origin (CORS_ORIGINS) calls with credentials: the session cookie or a
# bearer token (docs/deployment.md).
CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
)
CORS_EXPOSED_HEADERS = ("ETag", "Location", "Retry-After", "X-Request-ID", "Content-Disposition")

# Routes that stream their bodies and enforce their own limit (MAX_UPLOAD_BYTES).
STREAMED_PATHS = ("/api/files/upload",)
# Multipart uploads that the route reads whole (DXF import, a library block): the edge holds
# them to MAX_UPLOAD_BYTES plus the form's framing.
UPLOAD_PATH_ENDS = ("/floorplans/import", "/api/cad-blocks")
GEOMETRY_PATH = "/api/geometry-operations"


def configure_error_tracking(settings: Settings) -> None:
    """Sentry, when SENTRY_DSN is set (docs/error-tracking.md); the API and `worker`."""
    if settings.sentry_dsn:
        init_error_tracking(
            settings.sentry_dsn,
            release=settings.sentry_release or default_release(),
            environment=settings.sentry_environment or settings.env,
        )


def create_app(settings: Settings, *, services: Services | None = None) -> FastAPI:
    """`services` is injected by tests (a database bound to a rolled-back transaction);
    otherwise it is built from `settings` when the app starts."""
    settings = profile_settings(settings)
    configure_error_tracking(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            app.state.services = services
            yield
            return
        built = build_services(settings, Database.from_settings(settings))
        app.state.services = built
        app.state.compat = build_compat(settings, built)
        await built.db.start()
        built.start()
        # Everything loaded so far (the app, SQLAlchemy's metadata, numpy, pvlib, ezdxf…) lives
        # as long as the process: about 280,000 tracked objects, which every full collection
        # of the garbage collector would walk again — a pause of about 140 ms on this machine,
        # the p99 of a cached read. Frozen, they are left out of collections.
        gc.collect()
        gc.freeze()
        worker = (
            asyncio.create_task(built.worker.run_forever(), name="jobs-worker")
            if settings.jobs_in_process
            else None
        )
        try:
            yield
        finally:
            await stop_task(worker)
            await app.state.compat.aclose()
            await built.aclose()
            await built.db.dispose()

    app = FastAPI(
        title="Space Kontext API",
        version="0.1.0",
        lifespan=lifespan,
        # Served by http/docs.py from packaged assets (no CDN), with the security schemes.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        # The app's own Prometheus metrics and structured logs are its telemetry; FastAPI's
        # native OpenTelemetry hooks would otherwise ask the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # The app's own settings (injected services may have been built from others, in tests).
    app.state.settings = settings
    if services is not None:
        app.state.services = services
        app.state.compat = build_compat(settings, services)
    install_error_handlers(app)
    install_docs(app, settings)

    def body_limit(path: str) -> int | None:
        if path.startswith(STREAMED_PATHS):
            return None
        if path.endswith(UPLOAD_PATH_ENDS):
            # Multipart uploads read whole by their route: the one upload limit.
            return upload_body_limit(settings.max_upload_bytes)
        if path == GEOMETRY_PATH:
            return settings.geometry_max_body_bytes
        return settings.max_json_bytes

    hot = (
        HotRoutes(
            (
                *projects.hot_routes,
                *floorplans.hot_routes,
                *models3d.hot_routes,
                *massings.hot_routes,
                *site.hot_routes,
            )
        )
        if settings.hot_routes
        else None
    )
    app.add_middleware(
        EdgeMiddleware,
        limit_for=body_limit,
        hot_routes=hot,
        server_timing=settings.server_timing_enabled,
        hsts_max_age_s=settings.hsts_max_age_s,
    )
    if settings.cors_origins:
        # Outside the edge layer, so that the hot routes it serves get CORS headers too.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=list(CORS_METHODS),
            allow_headers=list(CORS_REQUEST_HEADERS),
            expose_headers=list(CORS_EXPOSED_HEADERS),
            max_age=600,
        )

    # In order: the web client's own routes come first, since `/api/files/cleanup` and
    # `/api/cad-blocks/dxf` must match before `/api/files/{file_id}` and the block routes.
    for api_router in (
        health.router,
        cleanup.router,
        blocks.router,
        materials.router,
        geometry.router,
        render.router,
        sketchfab.router,
        projects.router,
        webhooks.router,
        floorplans.router,
        models3d.router,
        massings.router,
        site.router,
        files.router,
        storage.router,
        assess.router,
        search.router,
        cadblocks.router,
        dxf.router,
    ):
        app.include_router(api_router)
    # The static files first: the console's router ends with a catch-all page for unknown paths.
    app.mount("/app/static", StaticFiles(directory=web.HERE / "static"), name="console-static")
    app.include_router(web.router)
    if settings.materials_dir is not None and settings.materials_dir.is_dir():
        # The texture sets of /api/materials, at the paths the web client loads them from.
        app.mount(
            materials.STATIC_PREFIX,
            StaticFiles(directory=settings.materials_dir),
            name="materials",
        )
    return app


def app_from_env() -> FastAPI:
    """Factory for multi-worker uvicorn (`--workers N`): each worker reads the environment that
    `spacekontext serve` prepared (database URL of the embedded server included)."""
    settings = Settings()
    # A worker is a fresh (spawned) process: without this its log lines went to Python's
    # last-resort handler, as bare text with no level, time or request id, and everything
    # below WARNING was dropped.
    configure_logging(settings.log_level, json=settings.log_json)
    return create_app(settings)
