from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AliasChoices, Field, model_validator

from spacekontext.http.schemas import ApiInput, ApiModel, alias_of

SQ_FEET_PER_SQ_METER = 10.763910416709722


class LatLng(ApiInput):
    # Ranges are checked by the service (400 `invalid_coordinates`, as for the boundary).
    lat: float
    lng: float


class SiteCoordinates(ApiInput):
    """Either our `{lat, lng}` or the web client's `{center: {lat, lng}, boundary, areaSqFeet,
    areaSqMeters, scale, rotation}`; both are kept, so each reads back what it wrote."""

    lat: float | None = None
    lng: float | None = None
    center: LatLng | None = None
    boundary: Any = None
    area_sq_feet: float | None = None
    area_sq_meters: float | None = None
    scale: float | None = None
    rotation: float | None = None

    @model_validator(mode="after")
    def _has_a_position(self) -> SiteCoordinates:
        if self.center is None and (self.lat is None or self.lng is None):
            raise ValueError("coordinates need `center: {lat, lng}` or `lat` and `lng`")
        return self

    @property
    def position(self) -> tuple[float, float]:
        if self.center is not None:
            return self.center.lat, self.center.lng
        assert self.lat is not None and self.lng is not None
        return self.lat, self.lng


class SiteAnalysisUpsert(ApiInput):
    """What the editor sends for a project's site; omitted optional fields keep their stored
    value on an update."""

    project_id: str = Field(min_length=1, max_length=26)
    coordinates: SiteCoordinates
    boundary: Any = None
    # Finite by the JSON body check; bounded here so that nothing absurd is stored.
    scale: float | None = Field(default=None, ge=0, le=1_000_000)
    rotation: float | None = Field(default=None, ge=-360, le=360)
    timezone: str | None = Field(default=None, max_length=64)
    date: dt.date | None = None
    # Our names or the web client's (`weatherData`…).
    weather: Any = Field(default=None, validation_alias=AliasChoices("weather", "weatherData"))
    topography: Any = Field(
        default=None, validation_alias=AliasChoices("topography", "topographyData")
    )
    context: Any = Field(default=None, validation_alias=AliasChoices("context", "contextData"))
    analysis_results: Any = Field(
        default=None, validation_alias=AliasChoices("analysisResults", "analysis_results")
    )


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

    # The web client's names for the same data.
    sun_path_data = alias_of("sun_path", dict[str, Any] | None)  # type: ignore[pydantic-field]
    weather_data = alias_of("weather", dict[str, Any] | None)  # type: ignore[pydantic-field]
    topography_data = alias_of("topography", dict[str, Any] | None)  # type: ignore[pydantic-field]
    context_data = alias_of("context", dict[str, Any] | None)  # type: ignore[pydantic-field]

    @model_validator(mode="after")
    def _client_coordinates(self) -> SiteAnalysisRead:
        """`coordinates` as the web client reads it: `center`, and the area in square metres
        and feet (the derived area when the client sent none)."""
        coordinates = dict(self.coordinates or {})
        coordinates.setdefault("lat", self.latitude)
        coordinates.setdefault("lng", self.longitude)
        coordinates.setdefault("center", {"lat": self.latitude, "lng": self.longitude})
        if coordinates.get("areaSqMeters") is None and self.site_area_m2 is not None:
            coordinates["areaSqMeters"] = self.site_area_m2
        if coordinates.get("areaSqFeet") is None and coordinates.get("areaSqMeters") is not None:
            coordinates["areaSqFeet"] = coordinates["areaSqMeters"] * SQ_FEET_PER_SQ_METER
        self.coordinates = coordinates
        return self
