from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from spacekontext.auth.deps import CurrentUser, ServicesDep
from spacekontext.http.conditional import IfMatch, IfNoneMatch, not_modified
from spacekontext.http.documents import not_modified_response, saved_response, stored_response
from spacekontext.http.pages import PageCursor, PageLimit
from spacekontext.http.responses import JSONBytes
from spacekontext.massings.schemas import MassingCreate, MassingPatch, MassingReplace
from spacekontext.pagination import DEFAULT_PAGE

router = APIRouter(tags=["massings"])

Prefer = Annotated[str | None, Header()]
NAME = "massing"
DATA = "massingData"


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True)


@router.get("/api/projects/{project_id}/massings", summary="List a project's massings")
async def list_massings(
    project_id: str,
    user: CurrentUser,
    services: ServicesDep,
    limit: PageLimit = DEFAULT_PAGE,
    cursor: PageCursor = None,
) -> JSONBytes:
    rows, next_cursor = await services.massings.list_in_project(
        user.id, project_id, limit=limit, cursor=cursor
    )
    return JSONBytes(
        {"success": True, "massings": [_dump(row) for row in rows], "nextCursor": next_cursor}
    )


@router.post("/api/projects/{project_id}/massings", status_code=201, summary="Create a massing")
async def create_massing(
    project_id: str,
    body: MassingCreate,
    user: CurrentUser,
    services: ServicesDep,
    prefer: Prefer = None,
) -> JSONBytes:
    saved = await services.massings.create(user.id, project_id, body)
    return saved_response(
        NAME, saved, version=saved.meta.version, data_key=DATA, prefer=prefer, status_code=201
    )


@router.get("/api/massings/{massing_id}", summary="Read a massing with its document")
async def get_massing(
    massing_id: str, user: CurrentUser, services: ServicesDep, if_none_match: IfNoneMatch = None
) -> Response:
    if if_none_match is not None:
        version = await services.massings.current_version(user.id, massing_id)
        if not_modified(if_none_match, version):
            return not_modified_response(version)
    stored = await services.massings.get(user.id, massing_id)
    return stored_response(NAME, stored, data_key=DATA, version=stored.meta.version)


@router.put("/api/massings/{massing_id}", summary="Replace a massing's document")
async def replace_massing(
    massing_id: str,
    body: MassingReplace,
    user: CurrentUser,
    services: ServicesDep,
    pre: IfMatch,
    prefer: Prefer = None,
) -> JSONBytes:
    saved = await services.massings.replace(user.id, massing_id, body, pre)
    return saved_response(NAME, saved, version=saved.meta.version, data_key=DATA, prefer=prefer)


@router.patch("/api/massings/{massing_id}", summary="Merge-patch a massing (RFC 7396)")
async def patch_massing(
    massing_id: str,
    body: MassingPatch,
    user: CurrentUser,
    services: ServicesDep,
    pre: IfMatch,
    prefer: Prefer = None,
) -> JSONBytes:
    saved = await services.massings.patch(user.id, massing_id, body, pre)
    return saved_response(NAME, saved, version=saved.meta.version, data_key=DATA, prefer=prefer)


@router.delete("/api/massings/{massing_id}", summary="Delete a massing")
async def delete_massing(
    massing_id: str, user: CurrentUser, services: ServicesDep, pre: IfMatch
) -> JSONBytes:
    await services.massings.delete(user.id, massing_id, pre)
    return JSONBytes({"success": True})
