from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from spacekontext.http.schemas import ApiInput, ApiModel


class LatLng(ApiInput):
    # Ranges are checked by the service (400 `invalid_coordinates`, as for the boundary).
    lat: float
    lng: float


class SiteAnalysisUpsert(ApiInput):
    """What the editor sends for a project's site; omitted optional fields keep their stored
    value on an update."""

    project_id: str = Field(min_length=1, max_length=26)
    coordinates: LatLng
    boundary: Any = None
    # Finite by the JSON body check; bounded here so that nothing absurd is stored.
    scale: float | None = Field(default=None, ge=0, le=1_000_000)
    rotation: float | None = Field(default=None, ge=-360, le=360)
    timezone: str | None = Field(default=None, max_length=64)
    date: dt.date | None = None
    weather: Any = None
    topography: Any = None
    context: Any = None
    analysis_results: Any = None


class SiteAnalysisRead(ApiModel):
    id: str
    project_id: str
    latitude: float
    longitude: float
    coordinates: dict[str, Any] | None
    boundary: dict[str, Any] | None
    site_area_m2: float | None
    scale: float | None
    rotation: float | None = Field(validation_alias="rotation_deg")
    timezone: str | None
    sun_path: dict[str, Any] | None
    weather: dict[str, Any] | None
    topography: dict[str, Any] | None
    context: dict[str, Any] | None
    analysis_results: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime
