from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from spacekontext.auth.deps import CurrentUser, ServicesDep
from spacekontext.http.responses import JSONBytes, success_json, success_with
from spacekontext.projects.schemas import ProjectCreate, ProjectUpdate

router = APIRouter(prefix="/api/projects", tags=["projects"])


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True)


@router.get("", summary="List own projects, newest first")
async def list_projects(
    user: CurrentUser,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> JSONBytes:
    # Cached bytes go out as they are: no Pydantic round trip on a hit.
    return success_json(await services.projects.list_json(user.id, limit=limit, cursor=cursor))


@router.post("", status_code=201, summary="Create a project")
async def create_project(
    body: ProjectCreate, user: CurrentUser, services: ServicesDep
) -> JSONBytes:
    project = await services.projects.create(user.id, body)
    return JSONBytes({"success": True, "project": _dump(project)}, status_code=201)


@router.get("/{project_id}", summary="Read a project")
async def get_project(project_id: str, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    return success_with("project", await services.projects.get_json(user.id, project_id))


@router.patch("/{project_id}", summary="Update name, description or settings")
async def update_project(
    project_id: str, body: ProjectUpdate, user: CurrentUser, services: ServicesDep
) -> JSONBytes:
    project = await services.projects.update(user.id, project_id, body)
    return JSONBytes({"success": True, "project": _dump(project)})


@router.delete("/{project_id}", summary="Delete a project and everything in it")
async def delete_project(project_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    await services.projects.delete(user.id, project_id)
    return JSONBytes({"success": True})
