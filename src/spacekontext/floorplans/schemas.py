from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from spacekontext.http.schemas import ApiInput, ApiModel

NAME = Field(min_length=1, max_length=255)
LEVEL = Field(ge=-100, le=1000)


class FloorplanCreate(ApiInput):
    name: str = NAME
    level: int = Field(default=0, ge=-100, le=1000)
    # `Any`, not `dict[str, Any]`: the document is kept exactly as sent (a dict type would run
    # the model's string rules over its keys); its shape is checked by floorplans.geometry.
    data: Any = Field(default_factory=dict)


class FloorplanReplace(ApiInput):
    """PUT: the whole document; name and level are kept when omitted."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    level: int | None = Field(default=None, ge=-100, le=1000)
    data: Any


class FloorplanPatch(ApiInput):
    """PATCH: a JSON Merge Patch (RFC 7396) of the resource; `data` is merged into the stored
    document, so a client sends only what it changed (`null` deletes a key)."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    level: int | None = Field(default=None, ge=-100, le=1000)
    data: Any = None


class FloorplanSummary(ApiModel):
    """A row of the list: metadata columns only, never the document."""

    id: str
    project_id: str
    name: str
    level: int
    wall_count: int
    opening_count: int
    room_count: int
    furniture_count: int
    total_area_m2: float
    bbox: list[float] | None
    data_bytes: int
    content_hash: str
    version: int
    created_at: datetime
    updated_at: datetime


class FloorplanVersionSummary(ApiModel):
    version: int
    name: str
    level: int
    wall_count: int
    opening_count: int
    room_count: int
    total_area_m2: float
    data_bytes: int
    content_hash: str
    created_by_user_id: str | None
    created_at: datetime
