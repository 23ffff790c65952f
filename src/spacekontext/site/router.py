from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from spacekontext.auth.deps import CurrentUser, ServicesDep, hot_caller_with_query
from spacekontext.errors import ValidationFailed
from spacekontext.http.errors import client_message
from spacekontext.http.hot import HotRequest, HotRoute
from spacekontext.http.responses import JSONBytes
from spacekontext.services import Services
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
    return await _get(services, user.id, project_id, day, interval)


async def _get(
    services: Services, user_id: str, project_id: str, day: date | None, interval: int | None
) -> JSONBytes:
    if interval is not None and interval not in INTERVALS_MINUTES:
        raise ValidationFailed(
            f"interval must be one of {list(INTERVALS_MINUTES)} minutes",
            details=[{"field": "query.interval", "message": "not a supported interval"}],
        )
    return JSONBytes(
        await services.site.get_json(user_id, project_id, day=day, interval_minutes=interval)
    )


class SiteQuery(BaseModel):
    """`get_site`'s query as one model, for its hot route (http/hot.py). Frozen: validated
    queries are remembered and shared."""

    model_config = ConfigDict(frozen=True)

    day: date | None = Field(default=None, alias="date")
    interval: int | None = None


async def _get_hot(request: HotRequest) -> Response:
    # The site of a project is read about as often as its floorplans: a hot route, the same
    # steps as `get_site`.
    user, query = await hot_caller_with_query(request, SiteQuery)
    return await _get(
        request.services, user.id, request.params["project_id"], query.day, query.interval
    )


hot_routes = (HotRoute(router.prefix + "/{project_id}", _get_hot),)
