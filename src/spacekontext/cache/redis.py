"""Redis cache (through the lean client of cache/resp.py). Shared by every API process, so a
generation replaced by one process is seen by all of them on their next read.

Connection problems become `CacheUnavailable`. After a failure the backend stops calling Redis
for `retry_after_s` (a small circuit breaker): with Redis gone, each request would otherwise pay
a connect attempt (a full timeout when packets are dropped rather than refused)."""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from spacekontext.cache import readahead
from spacekontext.cache.base import CacheUnavailable
from spacekontext.cache.resp import RespClient

T = TypeVar("T")

# Errors that mean "Redis is not there" (refused, reset, timed out), as opposed to bugs (a
# wrong type, a bad command: `RespError`).
UNREACHABLE = (OSError,)


def redis_client(url: str, *, timeout_s: float = 0.25) -> RespClient:
    # Short timeouts: the cache is an optimisation, a slow Redis must not slow every request.
    return RespClient.from_url(url, timeout_s=timeout_s)


class CircuitBreaker:
    """Open for `retry_after_s` after a failure, a timeout included (a hung Redis is as down
    as a dead one); while open, calls fail at once. Then one call probes (half-open) while
    the others keep failing at once: a Redis that still hangs costs one timeout per period,
    not one per request."""

    def __init__(self, retry_after_s: float = 1.0) -> None:
        self.retry_after_s = retry_after_s
        self._open_until = 0.0
        self._tripped = False
        self._probing = False

    @property
    def is_open(self) -> bool:
        return self._probing or time.monotonic() < self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + self.retry_after_s
        self._tripped = True

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        if self.is_open:
            raise CacheUnavailable("redis marked down (circuit open)")
        probe = self._tripped
        self._probing = probe
        try:
            result = await operation()
        except UNREACHABLE as exc:
            self.trip()
            raise CacheUnavailable(f"redis unreachable: {type(exc).__name__}: {exc}") from exc
        finally:
            if probe:
                self._probing = False
        self._tripped = False
        return result


_breakers: weakref.WeakKeyDictionary[RespClient, CircuitBreaker] = weakref.WeakKeyDictionary()


def breaker_of(client: RespClient) -> CircuitBreaker:
    """The one breaker of a Redis client: the cache, the rate limits, the read-ahead and the
    read-your-writes positions share a connection, so a timeout in any opens it for all."""
    breaker = _breakers.get(client)
    if breaker is None:
        breaker = _breakers[client] = CircuitBreaker()
    return breaker


class RedisCache:
    backend = "redis"

    def __init__(
        self,
        client: RespClient,
        *,
        prefix: str = "",
        breaker: CircuitBreaker | None = None,
        owns_client: bool = True,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._breaker = breaker or breaker_of(client)
        self._owns_client = owns_client

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "") -> RedisCache:
        return cls(redis_client(url), prefix=prefix)

    @property
    def client(self) -> RespClient:
        return self._redis

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    def full_key(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> bytes | None:
        return await self._breaker.call(lambda: self._redis.get(self.full_key(key)))

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        # Read ahead in this request (cache/readahead.py): taken once, all or nothing.
        found = readahead.take_all(keys)
        if found is not None:
            return found
        full = [self.full_key(key) for key in keys]
        return await self._breaker.call(lambda: self._redis.mget(full))

    async def set(self, key: str, value: bytes, *, ttl_s: int) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        readahead.forget()
        await self._breaker.call(lambda: self._redis.set(self.full_key(key), value, ex=ttl_s))

    async def delete(self, key: str) -> None:
        readahead.forget()
        await self._breaker.call(lambda: self._redis.delete(self.full_key(key)))

    async def incr(self, key: str) -> int:
        readahead.forget()
        return await self._breaker.call(lambda: self._redis.incr(self.full_key(key)))

    async def get_int(self, key: str) -> int:
        value = await self.get(key)
        return int(value) if value is not None else 0

    async def aclose(self) -> None:
        if self._owns_client:
            await self._redis.aclose()
