"""Cache and rate-limit counters (Prometheus, default registry, so `/metrics` exposes them), and
the throttled warning used when Redis is unreachable."""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter

CACHE_LOOKUPS = Counter(
    "spacekontext_cache_lookups_total",
    "Cache-aside lookups by result: hit, miss, or bypass (cache unreachable, served from the "
    "database).",
    ["backend", "result"],
)
CACHE_COALESCED = Counter(
    "spacekontext_cache_coalesced_total",
    "Misses that waited for a load already running for the same key instead of running it.",
    ["backend"],
)
CACHE_ERRORS = Counter(
    "spacekontext_cache_errors_total",
    "Cache operations that failed because the backend was unreachable.",
    ["backend", "operation"],
)
RATE_LIMITED = Counter(
    "spacekontext_rate_limited_total",
    "Requests refused with 429, by limit class.",
    ["limit"],
)
RATE_LIMIT_ERRORS = Counter(
    "spacekontext_rate_limit_errors_total",
    "Rate-limit checks that fell back to in-process buckets because Redis was unreachable.",
)

log = logging.getLogger("spacekontext.cache")


class ThrottledWarning:
    """Logs a warning at most once per `interval_s`: an outage must show in the logs without
    flooding them with one line per request."""

    def __init__(self, interval_s: float = 60.0) -> None:
        self.interval_s = interval_s
        self._last = -float("inf")
        self.suppressed = 0

    def warn(self, message: str, *args: object) -> bool:
        now = time.monotonic()
        if now - self._last < self.interval_s:
            self.suppressed += 1
            return False
        self._last = now
        suppressed, self.suppressed = self.suppressed, 0
        log.warning(message + " (%d similar warnings suppressed)", *args, suppressed)
        return True
