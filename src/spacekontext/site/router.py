from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from spacekontext.auth.deps import CurrentUser, ServicesDep
from spacekontext.errors import ValidationFailed
from spacekontext.http.errors import client_message
from spacekontext.http.responses import JSONBytes
from spacekontext.site.schemas import SiteAnalysisUpsert
from spacekontext.site.sunpath import INTERVALS_MINUTES

router = APIRouter(prefix="/api/site-analysis", tags=["site"])


@router.post(
    "",
    summary="Create or update a project's site; area and sun path are derived",
    openapi_extra=client_message("Invalid site analysis data"),
)
async def upsert_site(
    body: SiteAnalysisUpsert, user: CurrentUser, services: ServicesDep
) -> JSONBytes:
    site = await services.site.upsert(user.id, body)
    return JSONBytes({"success": True, "siteAnalysis": site.model_dump(mode="json", by_alias=True)})


@router.get(
    "/{project_id}",
    summary="A project's site (sun path for ?date= if given, every ?interval= minutes)",
)
async def get_site(
    project_id: str,
    user: CurrentUser,
    services: ServicesDep,
    day: Annotated[date | None, Query(alias="date")] = None,
    interval: Annotated[
        int | None,
        Query(description="Minutes between the day's sun positions: 10, 15, 30 or 60 (default)"),
    ] = None,
) -> JSONBytes:
    if interval is not None and interval not in INTERVALS_MINUTES:
        raise ValidationFailed(
            f"interval must be one of {list(INTERVALS_MINUTES)} minutes",
            details=[{"field": "query.interval", "message": "not a supported interval"}],
        )
    site = await services.site.get(user.id, project_id, day=day, interval_minutes=interval)
    return JSONBytes({"success": True, "siteAnalysis": site.model_dump(mode="json", by_alias=True)})
