"""Redis cache (redis-py asyncio). Shared by every API process, so a generation replaced by one
process is seen by all of them on their next read.

Connection problems become `CacheUnavailable`. After a failure the backend stops calling Redis
for `retry_after_s` (a small circuit breaker): with Redis gone, each request would otherwise pay
a connect attempt (a full timeout when packets are dropped rather than refused)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar, cast

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from spacekontext.cache.base import CacheUnavailable

T = TypeVar("T")

# Errors that mean "Redis is not there", as opposed to bugs (wrong type, bad command).
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def redis_client(url: str, *, timeout_s: float = 0.5) -> aioredis.Redis:
    # Short timeouts: the cache is an optimisation, a slow Redis must not slow every request.
    client: aioredis.Redis = aioredis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        retry_on_timeout=False,
        health_check_interval=0,
    )
    return client


class CircuitBreaker:
    """Open for `retry_after_s` after a failure; while open, calls fail at once."""

    def __init__(self, retry_after_s: float = 1.0) -> None:
        self.retry_after_s = retry_after_s
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        if self.is_open:
            raise CacheUnavailable("redis marked down (circuit open)")
        try:
            return await operation()
        except UNREACHABLE as exc:
            self._open_until = time.monotonic() + self.retry_after_s
            raise CacheUnavailable(f"redis unreachable: {type(exc).__name__}: {exc}") from exc


class RedisCache:
    backend = "redis"

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = "",
        breaker: CircuitBreaker | None = None,
        owns_client: bool = True,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._breaker = breaker or CircuitBreaker()
        self._owns_client = owns_client

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "") -> RedisCache:
        return cls(redis_client(url), prefix=prefix)

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> bytes | None:
        # The client is built without decode_responses, so values come back as bytes.
        value = await self._breaker.call(lambda: self._redis.get(self._key(key)))
        return cast("bytes | None", value)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        full = [self._key(key) for key in keys]
        values = await self._breaker.call(lambda: self._redis.mget(full))
        return cast("list[bytes | None]", values)

    async def set(self, key: str, value: bytes, *, ttl_s: int) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        await self._breaker.call(lambda: self._redis.set(self._key(key), value, ex=ttl_s))

    async def delete(self, key: str) -> None:
        await self._breaker.call(lambda: self._redis.delete(self._key(key)))

    async def incr(self, key: str) -> int:
        value: int = await self._breaker.call(lambda: self._redis.incr(self._key(key)))
        return value

    async def get_int(self, key: str) -> int:
        value = await self.get(key)
        return int(value) if value is not None else 0

    async def aclose(self) -> None:
        if self._owns_client:
            await self._redis.aclose()
