from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.requests import ClientDisconnect

from spacekontext.auth.deps import CurrentUser, ServicesDep
from spacekontext.errors import Invalid, TooLarge
from spacekontext.files.form import open_upload_form
from spacekontext.files.schemas import FilePresign
from spacekontext.files.service import UPLOAD_FIELDS
from spacekontext.http.pages import PageOffset
from spacekontext.http.responses import JSONBytes

router = APIRouter(tags=["files"])

# Room for the multipart framing and the small fields around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True)


async def _body(request: Request, limit: int) -> AsyncIterator[bytes]:
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise TooLarge(
                    f"the upload exceeds {limit} bytes",
                    code="upload_too_large",
                    details={"limitBytes": limit},
                )
            if chunk:
                yield chunk
    except ClientDisconnect as exc:
        raise Invalid("the upload was interrupted", code="upload_interrupted") from exc


@router.post("/api/files/upload", status_code=201, summary="Upload a file (streamed)")
async def upload_file(request: Request, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    max_file = services.settings.max_upload_bytes
    limit = max_file + FORM_OVERHEAD_BYTES
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > limit:
        # Known too large before a byte is read.
        raise TooLarge(
            f"the upload exceeds {max_file} bytes",
            code="upload_too_large",
            details={"limitBytes": max_file},
        )
    async with open_upload_form(
        _body(request, limit),
        request.headers.get("content-type", ""),
        required=UPLOAD_FIELDS,
        max_file_bytes=max_file,
        check_filename=services.files.check_upload_name,
    ) as form:
        uploaded = await services.files.upload(user.id, form)
    return JSONBytes(
        {"success": True, "url": uploaded.url, "file": _dump(uploaded.file)}, status_code=201
    )


@router.post("/api/files/presign", status_code=201, summary="Start a direct upload")
async def presign_upload(body: FilePresign, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    presigned = await services.files.presign(user.id, body)
    return JSONBytes({"success": True, **_dump(presigned)}, status_code=201)


@router.post("/api/files/{file_id}/complete", summary="Finish a direct upload")
async def complete_upload(file_id: str, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    uploaded = await services.files.complete(user.id, file_id)
    return JSONBytes({"success": True, "url": uploaded.url, "file": _dump(uploaded.file)})


@router.get("/api/files", summary="List own files")
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
    page = await services.files.list(
        user.id, category=category, project_id=project_id, limit=limit, offset=offset
    )
    return JSONBytes({"success": True, **_dump(page)})


@router.get("/api/files/{file_id}", summary="File metadata and a signed download URL")
async def get_file(
    file_id: str,
    user: CurrentUser,
    services: ServicesDep,
    redirect: Annotated[bool, Query()] = False,
) -> Response:
    file, url = await services.files.get(user.id, file_id)
    if redirect:
        if url is None:
            raise Invalid("the file is not ready yet", code="file_not_ready")
        return RedirectResponse(url, status_code=302)
    return JSONBytes({"success": True, "url": url, "file": _dump(file)})


@router.delete("/api/files/{file_id}", summary="Delete a file and its object")
async def delete_file(file_id: str, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    await services.files.delete(user.id, file_id)
    return JSONBytes({"success": True})
