"""Query parameters of every keyset-paginated list (see `spacekontext.pagination`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from spacekontext.pagination import MAX_CURSOR_CHARS, MAX_PAGE

PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PageCursor = Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)]
# Offset pagination (files): any offset PostgreSQL's bigint can take; past the last row the
# page is simply empty.
PageOffset = Annotated[int, Query(ge=0, le=2**63 - 1)]
