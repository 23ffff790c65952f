"""Read-your-writes positions shared by every API process through Redis: the `WritePositions`
store (db/routing.py) used when `REDIS_URL` is set, handed to the read router by the service
container. It lives with the cache because it is a Redis client; the database layer knows only
the interface."""

from __future__ import annotations

import math

from spacekontext.cache import readahead
from spacekontext.cache.base import CacheUnavailable
from spacekontext.cache.metrics import ThrottledWarning
from spacekontext.cache.redis import breaker_of
from spacekontext.cache.resp import RespClient
from spacekontext.db.routing import UNREACHABLE_LSN, LocalPositions
from spacekontext.observability import metrics

# Positions are stored as fixed-width hex so that Lua compares them as strings (Lua numbers
# are doubles and would round positions above 2**53, such as UNREACHABLE_LSN).
_LSN_WIDTH = 17
# Keep the higher of the stored and the new position (two workers may record one user's
# concurrent writes out of order), and restart the TTL either way.
_RECORD_MAX = """
local current = redis.call('GET', KEYS[1])
if (not current) or current < ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


class RedisPositions:
    """Records shared by every API process through Redis: one short-TTL key per user who has
    written recently (`<prefix>rw:<user id>`), written after the commit, read with one GET
    before a read of that user is routed (only when a healthy replica could take it).

    Redis unreachable: the position is unknown, so the read goes to the primary (stale data
    is worse than primary load); a circuit breaker keeps an outage from costing a timeout per
    read. Every record is also kept in this process, so the writing worker stays exact even
    when the SET fails."""

    def __init__(
        self,
        client: RespClient,
        *,
        ttl_s: float,
        prefix: str = "",
        warning: ThrottledWarning | None = None,
    ) -> None:
        self.ttl_s = ttl_s
        self._redis = client
        self._prefix = prefix
        self._ttl_ms = max(1, math.ceil(ttl_s * 1000))
        self._breaker = breaker_of(client)
        self._warning = warning or ThrottledWarning()
        self._script = client.register_script(_RECORD_MAX)
        self.local = LocalPositions(ttl_s)

    @staticmethod
    def read_ahead_key(user_id: str) -> str:
        """The key without the deployment prefix, as the cache names its keys (read-ahead)."""
        return f"rw:{user_id}"

    def _key(self, user_id: str) -> str:
        return self._prefix + self.read_ahead_key(user_id)

    async def record(self, user_id: str, lsn: int) -> None:
        await self.local.record(user_id, lsn)
        value = f"{min(lsn, UNREACHABLE_LSN):0{_LSN_WIDTH}x}"
        try:
            await self._breaker.call(
                lambda: self._script(keys=[self._key(user_id)], args=[value, self._ttl_ms])
            )
        except CacheUnavailable as exc:
            self._warning.warn("read-your-writes position not shared (redis): %s", exc)

    async def get(self, user_id: str) -> int | None:
        local = self.local.peek(user_id)
        # Read ahead with the request's other Redis reads (cache/readahead.py). A write of
        # this request since then is in `local`, and the higher of the two wins below.
        found, raw = readahead.take(self.read_ahead_key(user_id))
        try:
            if not found:
                raw = await self._breaker.call(lambda: self._redis.get(self._key(user_id)))
        except CacheUnavailable as exc:
            self._warning.warn("read-your-writes positions unavailable (redis): %s", exc)
            metrics.DB_READ_ROUTING.labels("primary", "positions_unavailable").inc()
            return UNREACHABLE_LSN
        shared = None if raw is None else int(raw, 16)
        if shared is None:
            return local
        return shared if local is None else max(shared, local)

    def peek(self, user_id: str) -> int | None:
        return self.local.peek(user_id)

    def expire(self, now: float) -> None:
        self.local.expire(now)
