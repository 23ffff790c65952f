"""Query parameters of every keyset-paginated list (see `spacekontext.pagination`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from spacekontext.pagination import DEFAULT_PAGE, MAX_CURSOR_CHARS, MAX_PAGE

PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PageCursor = Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)]
# Offset pagination (files): any offset PostgreSQL's bigint can take; past the last row the
# page is simply empty.
PageOffset = Annotated[int, Query(ge=0, le=2**63 - 1)]


# The same bounds as models, for the hot routes (http/hot.py), which validate a query string
# with one model. Frozen: the hot routes remember validated queries and share them. Fields in
# the order of the FastAPI twins' parameters, so that several errors are listed alike.
class PageQuery(BaseModel):
    model_config = ConfigDict(frozen=True)

    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR_CHARS)


# The floorplans' level filter and its range.
LEVEL_MIN, LEVEL_MAX = -100, 1000


class LevelPageQuery(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: int | None = Field(default=None, ge=LEVEL_MIN, le=LEVEL_MAX)
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR_CHARS)
