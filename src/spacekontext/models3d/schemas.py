from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from spacekontext.http.schemas import ApiInput, ApiModel


class Model3DCreate(ApiInput):
    name: str = Field(min_length=1, max_length=255)
    floorplan_id: str | None = Field(default=None, max_length=26)
    # `Any`: documents are kept exactly as sent (see floorplans.schemas).
    model_data: Any = Field(default_factory=dict)
    settings: Any = Field(default_factory=dict)


class Model3DReplace(ApiInput):
    """PUT: the whole model; name, floorplan link and settings are kept when omitted."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    floorplan_id: str | None = Field(default=None, max_length=26)
    model_data: Any
    settings: Any = None


class Model3DPatch(ApiInput):
    """PATCH: an RFC 7396 merge patch; `modelData` and `settings` merge into what is stored,
    `floorplanId: null` unlinks the floorplan."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    floorplan_id: str | None = Field(default=None, max_length=26)
    model_data: Any = None
    settings: Any = None


class Model3DSummary(ApiModel):
    id: str
    project_id: str
    floorplan_id: str | None
    name: str
    object_count: int
    data_bytes: int
    content_hash: str
    version: int
    created_at: datetime
    updated_at: datetime


class Model3DRead(Model3DSummary):
    settings: dict[str, Any]
