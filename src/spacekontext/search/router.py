from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from spacekontext.auth.deps import CurrentUser, ServicesDep
from spacekontext.http.responses import JSONBytes
from spacekontext.search.service import parse_types

router = APIRouter(prefix="/api/search", tags=["search"])


@router.get("", summary="Ranked full-text search over own projects and files and the blocks")
async def search(
    user: CurrentUser,
    services: ServicesDep,
    # Generous transport cap; the service refuses over 200 characters with a precise 400.
    q: Annotated[str, Query(max_length=65_536)] = "",
    types: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> JSONBytes:
    found = await services.search.search(user.id, q, types=parse_types(types), limit=limit)
    return JSONBytes({"success": True, **found.model_dump(mode="json", by_alias=True)})
