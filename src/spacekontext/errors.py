"""The domain error tree. Services raise these; `http/errors.py:install_error_handlers` is the
only place that turns them into HTTP responses.

    DomainError
    ├── Invalid              the request is well-formed but its content is wrong (400)
    │   └── ValidationFailed   field-level problems, with details (422)
    ├── Unauthenticated      no or bad credentials (401)
    ├── Forbidden            authenticated but not allowed; only where existence is public (403)
    ├── NotFound             missing, or someone else's (404: never leak existence)
    ├── Conflict             unique clash or state conflict (409)
    ├── PreconditionFailed   stale If-Match (412)
    ├── TooLarge             body, document or upload over its limit (413)
    ├── UnsupportedMedia     file kind not accepted (415)
    ├── Unprocessable        a file that cannot be read (corrupt DXF...) (422)
    ├── RateLimited          too many requests (429, Retry-After)
    ├── Unavailable          a dependency is down or saturated (503, Retry-After)
    ├── UpstreamFailed       an upstream service answered with an error (502)
    └── UpstreamTimeout      an upstream service did not answer in time (504)
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """`extra`: keys beside the envelope's, where a client reads them at the top level
        (the web client's `requiresAuth`)."""
        super().__init__(message)
        self.message = message
        self.error_code = code or self.code
        self.details = details
        self.headers = headers or {}
        self.extra = extra or {}


class Invalid(DomainError):
    code = "invalid"
    status = 400


class ValidationFailed(Invalid):
    code = "validation_error"
    status = 422


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class PreconditionFailed(DomainError):
    code = "precondition_failed"
    status = 412


class TooLarge(DomainError):
    code = "too_large"
    status = 413


class UnsupportedMedia(DomainError):
    code = "unsupported_media_type"
    status = 415


class Unprocessable(DomainError):
    code = "unprocessable"
    status = 422


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429


class Unavailable(DomainError):
    code = "unavailable"
    status = 503


class UpstreamFailed(DomainError):
    code = "upstream_failed"
    status = 502


class UpstreamTimeout(DomainError):
    code = "upstream_timeout"
    status = 504
