"""Block DXFs and thumbnails by the SHA-256 of their bytes: strong ETags on the plain routes,
a year of `immutable` caching on the hashed ones (public for a public block's thumbnail), and
304 without a database statement where the hash is in the URL."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import httpx

from spacekontext.services import Services

Auth = Callable[[str], dict[str, str]]
ANN = "ann@example.com"
SLUG = "bath-bathtub-1700"


async def test_blocks_are_served_by_content_hash(
    client: httpx.AsyncClient, auth: Auth, services: Services
) -> None:
    ann = auth(ANN)
    await services.cadblocks.seed()
    plain = await client.get(f"/api/cad-blocks/{SLUG}/dxf", headers=ann)
    digest = hashlib.sha256(plain.content).hexdigest()
    assert plain.headers["etag"] == f'"{digest}"'
    revalidated = await client.get(
        f"/api/cad-blocks/{SLUG}/dxf", headers={**ann, "If-None-Match": f'"{digest}"'}
    )
    assert revalidated.status_code == 304

    hashed = await client.get(f"/api/cad-blocks/{SLUG}/dxf/{digest}", headers=ann)
    assert hashed.status_code == 200 and hashed.content == plain.content
    assert hashed.headers["cache-control"] == "private, max-age=31536000, immutable"
    cached = await client.get(
        f"/api/cad-blocks/{SLUG}/dxf/{digest}", headers={**ann, "If-None-Match": f'"{digest}"'}
    )
    assert cached.status_code == 304
    assert 'desc="0 statements"' in cached.headers["server-timing"]
    stale = await client.get(f"/api/cad-blocks/{SLUG}/dxf/{'1' * 64}", headers=ann)
    assert stale.status_code == 404

    thumb = await client.get(f"/api/cad-blocks/{SLUG}/thumbnail.svg")
    thumb_digest = hashlib.sha256(thumb.content).hexdigest()
    public = await client.get(f"/api/cad-blocks/{SLUG}/thumbnail/{thumb_digest}.svg")
    assert public.status_code == 200 and public.content == thumb.content
    assert public.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert public.headers["etag"] == f'"{thumb_digest}"'
    again = await client.get(
        f"/api/cad-blocks/{SLUG}/thumbnail/{thumb_digest}.svg",
        headers={"If-None-Match": f'"{thumb_digest}"'},
    )
    assert again.status_code == 304
    assert 'desc="0 statements"' in again.headers["server-timing"]
