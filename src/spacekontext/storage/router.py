"""The local backend's signed URLs, served by the app. No bearer token here: the signature is
the credential, exactly as with an S3 presigned URL."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.requests import ClientDisconnect

from spacekontext.auth.deps import ServicesDep
from spacekontext.errors import Invalid, NotFound
from spacekontext.http.immutable import IMMUTABLE_PRIVATE, client_has, not_modified, strong_etag
from spacekontext.http.openapi import also, raw_body
from spacekontext.http.responses import JSONBytes
from spacekontext.storage.base import upload_too_large
from spacekontext.storage.local import LocalObjectStore

router = APIRouter(prefix="/api/storage/local", tags=["storage"])


def _local_store(services: ServicesDep) -> LocalObjectStore:
    store = services.files.store
    if not isinstance(store, LocalObjectStore):
        raise NotFound("not found")
    return store


@router.get(
    "/{key:path}",
    summary="Download through a signed URL (local backend)",
    response_class=StreamingResponse,
    responses={**raw_body("application/octet-stream", "*/*"), **also(403)},
)
async def signed_get(key: str, request: Request, services: ServicesDep) -> Response:
    store = _local_store(services)
    params = store.verify("GET", key, dict(request.query_params))
    # An object is written once under its key (keys carry the file's own id), so the key is
    # its identity: a strong tag from it, a year in the browser's cache (private: a user's
    # file), and a copy the client holds confirmed without touching the disk or the database.
    etag = strong_etag("", hashlib.sha256(key.encode()).hexdigest())
    if client_has(request, etag):
        return not_modified(etag, IMMUTABLE_PRIVATE)
    info = await store.head(key)
    if info is None:
        raise NotFound("object not found")
    filename = params.get("filename") or key.rpartition("/")[2]
    headers = {
        "Content-Length": str(info.size_bytes),
        # Served from the API's own origin: never let an uploaded SVG or HTML run there.
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": IMMUTABLE_PRIVATE,
        "ETag": etag,
    }
    return StreamingResponse(
        store.iter_bytes(key),
        media_type=info.content_type or "application/octet-stream",
        headers=headers,
    )


@router.put(
    "/{key:path}", summary="Upload through a presigned URL (local backend)", responses=also(403)
)
async def signed_put(key: str, request: Request, services: ServicesDep) -> JSONBytes:
    store = _local_store(services)
    params = store.verify("PUT", key, dict(request.query_params))
    size = int(params.get("size", "0"))
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > size:
        raise upload_too_large(size)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in request.stream():
                if chunk:
                    yield chunk
        except ClientDisconnect as exc:
            raise Invalid("the upload was interrupted", code="upload_interrupted") from exc

    stored = await store.put_stream(
        key,
        body(),
        content_type=params.get("contentType", "application/octet-stream"),
        max_bytes=size,
    )
    return JSONBytes({"success": True, "sizeBytes": stored.size_bytes, "sha256": stored.sha256})
