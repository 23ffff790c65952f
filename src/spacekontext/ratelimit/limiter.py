"""Per-user rate limits by request class. Reads are cheap and frequent, writes touch the primary
and bump cache generations, uploads move megabytes: each class has its own bucket per user, with
stricter defaults for writes and uploads (settings `RATE_LIMIT_*`). Webhooks carry no user, so
they are limited per client IP."""

from __future__ import annotations

from enum import StrEnum

from spacekontext.cache.base import CacheUnavailable
from spacekontext.cache.metrics import RATE_LIMIT_ERRORS, RATE_LIMITED, ThrottledWarning
from spacekontext.errors import RateLimited
from spacekontext.ratelimit.buckets import (
    Buckets,
    Limit,
    MemoryBuckets,
    retry_after_header,
)
from spacekontext.settings import Settings

# Request paths whose POST is an upload (the streamed one and the direct-to-storage one).
UPLOAD_PATHS = ("/api/files/upload", "/api/files/presign")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LimitClass(StrEnum):
    READ = "read"
    WRITE = "write"
    UPLOAD = "upload"
    WEBHOOK = "webhook"


def limit_class_for(method: str, path: str) -> LimitClass:
    if method in _SAFE_METHODS:
        return LimitClass.READ
    if path.startswith(UPLOAD_PATHS):
        return LimitClass.UPLOAD
    return LimitClass.WRITE


def limits_from(settings: Settings) -> dict[LimitClass, Limit]:
    return {
        LimitClass.READ: Limit(settings.rate_limit_read_per_s, settings.rate_limit_read_burst),
        LimitClass.WRITE: Limit(settings.rate_limit_write_per_s, settings.rate_limit_write_burst),
        LimitClass.UPLOAD: Limit(
            settings.rate_limit_upload_per_s, settings.rate_limit_upload_burst
        ),
        LimitClass.WEBHOOK: Limit(
            settings.rate_limit_webhook_per_s, settings.rate_limit_webhook_burst
        ),
    }


def _bucket_key(subject: str, limit_class: LimitClass) -> str:
    return f"rl:{limit_class.value}:{subject}"


class RateLimiter:
    def __init__(
        self,
        limits: dict[LimitClass, Limit],
        *,
        shared: Buckets | None = None,
        enabled: bool = True,
        warning: ThrottledWarning | None = None,
    ) -> None:
        """`shared` is the Redis bucket store; without it (or while it is unreachable) the
        process limits on its own, which with N processes allows up to N times the rate."""
        self.limits = limits
        self.enabled = enabled
        self._shared = shared
        self._local = MemoryBuckets()
        self._warning = warning or ThrottledWarning()
        self._refused = {cls: RATE_LIMITED.labels(cls.value) for cls in LimitClass}

    def bucket_for(self, subject: str, limit_class: LimitClass) -> tuple[str, Limit] | None:
        """The shared bucket a `check` would take from (for reading ahead); None when the
        limits are off or kept in process."""
        if not self.enabled or self._shared is None:
            return None
        return _bucket_key(subject, limit_class), self.limits[limit_class]

    async def check(self, subject: str, limit_class: LimitClass) -> None:
        """Take a token for `subject` (a user id, or `ip:<address>`); raise RateLimited with
        `Retry-After` when the bucket is empty."""
        if not self.enabled:
            return
        limit = self.limits[limit_class]
        key = _bucket_key(subject, limit_class)
        if self._shared is None:
            decision = self._local.take_now(key, limit)
        else:
            try:
                decision = await self._shared.take(key, limit)
            except CacheUnavailable as exc:
                RATE_LIMIT_ERRORS.inc()
                self._warning.warn("rate limits fall back to per-process buckets: %s", exc)
                decision = self._local.take_now(key, limit)
        if not decision.allowed:
            self._refused[limit_class].inc()
            retry_after = retry_after_header(decision.retry_after_s)
            raise RateLimited(
                f"too many {limit_class.value} requests; retry in {retry_after} s",
                details={"limit": limit_class.value, "retryAfterS": int(retry_after)},
                headers={"Retry-After": retry_after},
            )
