from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import Response

from spacekontext.auth.deps import ServicesDep
from spacekontext.db.base import SCHEMA
from spacekontext.db.migrate import head_revision
from spacekontext.db.outage import unreachable_reason
from spacekontext.errors import NotFound, Unavailable
from spacekontext.http.responses import JSONBytes
from spacekontext.observability import metrics
from spacekontext.settings import Settings

router = APIRouter(tags=["ops"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> JSONBytes:
    return JSONBytes({"status": "ok"})


@router.get("/metrics", summary="Prometheus metrics (summed over workers)", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if settings.env == "production" and not _may_scrape(request, settings):
        # Not told apart from a missing route: the metrics name routes, tables and volumes.
        raise NotFound("not found")
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


def _may_scrape(request: Request, settings: Settings) -> bool:
    """A bearer token equal to METRICS_TOKEN, or a client in METRICS_ALLOW_NETWORKS (behind
    a proxy, uvicorn's --proxy-headers makes this the client's address)."""
    token = settings.metrics_token
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return True
    address = request.client.host if request.client else None
    if address is None or not settings.metrics_allow_networks:
        return False
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(
        client in ipaddress.ip_network(network, strict=False)
        for network in settings.metrics_allow_networks
    )


@router.get(
    "/readyz",
    summary="Readiness: primary reachable and migrations at head; replicas and Redis reported",
)
async def readyz(services: ServicesDep) -> JSONBytes:
    checks: dict[str, str] = {}
    ready = True
    try:
        async with services.db.read(primary=True) as session:
            current = await session.scalar(
                text(f"SELECT version_num FROM {SCHEMA}.alembic_version")  # noqa: S608
            )
        checks["database"] = "ok"
        if current != head_revision():
            checks["migrations"] = f"behind ({current} != {head_revision()})"
            ready = False
        else:
            checks["migrations"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        checks["database"] = f"unreachable: {_why(exc)}"
        ready = False
    # Replicas never make the service unready: reads fall back to the primary without them.
    replicas = services.db.router.status()
    degraded = [name for name, state in replicas.items() if not state["healthy"]]
    if replicas:
        checks["replicas"] = "ok" if not degraded else "degraded: " + ", ".join(degraded)
    # Nor does Redis: without it the cache is bypassed and rate limits are kept per process.
    if services.redis is not None:
        try:
            await services.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:  # readiness reports, it does not raise
            checks["redis"] = f"degraded: unreachable: {type(exc).__name__}"
            degraded.append("redis")
    status = "ready" if ready else "not_ready"
    if ready and degraded:
        status = "degraded"
    return JSONBytes(
        {"status": status, "checks": checks, "replicas": replicas},
        status_code=200 if ready else 503,
    )


def _why(exc: Exception) -> str:
    """The reason an outage carries (db/outage.py: "connection refused…", "the database system
    is shutting down"…), else the error's class (nothing of its message: it may hold a URL)."""
    if isinstance(exc, Unavailable) and isinstance(exc.details, dict) and "reason" in exc.details:
        return str(exc.details["reason"])
    return unreachable_reason(exc) or type(exc).__name__
