from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from spacekontext.auth.deps import CurrentUser, ServicesDep
from spacekontext.http.conditional import IfMatch, IfNoneMatch, not_modified
from spacekontext.http.documents import not_modified_response, saved_response, stored_response
from spacekontext.http.pages import PageCursor, PageLimit
from spacekontext.http.responses import JSONBytes
from spacekontext.models3d.schemas import Model3DCreate, Model3DPatch, Model3DReplace
from spacekontext.pagination import DEFAULT_PAGE

router = APIRouter(tags=["models3d"])

Prefer = Annotated[str | None, Header()]
NAME = "model3d"
DATA = "modelData"


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True)


@router.get("/api/projects/{project_id}/models3d", summary="List a project's 3D models")
async def list_models(
    project_id: str,
    user: CurrentUser,
    services: ServicesDep,
    limit: PageLimit = DEFAULT_PAGE,
    cursor: PageCursor = None,
) -> JSONBytes:
    rows, next_cursor = await services.models3d.list_in_project(
        user.id, project_id, limit=limit, cursor=cursor
    )
    return JSONBytes(
        {"success": True, "models3d": [_dump(row) for row in rows], "nextCursor": next_cursor}
    )


@router.post("/api/projects/{project_id}/models3d", status_code=201, summary="Create a 3D model")
async def create_model(
    project_id: str,
    body: Model3DCreate,
    user: CurrentUser,
    services: ServicesDep,
    prefer: Prefer = None,
) -> JSONBytes:
    saved = await services.models3d.create(user.id, project_id, body)
    return saved_response(
        NAME, saved, version=saved.meta.version, data_key=DATA, prefer=prefer, status_code=201
    )


@router.get("/api/models3d/{model_id}", summary="Read a 3D model with its document")
async def get_model(
    model_id: str, user: CurrentUser, services: ServicesDep, if_none_match: IfNoneMatch = None
) -> Response:
    if if_none_match is not None:
        version = await services.models3d.current_version(user.id, model_id)
        if not_modified(if_none_match, version):
            return not_modified_response(version)
    stored = await services.models3d.get(user.id, model_id)
    return stored_response(NAME, stored, data_key=DATA, version=stored.meta.version)


@router.put("/api/models3d/{model_id}", summary="Replace a 3D model's document")
async def replace_model(
    model_id: str,
    body: Model3DReplace,
    user: CurrentUser,
    services: ServicesDep,
    pre: IfMatch,
    prefer: Prefer = None,
) -> JSONBytes:
    saved = await services.models3d.replace(user.id, model_id, body, pre)
    return saved_response(NAME, saved, version=saved.meta.version, data_key=DATA, prefer=prefer)


@router.patch("/api/models3d/{model_id}", summary="Merge-patch a 3D model (RFC 7396)")
async def patch_model(
    model_id: str,
    body: Model3DPatch,
    user: CurrentUser,
    services: ServicesDep,
    pre: IfMatch,
    prefer: Prefer = None,
) -> JSONBytes:
    saved = await services.models3d.patch(user.id, model_id, body, pre)
    return saved_response(NAME, saved, version=saved.meta.version, data_key=DATA, prefer=prefer)


@router.delete("/api/models3d/{model_id}", summary="Delete a 3D model")
async def delete_model(
    model_id: str, user: CurrentUser, services: ServicesDep, pre: IfMatch
) -> JSONBytes:
    await services.models3d.delete(user.id, model_id, pre)
    return JSONBytes({"success": True})
