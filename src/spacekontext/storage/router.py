"""The local backend's signed URLs, served by the app. No bearer token here: the signature is
the credential, exactly as with an S3 presigned URL."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.requests import ClientDisconnect

from spacekontext.auth.deps import ServicesDep
from spacekontext.errors import Invalid, NotFound
from spacekontext.http.responses import JSONBytes
from spacekontext.storage.base import upload_too_large
from spacekontext.storage.local import LocalObjectStore

router = APIRouter(prefix="/api/storage/local", tags=["storage"])


def _local_store(services: ServicesDep) -> LocalObjectStore:
    store = services.files.store
    if not isinstance(store, LocalObjectStore):
        raise NotFound("not found")
    return store


@router.get("/{key:path}", summary="Download through a signed URL (local backend)")
async def signed_get(key: str, request: Request, services: ServicesDep) -> StreamingResponse:
    store = _local_store(services)
    params = store.verify("GET", key, dict(request.query_params))
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
        "Cache-Control": "private, max-age=0",
    }
    return StreamingResponse(
        store.iter_bytes(key),
        media_type=info.content_type or "application/octet-stream",
        headers=headers,
    )


@router.put("/{key:path}", summary="Upload through a presigned URL (local backend)")
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
