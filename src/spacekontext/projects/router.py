from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from spacekontext.auth.deps import CurrentUser, ServicesDep, hot_caller, hot_caller_with_query
from spacekontext.http.errors import client_message
from spacekontext.http.hot import HotRequest, HotRoute
from spacekontext.http.openapi import SuccessOnly, envelope
from spacekontext.http.pages import PageQuery as ListQuery
from spacekontext.http.responses import JSONBytes, success_json, success_with
from spacekontext.projects.schemas import (
    ProjectCreate,
    ProjectRead,
    ProjectSummary,
    ProjectUpdate,
)
from spacekontext.services import Services
from spacekontext.users.service import CurrentUserInfo

router = APIRouter(prefix="/api/projects", tags=["projects"])
# Documented bodies (the routes send their JSON themselves: nothing is validated twice).
PROJECT = envelope("project", ProjectRead)
DONE = SuccessOnly


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True)


@router.get(
    "",
    summary="List own projects, newest first",
    response_model=envelope("projects", list[ProjectSummary], next_cursor=str | None),
)
async def list_projects(
    user: CurrentUser, services: ServicesDep, query: Annotated[ListQuery, Query()]
) -> JSONBytes:
    return await _list(services, user, query)


async def _list(services: Services, user: CurrentUserInfo, query: ListQuery) -> JSONBytes:
    # Cached bytes go out as they are: no Pydantic round trip on a hit.
    page = await services.projects.list_json(user.id, limit=query.limit, cursor=query.cursor)
    return success_json(page)


@router.post(
    "",
    status_code=201,
    summary="Create a project",
    openapi_extra=client_message("Invalid project name"),
    response_model=PROJECT,
)
async def create_project(
    body: ProjectCreate, user: CurrentUser, services: ServicesDep
) -> JSONBytes:
    project = await services.projects.create(user.id, body)
    return JSONBytes({"success": True, "project": _dump(project)}, status_code=201)


@router.get("/{project_id}", summary="Read a project", response_model=PROJECT)
async def get_project(project_id: str, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    return await _get(services, user, project_id)


async def _get(services: Services, user: CurrentUserInfo, project_id: str) -> JSONBytes:
    return success_with("project", await services.projects.get_json(user.id, project_id))


@router.patch(
    "/{project_id}", summary="Update name, description or settings", response_model=PROJECT
)
async def update_project(
    project_id: str, body: ProjectUpdate, user: CurrentUser, services: ServicesDep
) -> JSONBytes:
    project = await services.projects.update(user.id, project_id, body)
    return JSONBytes({"success": True, "project": _dump(project)})


@router.delete(
    "/{project_id}", summary="Delete a project and everything in it", response_model=DONE
)
async def delete_project(project_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    await services.projects.delete(user.id, project_id)
    return JSONBytes({"success": True})


# The same two reads as hot routes (http/hot.py): the project list is the API's most frequent
# request, the detail its second.


async def _list_hot(request: HotRequest) -> Response:
    projects = request.services.projects
    user, query = await hot_caller_with_query(
        request,
        ListQuery,
        lambda query: partial(projects.list_cache_keys, limit=query.limit, cursor=query.cursor),
    )
    return await _list(request.services, user, query)


async def _get_hot(request: HotRequest) -> Response:
    project_id = request.params["project_id"]
    read_ahead = partial(request.services.projects.detail_cache_keys, project_id=project_id)
    user = await hot_caller(request, read_ahead)
    return await _get(request.services, user, project_id)


hot_routes = (
    HotRoute(router.prefix, _list_hot),
    HotRoute(router.prefix + "/{project_id}", _get_hot),
)
