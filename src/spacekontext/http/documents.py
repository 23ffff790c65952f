"""Responses for versioned documents: the ETag on every answer, 304 for a current
If-None-Match, and the stored JSON text embedded without a parse/re-encode round trip."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import Response

from spacekontext.documents import SavedDocument, StoredDocument, etag_for
from spacekontext.http.responses import JSONBytes


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def stored_response(
    name: str, stored: StoredDocument[Any], *, data_key: str, version: int | None = None
) -> JSONBytes:
    body = _dump(stored.meta) | {data_key: orjson.Fragment(stored.data_json)}
    for key, raw in stored.extra_json.items():
        body[key] = orjson.Fragment(raw) if raw is not None else None
    headers = {"ETag": etag_for(version)} if version is not None else None
    return JSONBytes({"success": True, name: body}, headers=headers)


def saved_response(
    name: str,
    saved: SavedDocument[Any],
    *,
    version: int,
    data_key: str,
    prefer: str | None,
    status_code: int = 200,
) -> JSONBytes:
    """Writes answer with metadata (the client has the document it sent); a client that wants
    the stored document back (e.g. after a merge patch) asks with `Prefer: return=representation`
    (RFC 7240)."""
    body = _dump(saved.meta)
    if prefer and "return=representation" in prefer.replace(" ", "").lower():
        body[data_key] = saved.data
    return JSONBytes(
        {"success": True, name: body, "changed": saved.changed},
        status_code=status_code,
        headers={"ETag": etag_for(version)},
    )


def not_modified_response(version: int) -> Response:
    return Response(status_code=304, headers={"ETag": etag_for(version)})
