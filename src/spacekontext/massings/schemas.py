from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from spacekontext.http.schemas import ApiInput, ApiModel


class MassingCreate(ApiInput):
    name: str = Field(min_length=1, max_length=255)
    # `Any`: documents are kept exactly as sent (see floorplans.schemas).
    massing_data: Any = Field(default_factory=dict)
    analysis: Any = None


class MassingReplace(ApiInput):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    massing_data: Any
    analysis: Any = None


class MassingPatch(ApiInput):
    """An RFC 7396 merge patch: `massingData` and `analysis` merge into what is stored."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    massing_data: Any = None
    analysis: Any = None


class MassingSummary(ApiModel):
    id: str
    project_id: str
    name: str
    volume_m3: float
    footprint_m2: float
    gross_floor_area_m2: float
    height_m: float
    floor_area_ratio: float | None
    data_bytes: int
    content_hash: str
    version: int
    created_at: datetime
    updated_at: datetime
