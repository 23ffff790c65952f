"""Query parameters of every keyset-paginated list (see `spacekontext.pagination`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict

from spacekontext.pagination import DEFAULT_PAGE, MAX_CURSOR_CHARS, MAX_PAGE

PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PageCursor = Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)]
# Offset pagination (files): any offset PostgreSQL's bigint can take; past the last row the
# page is simply empty.
PageOffset = Annotated[int, Query(ge=0, le=2**63 - 1)]

# The floorplans' level filter (and their `level` field's range).
Level = Annotated[int | None, Query(ge=-100, le=1000)]


# The same parameters as one model each, for the hot routes (http/hot.py), which validate a
# query string with one model: each bound is stated once, above. Frozen: the hot routes
# remember validated queries and share them. Fields in the order of the FastAPI twins'
# parameters, so that several errors are listed alike.
class PageQuery(BaseModel):
    model_config = ConfigDict(frozen=True)

    limit: PageLimit = DEFAULT_PAGE
    cursor: PageCursor = None


class LevelPageQuery(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: Level = None
    limit: PageLimit = DEFAULT_PAGE
    cursor: PageCursor = None
