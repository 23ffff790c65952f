from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response

from spacekontext.auth.deps import CurrentUser, ServicesDep
from spacekontext.floorplans.schemas import FloorplanCreate, FloorplanPatch, FloorplanReplace
from spacekontext.http.conditional import IfMatch, IfNoneMatch, not_modified
from spacekontext.http.documents import not_modified_response, saved_response, stored_response
from spacekontext.http.pages import PageCursor, PageLimit
from spacekontext.http.responses import JSONBytes
from spacekontext.pagination import DEFAULT_PAGE

router = APIRouter(tags=["floorplans"])

Prefer = Annotated[str | None, Header()]
VersionNumber = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True)


@router.get("/api/projects/{project_id}/floorplans", summary="List a project's floorplans")
async def list_floorplans(
    project_id: str,
    user: CurrentUser,
    services: ServicesDep,
    level: Annotated[int | None, Query(ge=-100, le=1000)] = None,
    limit: PageLimit = DEFAULT_PAGE,
    cursor: PageCursor = None,
) -> JSONBytes:
    rows, next_cursor = await services.floorplans.list_in_project(
        user.id, project_id, level=level, limit=limit, cursor=cursor
    )
    return JSONBytes(
        {"success": True, "floorplans": [_dump(row) for row in rows], "nextCursor": next_cursor}
    )


@router.post("/api/projects/{project_id}/floorplans", status_code=201, summary="Create a floorplan")
async def create_floorplan(
    project_id: str,
    body: FloorplanCreate,
    user: CurrentUser,
    services: ServicesDep,
    prefer: Prefer = None,
) -> JSONBytes:
    saved = await services.floorplans.create(user.id, project_id, body)
    return saved_response(
        "floorplan",
        saved,
        version=saved.meta.version,
        data_key="data",
        prefer=prefer,
        status_code=201,
    )


@router.get("/api/floorplans/{floorplan_id}", summary="Read a floorplan with its document")
async def get_floorplan(
    floorplan_id: str,
    user: CurrentUser,
    services: ServicesDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    if if_none_match is not None:
        version = await services.floorplans.current_version(user.id, floorplan_id)
        if not_modified(if_none_match, version):
            return not_modified_response(version)
    stored = await services.floorplans.get(user.id, floorplan_id)
    return stored_response("floorplan", stored, data_key="data", version=stored.meta.version)


@router.put("/api/floorplans/{floorplan_id}", summary="Replace a floorplan's document")
async def replace_floorplan(
    floorplan_id: str,
    body: FloorplanReplace,
    user: CurrentUser,
    services: ServicesDep,
    pre: IfMatch,
    prefer: Prefer = None,
) -> JSONBytes:
    saved = await services.floorplans.replace(user.id, floorplan_id, body, pre)
    return saved_response(
        "floorplan", saved, version=saved.meta.version, data_key="data", prefer=prefer
    )


@router.patch("/api/floorplans/{floorplan_id}", summary="Merge-patch a floorplan (RFC 7396)")
async def patch_floorplan(
    floorplan_id: str,
    body: FloorplanPatch,
    user: CurrentUser,
    services: ServicesDep,
    pre: IfMatch,
    prefer: Prefer = None,
) -> JSONBytes:
    saved = await services.floorplans.patch(user.id, floorplan_id, body, pre)
    return saved_response(
        "floorplan", saved, version=saved.meta.version, data_key="data", prefer=prefer
    )


@router.delete("/api/floorplans/{floorplan_id}", summary="Delete a floorplan and its history")
async def delete_floorplan(
    floorplan_id: str, user: CurrentUser, services: ServicesDep, pre: IfMatch
) -> JSONBytes:
    await services.floorplans.delete(user.id, floorplan_id, pre)
    return JSONBytes({"success": True})


@router.get("/api/floorplans/{floorplan_id}/versions", summary="A floorplan's saved versions")
async def list_versions(floorplan_id: str, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    rows = await services.floorplans.versions(user.id, floorplan_id)
    return JSONBytes({"success": True, "versions": [_dump(row) for row in rows]})


@router.get(
    "/api/floorplans/{floorplan_id}/versions/{version}", summary="One saved version's document"
)
async def get_version(
    floorplan_id: str, version: VersionNumber, user: CurrentUser, services: ServicesDep
) -> JSONBytes:
    stored = await services.floorplans.version_document(user.id, floorplan_id, version)
    return stored_response("version", stored, data_key="data")


@router.post(
    "/api/floorplans/{floorplan_id}/versions/{version}/restore",
    summary="Restore a saved version as a new version",
)
async def restore_version(
    floorplan_id: str,
    version: VersionNumber,
    user: CurrentUser,
    services: ServicesDep,
    pre: IfMatch,
    prefer: Prefer = None,
) -> JSONBytes:
    saved = await services.floorplans.restore(user.id, floorplan_id, version, pre)
    return saved_response(
        "floorplan", saved, version=saved.meta.version, data_key="data", prefer=prefer
    )
