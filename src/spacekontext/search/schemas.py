from __future__ import annotations

from datetime import datetime
from typing import Literal

from spacekontext.http.schemas import ApiModel

SearchType = Literal["projects", "files", "blocks"]


class SearchHit(ApiModel):
    """One ranked result. `title` and `snippet` are HTML-escaped text in which the matched
    words are wrapped in <mark>…</mark>; everything else is plain data."""

    type: Literal["project", "file", "block"]
    id: str
    name: str
    title: str
    snippet: str | None
    score: float
    project_id: str | None = None
    category: str | None = None
    subcategory: str | None = None
    slug: str | None = None
    updated_at: datetime | None = None


class SearchResults(ApiModel):
    query: str
    types: list[SearchType]
    results: list[SearchHit]
