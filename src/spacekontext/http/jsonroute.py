"""Routes that take their JSON body as the edge layer parsed it.

Every JSON body is parsed once by the edge layer's check (http/jsonbody.py), with orjson;
FastAPI would then parse it a second time with Python's own parser (about 2.5 ms of a 200 KB
floorplan save, three times orjson's cost). A route of this class reads the parsed document the
edge left in the scope instead, and marks the request as one whose body holds no NaN or
infinity (the edge refused them), so that a document made of it and of a stored one need not
be walked for them again (`documents.encode(finite=...)`)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from spacekontext.documents import mark_json_body, unmark_json_body
from spacekontext.http.jsonbody import PARSED_JSON_BODY


class _ParsedBodyRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            if PARSED_JSON_BODY in self.scope:
                self._json = self.scope[PARSED_JSON_BODY]
            else:  # a route the edge does not check (no body limit): parsed here, as before
                return await super().json()
        return self._json


class ParsedJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            token = mark_json_body(PARSED_JSON_BODY in request.scope)
            try:
                return await handler(_ParsedBodyRequest(request.scope, request.receive))
            finally:
                unmark_json_body(token)

        return route
