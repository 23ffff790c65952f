"""Hot routes: the few routes that carry most of the traffic, served straight from the edge layer
(http/edge.py) instead of through FastAPI's router: the project list and detail (GET), the
document reads (GET of one floorplan, 3D model or massing, and of a project's list of each),
the site read, and the document saves (PUT and PATCH of the three kinds).

On a cached `GET /api/projects`, FastAPI's route matching and dependency solving took more than
half of the request's CPU, far more than authentication, the rate limit and the cache lookup
together (docs/benchmarks.md, "hot path"). A hot route does the same work with plain calls: the
same authentication function, the same query model, the same service call, the same error
bodies. The FastAPI route of the same path stays registered: it documents the route in OpenAPI
and serves it when `HOT_ROUTES=false` (tests compare the two, byte for byte).

Only exact matches are served here; anything else (HEAD, a trailing slash, a root path) falls
through to FastAPI unchanged. A route with a body (`method` other than GET) is matched after
the edge layer has read and checked the JSON body, and its handler may decline the request by
returning None: a body its model does not accept then goes to the FastAPI twin, which answers
with FastAPI's own 422, so that no error shape has to be reproduced here."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import Scope, Send

from spacekontext.errors import DomainError
from spacekontext.http.errors import domain_error_response, validation_error_response

if TYPE_CHECKING:
    from spacekontext.services import Services

QueryModel = TypeVar("QueryModel", bound=BaseModel)


class HotRequest:
    __slots__ = ("body", "params", "scope", "services")

    def __init__(self, scope: Scope, params: dict[str, str], body: Any = None) -> None:
        self.scope = scope
        self.params = params
        # The JSON body as the edge layer parsed it (routes with a body only).
        self.body = body
        self.services: Services = scope["app"].state.services

    @property
    def method(self) -> str:
        method: str = self.scope["method"]
        return method

    @property
    def path(self) -> str:
        path: str = self.scope["path"]
        return path

    def header(self, name: bytes) -> str:
        """The first value of a header (`name` in lower case), '' when absent."""
        return self.optional_header(name) or ""

    def optional_header(self, name: bytes) -> str | None:
        """The first value of a header (`name` in lower case), None when absent (as FastAPI's
        `Header()` parameters read it)."""
        for key, value in self.scope["headers"]:
            if key == name:
                text: str = value.decode("latin-1")
                return text
        return None

    def query(self, model: type[QueryModel]) -> QueryModel:
        """The query string validated by `model`, with FastAPI's rules (the last of repeated
        keys wins, blank values are kept) and its 422 error shape (`query.<field>`). The model
        must be frozen: validated queries are remembered and shared."""
        return _validated_query(model, self.scope.get("query_string", b""))  # type: ignore[return-value]


# The same few query strings come again and again (`limit=20`); a validated model is not changed
# by its readers, so it is remembered. Failures are not (lru_cache keeps no exceptions).
@functools.lru_cache(maxsize=4096)
def _validated_query(model: type[BaseModel], query_string: bytes) -> BaseModel:
    raw = query_string.decode("latin-1")
    values = dict(parse_qsl(raw, keep_blank_values=True)) if raw else {}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = [{**error, "loc": ("query", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from exc


# None: the request is declined, for FastAPI's route to answer (routes with a body only).
HotHandler = Callable[[HotRequest], Awaitable[Response | None]]


class HotRoute:
    """One route template, its method and its handler. `path` is the template, as on a
    Starlette route: the metrics and logs name the route by it."""

    __slots__ = ("_regex", "handler", "method", "path")

    def __init__(self, path: str, handler: HotHandler, *, method: str = "GET") -> None:
        self.path = path
        self.handler = handler
        self.method = method
        self._regex = compile_path(path)[0]

    def match(self, path: str) -> dict[str, str] | None:
        found = self._regex.match(path)
        return found.groupdict() if found else None

    async def serve(
        self, scope: Scope, params: dict[str, str], send: Send, *, body: Any = None
    ) -> bool:
        """Answer the request; False when the handler declined it (nothing was sent)."""
        try:
            response = await self.handler(HotRequest(scope, params, body))
        except DomainError as exc:
            response = domain_error_response(exc)
        except RequestValidationError as exc:
            response = validation_error_response(exc)
        if response is None:
            return False
        await response(scope, _no_body, send)
        return True


async def _no_body() -> Any:
    # Handlers get the body parsed, never read it; a response never reads at all.
    return {"type": "http.request", "body": b"", "more_body": False}


class HotRoutes:
    def __init__(self, routes: Iterable[HotRoute]) -> None:
        self._static: dict[tuple[str, str], HotRoute] = {}
        self._templated: dict[str, list[HotRoute]] = {}
        for route in routes:
            if "{" in route.path:
                self._templated.setdefault(route.method, []).append(route)
            else:
                self._static[(route.method, route.path)] = route

    def match(self, method: str, path: str) -> tuple[HotRoute, dict[str, str]] | None:
        """A GET route, matched before anything else happens to the request."""
        return self._match(method, path) if method == "GET" else None

    def match_with_body(self, method: str, path: str) -> tuple[HotRoute, dict[str, str]] | None:
        """A route with a JSON body, matched once the edge layer has read and checked it."""
        return None if method == "GET" else self._match(method, path)

    def _match(self, method: str, path: str) -> tuple[HotRoute, dict[str, str]] | None:
        route = self._static.get((method, path))
        if route is not None:
            return route, {}
        for route in self._templated.get(method, ()):
            params = route.match(path)
            if params is not None:
                return route, params
        return None
