"""Headers every response carries, added once in the edge layer (http/edge.py) so that every
route has them, the hot routes included.

- `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` and `Referrer-Policy: no-referrer`
  on everything: nothing here is meant to be framed, and URLs (signed ones included) must not
  leak to other sites through the Referer.
- A Content-Security-Policy on HTML pages (the API docs, the start page, the console) that
  do not set their own: scripts, styles and images from this origin only (inline ones too:
  Swagger UI and the console start with an inline script), no plugins, not framed.
- `Strict-Transport-Security` on responses served over HTTPS, when `HSTS_MAX_AGE_S` is set.
- `Cache-Control: no-store` on answers to authenticated API requests (a bearer token or the
  session cookie) unless the route set a Cache-Control of its own: a shared cache or the
  browser's disk must not keep one user's data."""

from __future__ import annotations

from collections.abc import Callable

HTML_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
    b"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def header_adder(hsts_max_age_s: int) -> Callable[[list[tuple[bytes, bytes]], bool, bool], None]:
    """`add(headers, https, authenticated_api)`: completes a response's headers in place."""
    hsts = f"max-age={hsts_max_age_s}; includeSubDomains".encode() if hsts_max_age_s else None

    def add(headers: list[tuple[bytes, bytes]], https: bool, authenticated_api: bool) -> None:
        present = {name.lower() for name, _ in headers}
        for name, value in _ALWAYS:
            if name not in present:
                headers.append((name, value))
        if hsts is not None and https:
            headers.append((b"strict-transport-security", hsts))
        if b"content-security-policy" not in present:
            content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
            if content_type.startswith(b"text/html"):
                headers.append((b"content-security-policy", HTML_CSP))
        if authenticated_api and b"cache-control" not in present:
            headers.append((b"cache-control", b"no-store"))

    return add


def carries_credentials(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"authorization" or (name == b"cookie" and b"__session" in value):
            return True
    return False
