from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError

from spacekontext.auth.deps import CurrentUser, ServicesDep, authenticate
from spacekontext.cadblocks.schemas import CadBlockUpload
from spacekontext.errors import Invalid, ValidationFailed
from spacekontext.http.responses import JSONBytes, success_json
from spacekontext.users.service import require_admin

router = APIRouter(prefix="/api/cad-blocks", tags=["cad-blocks"])

# Library objects change only when re-seeded or re-uploaded under a new slug: cache a day.
CACHE = "private, max-age=86400"


@router.get("", summary="The block library, ordered by category, subcategory, name")
async def list_blocks(
    user: CurrentUser,
    services: ServicesDep,
    category: Annotated[str | None, Query(max_length=64)] = None,
    subcategory: Annotated[str | None, Query(max_length=64)] = None,
    search: Annotated[str | None, Query(max_length=65_536)] = None,
) -> JSONBytes:
    return success_json(
        await services.cadblocks.list_json(
            user.id, category=category, subcategory=subcategory, search=search
        )
    )


@router.get("/{slug}/dxf", summary="A block as a DXF file")
async def block_dxf(slug: str, user: CurrentUser, services: ServicesDep) -> Response:
    data = await services.cadblocks.dxf(user.id, slug)
    return Response(
        data,
        media_type="image/vnd.dxf",
        headers={
            "Content-Disposition": f'attachment; filename="{slug}.dxf"',
            "Cache-Control": CACHE,
        },
    )


@router.get(
    "/{slug}/thumbnail.svg",
    summary="A block's SVG thumbnail (public blocks: no credentials needed, for <img>)",
)
async def block_thumbnail(slug: str, request: Request, services: ServicesDep) -> Response:
    # A library thumbnail is public content and an <img> sends no bearer token (nor, across
    # origins, a cookie): public blocks need no session; private ones their owner's.
    data = await services.cadblocks.public_thumbnail(slug)
    cache = "public, max-age=86400"
    if data is None:
        user = await authenticate(services, request.scope)
        data = await services.cadblocks.thumbnail(user.id, slug)
        cache = CACHE
    return Response(
        data,
        media_type="image/svg+xml",
        headers={"Cache-Control": cache, "Content-Security-Policy": "default-src 'none'"},
    )


@router.post("", status_code=201, summary="Add a block from a DXF (admins)")
async def upload_block(request: Request, user: CurrentUser, services: ServicesDep) -> JSONBytes:
    require_admin(user, services.settings, action="add library blocks")
    form = await request.form(max_files=1, max_fields=20)
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Invalid("a DXF file is required in the 'file' field", code="file_required")
        tags = form.get("tags")
        height = form.get("heightM")
        try:
            fields = CadBlockUpload.model_validate(
                {
                    "name": form.get("name"),
                    "category": form.get("category"),
                    "subcategory": form.get("subcategory") or None,
                    "description": form.get("description") or None,
                    "tags": [t for t in str(tags).split(",") if t.strip()] if tags else [],
                    "height_m": float(str(height)) if height else None,
                    "is_public": str(form.get("isPublic", "true")).lower() != "false",
                }
            )
        except (ValidationError, ValueError) as exc:
            details = exc.errors() if isinstance(exc, ValidationError) else str(exc)
            raise ValidationFailed("invalid block fields", details=details) from exc
        data = await upload.read()
    finally:
        await form.close()
    block = await services.cadblocks.upload(user.id, fields, data)
    return JSONBytes(
        {"success": True, "block": block.model_dump(mode="json", by_alias=True)}, status_code=201
    )
