"""GET/POST /api/files/cleanup — the storage statistics and the sweep of old scratch files
(render inputs uploaded with `projectId=temp`), across all users: administrators only
(ADMIN_EMAILS); anyone else gets 403."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from spacekontext.auth.deps import CurrentUser, ServicesDep
from spacekontext.errors import Forbidden
from spacekontext.http.errors import client_message
from spacekontext.http.responses import JSONBytes
from spacekontext.users.service import CurrentUserInfo, is_admin

router = APIRouter(tags=["files"])


class CleanupIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    max_age_hours: float = Field(default=24.0, ge=0, le=24 * 365, alias="maxAgeHours")


def _require_admin(services: ServicesDep, user: CurrentUserInfo) -> None:
    # The one admin check and its answer (users/service.py), with the client's own message.
    if not is_admin(user, services.settings):
        raise Forbidden("Forbidden", code="admin_only")


@router.get("/api/files/cleanup", summary="Storage statistics (administrators)")
async def cleanup_stats(user: CurrentUser, services: ServicesDep) -> JSONBytes:
    _require_admin(services, user)
    return JSONBytes({"success": True, "stats": await services.files.storage_stats()})


@router.post(
    "/api/files/cleanup",
    summary="Delete scratch files older than maxAgeHours (administrators)",
    openapi_extra=client_message("Invalid cleanup parameters"),
)
async def cleanup(
    user: CurrentUser, services: ServicesDep, body: CleanupIn | None = None
) -> JSONBytes:
    _require_admin(services, user)
    hours = (body or CleanupIn()).max_age_hours
    deleted, errors = await services.files.sweep_scratch(older_than_s=hours * 3600)
    return JSONBytes({"success": True, "deleted": deleted, "errors": errors})
