"""One router factory for the versioned documents (floorplans, 3D models, massings): list and
create under a project, then get / put / patch / delete of one document, with ETag on every
answer, `If-None-Match` on reads and `If-Match` on writes. A new kind of document, or a new
route for all of them, is one change here; a kind's own routes (a floorplan's history) are
added to the router this returns.

No `from __future__ import annotations` in this module: FastAPI reads the endpoints'
annotations at run time, and those name the kind's schemas, which are closure variables of
the factory (string annotations could not be resolved from the module's globals)."""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Header, Path, Response
from pydantic import BaseModel, ValidationError

from spacekontext.auth.deps import CurrentUser, ServicesDep, hot_caller, hot_caller_with_query
from spacekontext.documents import (
    Precondition,
    SavedDocument,
    StoredDocument,
    mark_json_body,
    unmark_json_body,
)
from spacekontext.http.conditional import IfMatch, IfNoneMatch, not_modified, precondition_from
from spacekontext.http.documents import not_modified_response, saved_response, stored_response
from spacekontext.http.hot import HotRequest, HotRoute
from spacekontext.http.jsonroute import ParsedJSONRoute
from spacekontext.http.pages import Level, LevelPageQuery, PageCursor, PageLimit, PageQuery
from spacekontext.http.responses import JSONBytes
from spacekontext.pagination import DEFAULT_PAGE
from spacekontext.services import Services

Prefer = Annotated[str | None, Header()]


class DocumentService(Protocol):
    """What the routes call: the versioned-document services (documents/versioned.py)."""

    async def list_in_project(
        self, user_id: str, project_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Any], str | None]: ...

    async def current_version(self, user_id: str, document_id: str) -> int: ...

    async def get(self, user_id: str, document_id: str) -> StoredDocument[Any]: ...

    async def create(self, user_id: str, project_id: str, body: Any) -> SavedDocument[Any]: ...

    async def replace(
        self, user_id: str, document_id: str, body: Any, pre: Precondition
    ) -> SavedDocument[Any]: ...

    async def patch(
        self, user_id: str, document_id: str, body: Any, pre: Precondition
    ) -> SavedDocument[Any]: ...

    async def delete(self, user_id: str, document_id: str, pre: Precondition) -> None: ...


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """How one kind of document appears on the wire. The names a kind does not give follow
    from its collection: "massings" → answers under "massing", path parameter "massing_id",
    summaries about "a massing" and "massings", routes list_massings / get_massing."""

    collection: str  # path segment, tag and list key: "floorplans"
    data_key: str  # the document's key in bodies: "data"
    create: type[BaseModel]
    replace: type[BaseModel]
    patch: type[BaseModel]
    service: Callable[[Services], DocumentService]
    name: str = ""  # a document's key in answers: "floorplan"
    id_param: str = ""  # the path parameter: "floorplan_id"
    noun: str = ""  # in summaries: "floorplan", "3D model"
    plural: str = ""  # "floorplans", "3D models"
    # (one, several) in route names, which OpenAPI's operation ids are made of.
    route_names: tuple[str, str] | None = None
    # Lists filter by `?level=` (floorplans).
    by_level: bool = False
    delete_summary: str | None = None

    def named(self) -> "DocumentKind":
        """This kind with every name filled in."""
        name = self.name or self.collection.removesuffix("s")
        return dataclasses.replace(
            self,
            name=name,
            id_param=self.id_param or f"{name}_id",
            noun=self.noun or name,
            plural=self.plural or self.collection,
            route_names=self.route_names or (name, self.collection),
        )

    @property
    def item_path(self) -> str:
        """One document's path template: "/api/floorplans/{floorplan_id}" (named kinds)."""
        return f"/api/{self.collection}/{{{self.id_param}}}"

    @property
    def collection_path(self) -> str:
        """A project's list of this kind: "/api/projects/{project_id}/floorplans"."""
        return f"/api/projects/{{project_id}}/{self.collection}"

    def saved(
        self, result: SavedDocument[Any], prefer: str | None, status_code: int = 200
    ) -> JSONBytes:
        """The answer to a save of this kind, by the FastAPI routes and the hot ones alike."""
        return saved_response(
            self.name,
            result,
            version=result.meta.version,
            data_key=self.data_key,
            prefer=prefer,
            status_code=status_code,
        )


async def _page(limit: PageLimit = DEFAULT_PAGE, cursor: PageCursor = None) -> dict[str, Any]:
    return {"limit": limit, "cursor": cursor}


async def _page_by_level(
    level: Level = None, limit: PageLimit = DEFAULT_PAGE, cursor: PageCursor = None
) -> dict[str, Any]:
    return {"level": level, "limit": limit, "cursor": cursor}


async def _read_document(
    kind: DocumentKind,
    services: Services,
    user_id: str,
    document_id: str,
    if_none_match: str | None,
) -> Response:
    """One document with its ETag, or 304 when `If-None-Match` names its version (then only
    the version is read): the FastAPI route and the hot one alike."""
    service = kind.service(services)
    if if_none_match is not None:
        version = await service.current_version(user_id, document_id)
        if not_modified(if_none_match, version):
            return not_modified_response(version)
    stored = await service.get(user_id, document_id)
    return stored_response(kind.name, stored, data_key=kind.data_key, version=stored.meta.version)


async def _list_page(
    kind: DocumentKind, services: Services, user_id: str, project_id: str, page: dict[str, Any]
) -> JSONBytes:
    rows, next_cursor = await kind.service(services).list_in_project(user_id, project_id, **page)
    return JSONBytes(
        {
            "success": True,
            kind.collection: [row.model_dump(mode="json", by_alias=True) for row in rows],
            "nextCursor": next_cursor,
        }
    )


def document_routes(kind: DocumentKind) -> tuple[APIRouter, tuple[HotRoute, ...]]:
    """The kind's FastAPI router, and its hot routes (http/hot.py)."""
    return document_router(kind), document_hot_routes(kind)


def document_hot_routes(kind: DocumentKind) -> tuple[HotRoute, ...]:
    """The reads (one document, a project's list) and the saves (PUT and PATCH) as hot
    routes: a save spent about as much CPU in FastAPI's route matching and dependency solving
    as in its own statements (docs/benchmarks.md, "Document saves"), and a read more than in
    its statement. Same steps as the FastAPI routes: the same authentication, If-Match,
    If-None-Match and Prefer read as the routes' `Header()` parameters read them, the query
    validated with the same bounds (a bad one reported after authentication, as FastAPI does:
    401 before 422), the body by the same model, the same service call and answer. A body the
    model refuses is declined, for the FastAPI route to answer with its own 422."""
    kind = kind.named()
    page_query: type[PageQuery | LevelPageQuery] = LevelPageQuery if kind.by_level else PageQuery

    async def read(request: HotRequest) -> Response:
        user = await hot_caller(request)
        return await _read_document(
            kind,
            request.services,
            user.id,
            request.params[kind.id_param],
            request.optional_header(b"if-none-match"),
        )

    async def list_page(request: HotRequest) -> Response:
        user, query = await hot_caller_with_query(request, page_query)
        return await _list_page(
            kind, request.services, user.id, request.params["project_id"], query.model_dump()
        )

    def save(operation: str, body_model: type[BaseModel]) -> HotRoute:
        async def handler(request: HotRequest) -> Response | None:
            if type(request.body) is not dict:
                return None
            try:
                body = body_model.model_validate(request.body)
            except ValidationError:
                return None
            user = await hot_caller(request)
            pre = precondition_from(request.optional_header(b"if-match"))
            service = kind.service(request.services)
            # As ParsedJSONRoute: the body was parsed by orjson, so it holds no NaN.
            token = mark_json_body(True)
            try:
                result = await getattr(service, operation)(
                    user.id, request.params[kind.id_param], body, pre
                )
            finally:
                unmark_json_body(token)
            return kind.saved(result, request.optional_header(b"prefer"))

        return HotRoute(
            kind.item_path, handler, method="PUT" if operation == "replace" else "PATCH"
        )

    return (
        HotRoute(kind.item_path, read),
        HotRoute(kind.collection_path, list_page),
        save("replace", kind.replace),
        save("patch", kind.patch),
    )


def document_router(kind: DocumentKind) -> APIRouter:
    kind = kind.named()
    # Bodies as the edge layer parsed them (http/jsonroute.py): a document is parsed once.
    router = APIRouter(tags=[kind.collection], route_class=ParsedJSONRoute)
    collection = kind.collection_path
    item = kind.item_path
    assert kind.route_names is not None  # filled in by named()
    one, several = kind.route_names
    DocumentId = Annotated[str, Path(alias=kind.id_param)]  # noqa: N806 (a type alias)
    Create = kind.create  # noqa: N806

    async def list_documents(
        project_id: str,
        user: CurrentUser,
        services: ServicesDep,
        page: Annotated[dict[str, Any], Depends(_page_by_level if kind.by_level else _page)],
    ) -> JSONBytes:
        return await _list_page(kind, services, user.id, project_id, page)

    async def create(
        project_id: str,
        body: Create,  # type: ignore[valid-type]
        user: CurrentUser,
        services: ServicesDep,
        prefer: Prefer = None,
    ) -> JSONBytes:
        result = await kind.service(services).create(user.id, project_id, body)
        return kind.saved(result, prefer, status_code=201)

    async def get(
        document_id: DocumentId,
        user: CurrentUser,
        services: ServicesDep,
        if_none_match: IfNoneMatch = None,
    ) -> Response:
        return await _read_document(kind, services, user.id, document_id, if_none_match)

    def versioned_write(operation: str, Body: type[BaseModel]) -> Callable[..., Any]:  # noqa: N803
        """PUT and PATCH: the same route around the service's `replace` or `patch`."""

        async def write(
            document_id: DocumentId,
            body: Body,  # type: ignore[valid-type]
            user: CurrentUser,
            services: ServicesDep,
            pre: IfMatch,
            prefer: Prefer = None,
        ) -> JSONBytes:
            service = kind.service(services)
            result = await getattr(service, operation)(user.id, document_id, body, pre)
            return kind.saved(result, prefer)

        return write

    replace = versioned_write("replace", kind.replace)
    patch = versioned_write("patch", kind.patch)

    async def delete(
        document_id: DocumentId, user: CurrentUser, services: ServicesDep, pre: IfMatch
    ) -> JSONBytes:
        await kind.service(services).delete(user.id, document_id, pre)
        return JSONBytes({"success": True})

    noun = kind.noun
    routes: list[tuple[str, str, Callable[..., Any], str, str, int | None]] = [
        ("GET", collection, list_documents, f"list_{several}",
         f"List a project's {kind.plural}", None),
        ("POST", collection, create, f"create_{one}", f"Create a {noun}", 201),
        ("GET", item, get, f"get_{one}", f"Read a {noun} with its document", None),
        ("PUT", item, replace, f"replace_{one}", f"Replace a {noun}'s document", None),
        ("PATCH", item, patch, f"patch_{one}", f"Merge-patch a {noun} (RFC 7396)", None),
        ("DELETE", item, delete, f"delete_{one}",
         kind.delete_summary or f"Delete a {noun}", None),
    ]  # fmt: skip
    for method, path, endpoint, name, summary, status_code in routes:
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            name=name,
            summary=summary,
            status_code=status_code,
        )
    return router
