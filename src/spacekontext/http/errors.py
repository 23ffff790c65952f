"""The one place where errors become HTTP responses."""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from spacekontext.db.outage import database_unavailable, unreachable_reason
from spacekontext.errors import DomainError
from spacekontext.http.responses import JSONBytes

log = logging.getLogger("spacekontext.errors")


def error_body(message: str, code: str, details: Any = None) -> dict[str, Any]:
    return {"success": False, "error": message, "code": code, "details": details}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if part != "body"]
        details.append(
            {"field": ".".join(loc), "message": error.get("msg"), "type": error.get("type")}
        )
    return details


def _public_details(details: Any) -> Any:
    """Details as clients see them: pydantic's error dicts, passed on by some routes, lose
    their documentation URL and their context (which may hold an exception object)."""
    if isinstance(details, list):
        return [
            {k: v for k, v in item.items() if k not in ("url", "ctx")}
            if isinstance(item, dict) and "loc" in item
            else item
            for item in details
        ]
    return details


def domain_error_response(exc: DomainError) -> JSONBytes:
    body = error_body(exc.message, exc.error_code, _public_details(exc.details))
    if exc.extra:
        body = exc.extra | body
    return JSONBytes(body, status_code=exc.status, headers=exc.headers)


# A route's own message for a request that fails validation, where the web client shows the
# message (`openapi_extra=client_message("Invalid project name")`); status and details stay ours.
CLIENT_MESSAGE = "x-client-error-message"


def client_message(message: str) -> dict[str, str]:
    return {CLIENT_MESSAGE: message}


def validation_error_response(exc: RequestValidationError, message: str | None = None) -> JSONBytes:
    details = _validation_details(exc)
    if any(d["type"] == "json_invalid" for d in details):
        return JSONBytes(
            error_body(message or "request body is not valid JSON", "malformed_json", details),
            status_code=400,
        )
    return JSONBytes(
        error_body(message or "request validation failed", "validation_error", details),
        status_code=422,
    )


def allowed_methods(app: Any, path: str) -> list[str]:
    """Every method some route serves at this path. Starlette's 405 names only the methods of
    the first route whose path matched, and FastAPI registers one route per method."""
    exact: set[str] = set()
    templated: set[str] = set()
    for context in iter_route_contexts(app.routes):
        template = getattr(context, "path", None)
        if template and _template_regex(template).match(path):
            found = exact if template == path else templated
            found |= set(getattr(context, "methods", None) or ())
    # A path of its own (`/api/files/presign`) is the resource the client named, even where a
    # template (`/api/files/{file_id}`) would also take it.
    return sorted(exact or templated)


@functools.lru_cache(maxsize=512)
def _template_regex(template: str) -> re.Pattern[str]:
    return compile_path(template)[0]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONBytes:
        return domain_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONBytes:
        extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
        return validation_error_response(exc, extra.get(CLIENT_MESSAGE))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONBytes:
        codes = {
            401: "unauthenticated",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        return JSONBytes(
            error_body(str(exc.detail), codes.get(exc.status_code, "http_error")),
            status_code=exc.status_code,
            headers=headers or None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONBytes:
        # Only what escapes the edge layer itself comes here (the edge answers the rest).
        return unexpected_error_response(exc, getattr(request.state, "request_id", None))


def unexpected_error_response(
    exc: Exception, request_id: str | None, *, id_header: bool = True
) -> JSONBytes:
    """The answer to an exception no handler turned into a response: a 503 for a database
    outage, otherwise a 500 that names the request id and nothing of the exception. The edge
    layer (http/edge.py) sends it, so the connection stays open."""
    # The db layer turns outages into `Unavailable` where it runs the SQL; a driver error
    # that reached here by another path is still an outage, not a bug.
    reason = unreachable_reason(exc, from_database=False)
    if reason is not None:
        log.warning("database unavailable: %s", reason)
        return domain_error_response(database_unavailable(reason))
    log.exception("unhandled error", exc_info=exc, extra={"request_id": request_id})
    return JSONBytes(
        error_body("internal error", "internal_error", {"requestId": request_id}),
        status_code=500,
        # Sent from outside the edge layer, the response needs the header the edge adds.
        headers={"x-request-id": request_id} if request_id and id_header else None,
    )
