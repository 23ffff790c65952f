from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.requests import ClientDisconnect

from spacekontext.auth.deps import CurrentUser, ServicesDep
from spacekontext.errors import Invalid
from spacekontext.files.form import open_upload_form
from spacekontext.files.schemas import FilePage, FilePresign, ProjectFileCreate
from spacekontext.files.service import UPLOAD_FIELDS
from spacekontext.http.errors import client_message
from spacekontext.http.openapi import also, with_success
from spacekontext.http.pages import PageOffset
from spacekontext.http.responses import JSONBytes
from spacekontext.services import Services
from spacekontext.storage.base import upload_body_limit, upload_too_large

router = APIRouter(tags=["files"])


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True)


async def _body(request: Request, max_file: int) -> AsyncIterator[bytes]:
    limit = upload_body_limit(max_file)
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise upload_too_large(max_file)
            if chunk:
                yield chunk
    except ClientDisconnect as exc:
        raise Invalid("the upload was interrupted", code="upload_interrupted") from exc


@router.post(
    "/api/files/upload",
    status_code=201,
    summary="Upload a file (streamed)",
    responses=also(413, 415),
)
async def upload_file(request: Request, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    max_file = services.settings.max_upload_bytes
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > upload_body_limit(max_file):
        # Known too large before a byte is read.
        raise upload_too_large(max_file)
    async with open_upload_form(
        _body(request, max_file),
        request.headers.get("content-type", ""),
        required=UPLOAD_FIELDS,
        max_file_bytes=max_file,
        check_filename=services.files.check_upload_name,
    ) as form:
        uploaded = await services.files.upload(user.id, form)
    return JSONBytes(
        {"success": True, "url": uploaded.url, "file": _dump(uploaded.file)}, status_code=201
    )


@router.post(
    "/api/files/presign", status_code=201, summary="Start a direct upload", responses=also(415)
)
async def presign_upload(body: FilePresign, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    presigned = await services.files.presign(user.id, body)
    return JSONBytes({"success": True, **_dump(presigned)}, status_code=201)


@router.post("/api/files/{file_id}/complete", summary="Finish a direct upload", responses=also(415))
async def complete_upload(file_id: str, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    uploaded = await services.files.complete(user.id, file_id)
    return JSONBytes({"success": True, "url": uploaded.url, "file": _dump(uploaded.file)})


@router.get("/api/files", summary="List own files", response_model=with_success(FilePage))
async def list_files(
    user: CurrentUser,
    services: ServicesDep,
    category: Annotated[str | None, Query(max_length=64)] = None,
    project_id: Annotated[str | None, Query(alias="projectId", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: PageOffset = 0,
) -> JSONBytes:
    page = await services.files.list(
        user.id, category=category, project_id=project_id, limit=limit, offset=offset
    )
    return JSONBytes({"success": True, **_dump(page)})


@router.get("/api/projects/{project_id}/files", summary="List a project's files")
async def list_project_files(
    project_id: str,
    user: CurrentUser,
    services: ServicesDep,
    category: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: PageOffset = 0,
) -> JSONBytes:
    """Its uploads and the files registered with it by URL, newest first; every item carries
    the web client's keys (`name, type, category, url, size, uploadedAt`) and `source`."""
    page = await services.files.project_files(
        user.id, project_id, category=category, limit=limit, offset=offset
    )
    return JSONBytes({"success": True, **_dump(page)})


@router.post(
    "/api/projects/{project_id}/files",
    status_code=201,
    summary="Register a file with a project by URL",
    openapi_extra=client_message("Invalid data"),
)
async def register_project_file(
    project_id: str, body: ProjectFileCreate, user: CurrentUser, services: ServicesDep
) -> JSONBytes:
    file = await services.files.register_project_file(user.id, project_id, body)
    return JSONBytes({"success": True, "file": _dump(file)}, status_code=201)


@router.delete("/api/projects/{project_id}/files/{file_id}", summary="Remove a file from a project")
async def delete_project_file(
    project_id: str, file_id: str, user: CurrentUser, services: ServicesDep
) -> JSONBytes:
    await services.files.delete_project_file(user.id, project_id, file_id)
    return JSONBytes({"success": True})


@router.get(
    "/api/files/{file_id}",
    summary="The file's bytes; its metadata and a signed URL with Accept: application/json",
)
async def get_file(
    file_id: str,
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
    redirect: Annotated[bool, Query()] = False,
) -> Response:
    """The web client loads a file from here (`<img>`, GLTFLoader, a blob): the bytes, inline.
    An API client that asks for JSON gets the metadata and a signed download URL, as does
    everyone for a file whose upload has not completed (it has no bytes yet)."""
    if redirect or _wants_json(request.headers.get("accept", "")):
        return await _file_json(services, user.id, file_id, redirect=redirect)
    found = await services.files.content(user.id, file_id)
    if found is None:
        return await _file_json(services, user.id, file_id, redirect=False)
    file, info, chunks = found
    return StreamingResponse(
        chunks,
        media_type=file.mime_type,
        headers={
            "Content-Length": str(info.size_bytes),
            "Content-Disposition": inline_disposition(file.safe_name, file.original_name),
            "Cache-Control": "private, max-age=3600",
            # Served from the API's origin: an uploaded SVG must not run script here.
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        },
    )


def _wants_json(accept: str) -> bool:
    return any(
        part.split(";", 1)[0].strip().lower() == "application/json" for part in accept.split(",")
    )


async def _file_json(services: Services, user_id: str, file_id: str, *, redirect: bool) -> Response:
    file, url = await services.files.get(user_id, file_id)
    if redirect:
        if url is None:
            raise Invalid("the file is not ready yet", code="file_not_ready")
        return RedirectResponse(url, status_code=302)
    return JSONBytes({"success": True, "url": url, "file": _dump(file)})


def inline_disposition(ascii_name: str, original_name: str) -> str:
    """`inline` with the name escaped: a plain ASCII `filename` (quotes, backslashes and
    controls removed) and the original as RFC 5987 `filename*`."""
    plain = "".join(ch for ch in ascii_name if 32 <= ord(ch) < 127 and ch not in '"\\')
    encoded = quote(original_name, safe="")
    return f"inline; filename=\"{plain or 'file'}\"; filename*=UTF-8''{encoded}"


@router.delete("/api/files/{file_id}", summary="Delete a file and its object")
async def delete_file(file_id: str, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    await services.files.delete(user.id, file_id)
    return JSONBytes({"success": True})
