from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from spacekontext.http.schemas import ApiInput, ApiModel

NAME = Field(min_length=1, max_length=255)


class ProjectCreate(ApiInput):
    name: str = NAME
    description: str | None = Field(default=None, max_length=10_000)
    settings: dict[str, Any] = Field(default_factory=dict)


class ProjectUpdate(ApiInput):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=10_000)
    settings: dict[str, Any] | None = None


class ProjectSummary(ApiModel):
    """A row of the dashboard list: no documents, ever. `settings` (a few numbers such as the
    floor-to-floor height) and `userId` are in it because the web client reads the full row
    (id, name, description, userId, createdAt, updatedAt, settings)."""

    id: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    user_id: str
    settings: dict[str, Any]


class ProjectRead(ProjectSummary):
    pass


class ProjectPage(ApiModel):
    projects: list[ProjectSummary]
    next_cursor: str | None


class ProjectFullPage(ApiModel):
    """The naive profile's list (the assessment's starting point): every project of the user,
    whole rows, no pagination."""

    projects: list[ProjectRead]
    next_cursor: None = None
