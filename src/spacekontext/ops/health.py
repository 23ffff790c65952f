from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from spacekontext.auth.deps import ServicesDep
from spacekontext.db.base import SCHEMA
from spacekontext.db.migrate import head_revision
from spacekontext.http.responses import JSONBytes

router = APIRouter(tags=["ops"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> JSONBytes:
    return JSONBytes({"status": "ok"})


@router.get("/readyz", summary="Readiness: primary reachable and migrations at head")
async def readyz(services: ServicesDep) -> JSONBytes:
    checks: dict[str, str] = {}
    ready = True
    try:
        async with services.db.read() as session:
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
        checks["database"] = f"unreachable: {type(exc).__name__}"
        ready = False
    return JSONBytes(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )
