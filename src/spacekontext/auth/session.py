"""Where a request's session token comes from, and whether a cookie-carried one may write.

The web client calls relative `/api/...` paths and sends no `Authorization` header: its Clerk
session token travels in the `__session` cookie (or `__session_<suffix>`, the suffix derived
from the publishable key, when several Clerk apps share a domain). A bearer token, when
present, wins, as in Clerk's own SDKs; either way the token goes through the same verifier.

A cookie is sent by the browser on any request to our origin, including one a hostile page
makes it send, so a cookie-authenticated write must come from a page we trust: its `Origin`
(or, without one, its `Referer`) must be our own origin or one of the configured browser
origins (CORS_ORIGINS, TRUSTED_ORIGINS, PUBLIC_BASE_URL). A bearer token needs no such check:
another origin cannot attach it without passing our CORS allow-list.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import cookie_parser
from starlette.types import Scope

from spacekontext.errors import Forbidden, Unauthenticated

SESSION_COOKIE = "__session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def cookie_suffix(publishable_key: str) -> str:
    """Clerk's cookie suffix: the first 8 characters of the URL-safe base64 of the key's
    SHA-1."""
    digest = hashlib.sha1(publishable_key.encode(), usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:8]


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL (default port left out), None otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


@dataclass(frozen=True, slots=True)
class SessionCredential:
    token: str
    from_cookie: bool


@dataclass(slots=True)
class _Headers:
    authorization: str = ""
    cookie: str = ""
    origin: str = ""
    referer: str = ""
    host: str = ""


def _headers(scope: Scope) -> _Headers:
    found = _Headers()
    for name, value in scope["headers"]:
        if name == b"authorization":
            found.authorization = value.decode("latin-1")
        elif name == b"cookie":
            text = value.decode("latin-1")
            # HTTP/2 may split cookies over several headers.
            found.cookie = f"{found.cookie}; {text}" if found.cookie else text
        elif name == b"origin":
            found.origin = value.decode("latin-1")
        elif name == b"referer":
            found.referer = value.decode("latin-1")
        elif name == b"host":
            found.host = value.decode("latin-1")
    return found


def _missing() -> Unauthenticated:
    return Unauthenticated(
        "Unauthorized",
        code="missing_token",
        details={"accepted": ["Authorization: Bearer <token>", f"cookie {SESSION_COOKIE}"]},
        headers={"WWW-Authenticate": "Bearer"},
    )


class SessionPolicy:
    """Reads a request's session credential and guards cookie-authenticated writes."""

    def __init__(
        self, *, publishable_key: str | None = None, browser_origins: Iterable[str] = ()
    ) -> None:
        names = []
        if publishable_key:
            names.append(f"{SESSION_COOKIE}_{cookie_suffix(publishable_key)}")
        names.append(SESSION_COOKIE)
        self._cookie_names = tuple(names)
        self._suffix_known = publishable_key is not None
        self._origins = frozenset(browser_origins)

    def credential(self, scope: Scope) -> SessionCredential:
        """The request's session token; raises 401 (`missing_token`) without one and 403 for a
        cookie-authenticated write from an untrusted page."""
        headers = _headers(scope)
        if headers.authorization:
            scheme, _, bearer = headers.authorization.partition(" ")
            if scheme.lower() != "bearer" or not bearer.strip():
                raise _missing()
            return SessionCredential(bearer.strip(), from_cookie=False)
        cookie = self._cookie_token(headers.cookie) if headers.cookie else None
        if cookie is None:
            raise _missing()
        if scope["method"] in UNSAFE_METHODS:
            self._check_origin(scope, headers)
        return SessionCredential(cookie, from_cookie=True)

    def _cookie_token(self, header: str) -> str | None:
        cookies = cookie_parser(header)
        for name in self._cookie_names:
            token = cookies.get(name)
            if token:
                return token
        if not self._suffix_known:
            # Without the publishable key the suffix is unknown: a suffixed cookie is taken as
            # it comes (one of another app on the same domain fails verification: issuer).
            for name, token in cookies.items():
                if name.startswith(f"{SESSION_COOKIE}_") and token:
                    return token
        return None

    def _check_origin(self, scope: Scope, headers: _Headers) -> None:
        source = headers.origin or headers.referer
        if not source:
            raise Forbidden(
                "Forbidden: a cookie-authenticated write needs an Origin or Referer header",
                code="csrf_origin_missing",
            )
        origin = origin_of(source)
        if origin is not None and (
            origin in self._origins or origin == _own_origin(scope, headers)
        ):
            return
        raise Forbidden(
            "Forbidden: the request's origin is not trusted for cookie-authenticated writes",
            code="csrf_origin_untrusted",
            details={"origin": source[:200]},
        )


def _own_origin(scope: Scope, headers: _Headers) -> str | None:
    """The origin this request was addressed to (its scheme and Host header); behind a proxy,
    uvicorn's --proxy-headers makes the scheme the client's."""
    if not headers.host:
        return None
    scheme = scope.get("scheme", "http")
    return origin_of(f"{scheme}://{headers.host}")
