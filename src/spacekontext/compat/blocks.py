"""GET /api/cad-blocks/dxf?url= — the web client fetches a dropped block's DXF through this
route (its `dxfUrl`, URL-encoded). It is never an open proxy:

* our own block URLs (`/api/cad-blocks/{slug}/dxf`, relative or on our public origin) are
  served from our object store, with no HTTP request at all;
* anything else must lie under CAD_BLOCKS_STORE_URL, compared as parsed parts — same scheme,
  same host (exactly: `<store-host>.evil.test` is another host), same port, a path under its
  prefix with no `..` segment, no credentials — and is fetched without following redirects,
  with a timeout and a size cap;
* everything else is a 400."""

from __future__ import annotations

import posixpath
import re
from typing import Annotated
from urllib.parse import SplitResult, unquote, urlsplit

from fastapi import APIRouter, Query
from starlette.responses import Response

from spacekontext.auth.deps import CurrentUser
from spacekontext.auth.session import origin_of
from spacekontext.compat.state import Compat, CompatDep
from spacekontext.errors import Invalid

router = APIRouter(tags=["cad-blocks"])

_OWN_BLOCK_PATH = re.compile(r"/api/cad-blocks/([a-z0-9][a-z0-9-]{0,99})/dxf")
MAX_URL_CHARS = 2048


def _invalid() -> Invalid:
    return Invalid("Invalid URL - must be from configured storage", code="url_not_allowed")


def own_block_slug(parts: SplitResult, public_origin: str | None) -> str | None:
    """The slug when `parts` is one of our block DXF URLs (relative, or on our origin)."""
    if parts.query or parts.fragment:
        return None
    if parts.scheme or parts.netloc:
        if public_origin is None or origin_of(parts.geturl()) != public_origin:
            return None
        if parts.username or parts.password:
            return None
    found = _OWN_BLOCK_PATH.fullmatch(parts.path)
    return found.group(1) if found else None


def under_store(parts: SplitResult, store_url: str) -> bool:
    """Whether `parts` lies under the configured store URL, part by part."""
    base = urlsplit(store_url)
    try:
        port, base_port = parts.port, base.port
    except ValueError:
        return False
    if parts.scheme.lower() != base.scheme.lower() or parts.scheme.lower() not in (
        "http",
        "https",
    ):
        return False
    if parts.username is not None or parts.password is not None:
        return False
    if (parts.hostname or "") != (base.hostname or "").lower() or not parts.hostname:
        return False
    if port != base_port:
        return False
    if parts.fragment:
        return False
    path = unquote(parts.path)
    if "\\" in path or any(segment in ("..", ".") for segment in path.split("/")):
        return False
    if posixpath.normpath(path) != path.rstrip("/") and path != "/":
        return False
    prefix = base.path if base.path.endswith("/") else base.path + "/"
    return path.startswith(prefix) and len(path) > len(prefix) and not path.endswith("/")


@router.get(
    "/api/cad-blocks/dxf",
    summary="A block's DXF by its URL (our blocks, or under CAD_BLOCKS_STORE_URL)",
)
async def block_dxf_by_url(
    user: CurrentUser,
    compat: CompatDep,
    url: Annotated[str | None, Query(max_length=MAX_URL_CHARS)] = None,
) -> Response:
    if not url:
        raise Invalid("URL parameter is required", code="url_required")
    data, cache = await _dxf_by_url(compat, user.id, url)
    return Response(data, media_type="text/plain", headers={"Cache-Control": cache})


async def _dxf_by_url(compat: Compat, user_id: str, url: str) -> tuple[bytes, str]:
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise _invalid() from exc
    settings = compat.settings
    public = origin_of(settings.public_base_url) if settings.public_base_url else None
    slug = own_block_slug(parts, public)
    if slug is not None:
        # Private blocks of their owner too; the library changes only under a new slug.
        return await compat.services.cadblocks.dxf(user_id, slug), "private, max-age=86400"
    store = settings.cad_blocks_store_url
    if not store or not under_store(parts, store):
        raise _invalid()
    upstream = compat.block_store
    response = await upstream.read_capped(
        parts.geturl(), max_bytes=settings.cad_block_dxf_max_bytes
    )
    if response.status_code != 200:
        raise upstream.failure(response, f"Failed to fetch DXF file: {response.status_code}")
    return response.content, "public, max-age=31536000, immutable"
