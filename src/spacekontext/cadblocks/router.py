from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError

from spacekontext.auth.deps import CurrentUser, ServicesDep, authenticate
from spacekontext.cadblocks.schemas import CadBlockUpload
from spacekontext.cadblocks.service import BlockFilter
from spacekontext.errors import Invalid, ValidationFailed
from spacekontext.http.immutable import ContentKind, serve_by_hash
from spacekontext.http.openapi import also, file_response
from spacekontext.http.responses import JSONBytes, success_json
from spacekontext.services import Services
from spacekontext.users.service import require_admin

router = APIRouter(prefix="/api/cad-blocks", tags=["cad-blocks"])

# Library objects change only when re-seeded or re-uploaded under a new slug: cache a day.
CACHE = "private, max-age=86400"
DXF_FILE = file_response("image/vnd.dxf", "DXF")
# Public blocks' thumbnails need no credentials (for <img>); private ones do.
SVG_FILE = file_response("image/svg+xml", "SVG", errors=(401,))


@router.get("", summary="The block library, ordered by category, subcategory, name")
async def list_blocks(
    user: CurrentUser,
    services: ServicesDep,
    category: Annotated[str | None, Query(max_length=64)] = None,
    subcategory: Annotated[str | None, Query(max_length=64)] = None,
    search: Annotated[str | None, Query(max_length=65_536)] = None,
) -> JSONBytes:
    return success_json(
        await services.cadblocks.list_json(user.id, BlockFilter(category, subcategory, search))
    )


def _dxf(slug: str) -> ContentKind:
    """A block's DXF, downloaded as <slug>.dxf."""

    def headers(etag: str, cache_control: str) -> dict[str, str]:
        return {
            "Content-Disposition": f'attachment; filename="{slug}.dxf"',
            "Cache-Control": cache_control,
            "ETag": etag,
        }

    return ContentKind("image/vnd.dxf", headers, what="this block's DXF")


def _svg_headers(etag: str, cache_control: str) -> dict[str, str]:
    return {
        "Cache-Control": cache_control,
        "Content-Security-Policy": "default-src 'none'",
        "ETag": etag,
    }


THUMBNAIL = ContentKind("image/svg+xml", _svg_headers, what="this block's thumbnail")


@router.get("/{slug}/dxf", summary="A block as a DXF file", **DXF_FILE)
async def block_dxf(
    slug: str, request: Request, user: CurrentUser, services: ServicesDep
) -> Response:
    return _dxf(slug).answer(request, await services.cadblocks.dxf(user.id, slug), CACHE)


@router.get(
    "/{slug}/dxf/{sha256}",
    summary="A block's DXF by the SHA-256 of its bytes (the ETag of /dxf; cached for a year)",
    **DXF_FILE,
)
async def block_dxf_by_hash(
    slug: str, sha256: str, request: Request, services: ServicesDep
) -> Response:
    return await serve_by_hash(
        request, services, _dxf(slug), sha256, lambda user_id: services.cadblocks.dxf(user_id, slug)
    )


async def _thumbnail(slug: str, request: Request, services: Services) -> tuple[bytes, bool]:
    """A block's thumbnail and whether it is public content. A library thumbnail is public and
    an <img> sends no bearer token (nor, across origins, a cookie): public blocks need no
    session; private ones their owner's."""
    data = await services.cadblocks.public_thumbnail(slug)
    if data is not None:
        return data, True
    user = await authenticate(services, request.scope)
    return await services.cadblocks.thumbnail(user.id, slug), False


@router.get(
    "/{slug}/thumbnail.svg",
    summary="A block's SVG thumbnail (public blocks: no credentials needed, for <img>)",
    **SVG_FILE,
)
async def block_thumbnail(slug: str, request: Request, services: ServicesDep) -> Response:
    data, public = await _thumbnail(slug, request, services)
    return THUMBNAIL.answer(request, data, "public, max-age=86400" if public else CACHE)


@router.get(
    "/{slug}/thumbnail/{sha256}.svg",
    summary="A block's thumbnail by the SHA-256 of its bytes (cached for a year)",
    **SVG_FILE,
)
async def block_thumbnail_by_hash(
    slug: str, sha256: str, request: Request, services: ServicesDep
) -> Response:
    # A library thumbnail is public (an <img> sends no credentials); a private one is its
    # owner's.
    return await serve_by_hash(
        request,
        services,
        THUMBNAIL,
        sha256,
        lambda user_id: services.cadblocks.thumbnail(user_id, slug),
        public=lambda: services.cadblocks.public_thumbnail(slug),
    )


@router.post(
    "", status_code=201, summary="Add a block from a DXF (admins)", responses=also(403, 415)
)
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
