"""The OpenAPI document's responses, completed by rules so that every route, present and
future, documents what it can answer.

FastAPI documents a route's success response (its `response_model`, or an empty schema for
routes that return a `Response`) and a 422 in its own shape. This module rewrites the
generated document once:

- every 4xx/5xx answers the error envelope (`ErrorEnvelope`), the 422 included;
- the statuses every route of a kind can answer are added by rule:
  400 (a malformed body, a NUL in the path or query: the edge layer refuses them anywhere),
  401 and 429 (a route that needs the caller), 404 (a path that names a resource),
  409 (a write), 412 (a write with `If-Match`), 304 (a read with `If-None-Match`),
  413 and 422 (a request body), 503 (everything under /api: the database or another
  dependency is down);
- a route declares anything else it answers in its own `responses=` (415 for file kinds,
  for instance), and only the description: the envelope is filled in here;
- a 2xx JSON response without a schema gets the success envelope `{"success": true, ...}`.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, create_model
from starlette.responses import Response

from spacekontext.http.schemas import ApiModel

ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "title": "ErrorEnvelope",
    "description": "Every error answer: a message for people, a code for programs.",
    "required": ["success", "error", "code"],
    "properties": {
        "success": {"type": "boolean", "const": False},
        "error": {"type": "string"},
        "code": {"type": "string"},
        "details": {},
    },
}
SUCCESS_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "title": "SuccessEnvelope",
    "description": "`success: true` beside the named resource(s).",
    "required": ["success"],
    "properties": {"success": {"type": "boolean", "const": True}},
}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
_SUCCESS_REF = {"$ref": "#/components/schemas/SuccessEnvelope"}

DESCRIPTIONS = {
    "304": "Not modified: the `If-None-Match` tag is current",
    "403": "Forbidden: a role this caller lacks, or a URL whose signature does not hold",
    "400": "Bad request: malformed JSON, a value no column can hold, a broken rule",
    "401": "No or invalid credentials",
    "404": "Not found, or not yours",
    "409": "Conflict with the current state",
    "412": "Precondition failed: the `If-Match` tag is stale",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "422": "Validation failed: per-field details",
    "429": "Too many requests (`Retry-After`)",
    "503": "A dependency is unavailable (`Retry-After`)",
}
_WRITES = {"post", "put", "patch", "delete"}


def _error(status: str, description: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description or DESCRIPTIONS.get(status, "Error"),
        "content": {"application/json": {"schema": _ERROR_REF}},
    }
    if status in ("429", "503"):
        response["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
    return response


def complete_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """The document with every operation's responses completed (see the module docstring)."""
    schema = copy.deepcopy(schema)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorEnvelope"] = ERROR_ENVELOPE
    components["SuccessEnvelope"] = SUCCESS_ENVELOPE
    # FastAPI's own 422 shapes are never sent: the envelope replaces them.
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            names_a_resource = "{" in path or _names_an_id(operation, components)
            _complete(operation, method, path, names_a_resource=names_a_resource)
    return schema


def _names_an_id(operation: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether a query parameter or a body field names a resource by id (`projectId`)."""
    params = operation.get("parameters", [])
    if any(p["name"].endswith("Id") for p in params if p.get("in") == "query"):
        return True
    for media in operation.get("requestBody", {}).get("content", {}).values():
        body = media.get("schema", {})
        ref = body.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            body = components.get(ref.rsplit("/", 1)[1], {})
        if any(name.endswith("Id") for name in body.get("properties", {})):
            return True
    return False


def _complete(
    operation: dict[str, Any],
    method: str,
    path: str,
    *,
    names_a_resource: bool,
) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    params = operation.get("parameters", [])
    headers = {p["name"].lower() for p in params if p.get("in") == "header"}
    statuses = {"400"}
    if path.startswith("/api/"):
        statuses.add("503")
    if operation.get("security"):
        # Marked by http/docs.py on every route that needs a session; 403 where the route
        # needs a role (an administrator) the caller lacks.
        statuses |= {"401", "403", "429"}
    if names_a_resource:
        statuses.add("404")
    if "requestBody" in operation:
        statuses |= {"413", "422"}
    if method in _WRITES and path.startswith("/api/"):
        statuses.add("409")
    if "if-match" in headers:
        statuses.add("412")
    if any(p.get("in") in ("query", "path", "header") for p in params):
        statuses.add("422")
    for status in statuses:
        responses.setdefault(status, {})
    if "if-none-match" in headers and method == "get":
        responses.setdefault("304", {"description": DESCRIPTIONS["304"]})

    for status, response in responses.items():
        if status[:1] in ("4", "5"):
            content = response.get("content", {}).get("application/json", {})
            schema = content.get("schema") if content else None
            if not schema or schema.get("$ref", "").endswith("/HTTPValidationError"):
                filled = _error(status, response.get("description"))
                if response.get("description") in (None, "Validation Error"):
                    filled["description"] = DESCRIPTIONS.get(status, "Error")
                response.update(filled)
        if status == "400":
            # The HTTP server itself refuses a request it cannot parse, in plain text.
            response["content"].setdefault("text/plain", {"schema": {"type": "string"}})
        elif status[:1] == "2" and path.startswith("/api/"):
            json_content = response.get("content", {}).get("application/json")
            if json_content is not None and not json_content.get("schema"):
                json_content["schema"] = _SUCCESS_REF


# --- what a route declares itself -------------------------------------------------------------


def raw_body(*media_types: str, description: str = "The file") -> dict[int | str, Any]:
    """`responses=` of a route that answers bytes (use with `response_class=Response`)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": description, "content": dict.fromkeys(media_types, binary)}}


def file_response(
    media_type: str, description: str, *, errors: tuple[int, ...] = ()
) -> dict[str, Any]:
    """`response_class=` and `responses=` of a route that answers a file's bytes, for
    `@router.get(path, summary=..., **file_response(...))`."""
    return {
        "response_class": Response,
        "responses": {**raw_body(media_type, description=description), **also(*errors)},
    }


def also(*statuses: int) -> dict[int | str, Any]:
    """`responses=` for statuses the rules cannot know (a 403 of an admin route, a 415 of a
    file kind): described here, the envelope filled in by `complete_responses`."""
    return {status: {"description": DESCRIPTIONS.get(str(status), "Error")} for status in statuses}


def envelope(name: str, model: Any, **more: Any) -> type[BaseModel]:
    """The documented success body `{"success": true, "<name>": <model>, ...more}`, for
    `response_model=` of a route that returns its JSON itself (FastAPI documents it and
    leaves the response untouched)."""
    fields: dict[str, Any] = {"success": (Literal[True], ...), name: (model, ...)}
    fields |= {key: (kind, ...) for key, kind in more.items()}
    title = "".join(part.capitalize() for part in name.split("_")) + "Envelope"
    return create_model(title, __base__=ApiModel, **fields)


class SuccessOnly(ApiModel):
    """`{"success": true}`: a write with nothing more to say (a delete)."""

    success: Literal[True]


def with_success(model: type[BaseModel]) -> type[BaseModel]:
    """`model`'s fields beside `"success": true`: the body of a route that answers
    `{"success": true, **page}`."""
    return create_model(f"{model.__name__}Envelope", __base__=model, success=(Literal[True], ...))
