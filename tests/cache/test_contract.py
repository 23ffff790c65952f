"""One contract, every backend: the in-process cache and Redis must behave alike."""

from __future__ import annotations

import asyncio
import time

import pytest

from spacekontext.cache.base import Cache, CacheUnavailable
from spacekontext.cache.memory import MemoryCache
from spacekontext.cache.redis import RedisCache
from tests.redisproc import free_port


async def test_missing_key_is_none(cache: Cache) -> None:
    assert await cache.get("nope") is None
    assert await cache.get_many(["nope", "nada"]) == [None, None]
    assert await cache.get_many([]) == []


async def test_set_get_overwrite_delete(cache: Cache) -> None:
    await cache.set("k", b"one", ttl_s=60)
    assert await cache.get("k") == b"one"
    await cache.set("k", b"two", ttl_s=60)
    assert await cache.get("k") == b"two"
    await cache.delete("k")
    assert await cache.get("k") is None
    await cache.delete("k")  # deleting a missing key is fine


async def test_bytes_round_trip_untouched(cache: Cache) -> None:
    every_byte = bytes(range(256)) * 4
    big = b"x" * (1024 * 1024)
    await cache.set("bin", every_byte, ttl_s=60)
    await cache.set("big", big, ttl_s=60)
    await cache.set("empty", b"", ttl_s=60)
    assert await cache.get_many(["bin", "missing", "big", "empty"]) == [
        every_byte,
        None,
        big,
        b"",
    ]


async def test_values_expire_after_their_ttl(cache: Cache) -> None:
    await cache.set("short", b"v", ttl_s=1)
    await cache.set("long", b"v", ttl_s=60)
    assert await cache.get("short") == b"v"
    await asyncio.sleep(1.2)
    assert await cache.get("short") is None
    assert await cache.get_many(["short", "long"]) == [None, b"v"]


async def test_ttl_must_be_positive(cache: Cache) -> None:
    with pytest.raises(ValueError):
        await cache.set("k", b"v", ttl_s=0)


async def test_incr_creates_at_one_and_counts(cache: Cache) -> None:
    assert await cache.get_int("counter") == 0
    assert await cache.incr("counter") == 1
    assert await cache.incr("counter") == 2
    assert await cache.get_int("counter") == 2


async def test_concurrent_incr_loses_no_update(cache: Cache) -> None:
    results = await asyncio.gather(*(cache.incr("racy") for _ in range(100)))
    assert sorted(results) == list(range(1, 101))
    assert await cache.get_int("racy") == 100


async def test_memory_cache_is_lru_bounded() -> None:
    cache = MemoryCache(3)
    for key in ("a", "b", "c"):
        await cache.set(key, key.encode(), ttl_s=60)
    assert await cache.get("a") == b"a"  # a is now the most recently used
    await cache.set("d", b"d", ttl_s=60)
    assert len(cache) == 3
    assert await cache.get_many(["a", "b", "c", "d"]) == [b"a", None, b"c", b"d"]


async def test_memory_cache_expiry_uses_its_clock() -> None:
    now = [1000.0]
    cache = MemoryCache(10, clock=lambda: now[0])
    await cache.set("k", b"v", ttl_s=5)
    now[0] += 4.9
    assert await cache.get("k") == b"v"
    now[0] += 0.2
    assert await cache.get("k") is None
    assert len(cache) == 0


async def test_unreachable_redis_raises_cache_unavailable_fast() -> None:
    cache = RedisCache.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        started = time.monotonic()
        with pytest.raises(CacheUnavailable):
            await cache.get("k")
        # The breaker is now open: further calls fail without touching the network.
        for _ in range(100):
            with pytest.raises(CacheUnavailable, match="circuit open"):
                await cache.get_many(["k"])
        assert time.monotonic() - started < 1.0
    finally:
        await cache.aclose()
