"""Content-addressed answers, ready for a CDN or a browser cache.

A URL that carries the hash of what it serves (a floorplan preview by the plan's content hash,
a block's DXF or thumbnail by the SHA-256 of its bytes) always serves the same bytes, so it is
cached for a year and marked `immutable` (RFC 8246): no revalidation while fresh. `public` where
the content is anyone's (a public library block), `private` where it is a user's, so that a
shared cache (a CDN) keeps it only when it may show it to everyone.

The entity tag is strong (the hash itself) and a conditional GET that names it is answered 304
straight from the URL: the session credential is verified (a signature check, remembered per
token), but nothing is read from the database or the object store."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from spacekontext.auth.deps import authenticate
from spacekontext.documents import etag_matches
from spacekontext.errors import NotFound
from spacekontext.services import Services

ONE_YEAR_S = 31_536_000
IMMUTABLE_PUBLIC = f"public, max-age={ONE_YEAR_S}, immutable"
IMMUTABLE_PRIVATE = f"private, max-age={ONE_YEAR_S}, immutable"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: str) -> bool:
    return _SHA256_HEX.fullmatch(value) is not None


def no_such_content() -> NotFound:
    return NotFound("no content with this hash")


def strong_etag(prefix: str, digest: str) -> str:
    return f'"{prefix}{digest}"'


def client_has(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    return header is not None and etag_matches(header, etag)


async def verify_caller(services: Services, request: Request) -> None:
    """The session credential checked (401 without a valid one) without resolving the user:
    enough to answer 304 to a caller who already holds the content."""
    credential = services.sessions.credential(request.scope)
    await services.verifier.verify(credential.token)


def not_modified(etag: str, cache_control: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": cache_control})


@dataclass(frozen=True, slots=True)
class ContentKind:
    """What the answers of one kind of content (a block's DXF, a plan's preview) share: the
    media type, the answer's headers (`headers(etag, cache_control)`) and the prefix of its
    entity tags. `what` names the content ("this block's DXF") where the digest in its URL is
    the SHA-256 of its bytes, checked once they are loaded; without it the digest names
    something else (a preview is named by its plan's content hash) and the loader checks it."""

    media_type: str
    headers: Callable[[str, str], dict[str, str]]
    etag_prefix: str = ""
    what: str | None = None

    def response(self, data: bytes | str, etag: str, cache_control: str) -> Response:
        return Response(data, media_type=self.media_type, headers=self.headers(etag, cache_control))

    def answer(self, request: Request, data: bytes, cache_control: str) -> Response:
        """`data` under a strong ETag, the SHA-256 of the bytes (also the digest that names
        them at their immutable URL); 304 where the client already holds them."""
        etag = strong_etag(self.etag_prefix, hashlib.sha256(data).hexdigest())
        if client_has(request, etag):
            return not_modified(etag, cache_control)
        return self.response(data, etag, cache_control)


async def serve_by_hash(
    request: Request,
    services: Services,
    kind: ContentKind,
    digest: str,
    load: Callable[[str], Awaitable[bytes | str]],
    *,
    public: Callable[[], Awaitable[bytes | None]] | None = None,
) -> Response:
    """The answer of a URL that names its content of this `kind` by a SHA-256 `digest`.

    A caller who holds the content gets a 304 from the URL alone. Otherwise the content is
    loaded: `public()` first where it may be anyone's (then no session is needed, and a held
    copy is answered without one too), else `load(user_id)` for the authenticated caller."""
    etag = strong_etag(kind.etag_prefix, digest)
    if is_sha256(digest) and client_has(request, etag):
        if public is not None:
            # Whoever holds these bytes may keep them: public, or private and seen before.
            return not_modified(etag, IMMUTABLE_PUBLIC)
        await verify_caller(services, request)
        return not_modified(etag, IMMUTABLE_PRIVATE)
    data: bytes | str | None = await public() if public is not None else None
    cache_control = IMMUTABLE_PUBLIC
    if data is None:
        user = await authenticate(services, request.scope)
        if not is_sha256(digest):
            raise no_such_content()
        data = await load(user.id)
        cache_control = IMMUTABLE_PRIVATE
    if isinstance(data, str):
        data = data.encode()
    if kind.what is not None and hashlib.sha256(data).hexdigest() != digest:
        raise NotFound(f"{kind.what} has other content now", code="content_changed")
    return kind.response(data, etag, cache_control)
