"""Cache-aside semantics over both real backends: hits, generation bumps, races with writes,
single-flight, and errors that must not be cached."""

from __future__ import annotations

import asyncio

import pytest

from spacekontext.cache.aside import CacheAside, cache_key, owner_generation
from spacekontext.cache.base import Cache
from spacekontext.cache.memory import MemoryCache

GEN = owner_generation("projects", "u1")


class CountingLoader:
    def __init__(self, *values: bytes, delay_s: float = 0.0) -> None:
        self.values = list(values)
        self.calls = 0
        self.delay_s = delay_s
        self.started = asyncio.Event()

    async def __call__(self) -> bytes:
        self.calls += 1
        self.started.set()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return self.values[min(self.calls, len(self.values)) - 1]


async def test_second_read_is_a_hit(cache: Cache) -> None:
    aside = CacheAside(cache, ttl_s=60)
    load = CountingLoader(b'{"a":1}')
    assert await aside.cached_bytes("k", load, generation=GEN) == b'{"a":1}'
    assert await aside.cached_bytes("k", load, generation=GEN) == b'{"a":1}'
    assert load.calls == 1


async def test_bump_makes_every_key_of_the_owner_stale(cache: Cache) -> None:
    aside = CacheAside(cache, ttl_s=60)
    other = owner_generation("projects", "u2")
    first, second, theirs = (
        CountingLoader(b"1", b"1b"),
        CountingLoader(b"2", b"2b"),
        CountingLoader(b"x"),
    )
    await aside.cached_bytes("list", first, generation=GEN)
    await aside.cached_bytes("detail", second, generation=GEN)
    await aside.cached_bytes("theirs", theirs, generation=other)
    await aside.bump(GEN)
    assert await aside.cached_bytes("list", first, generation=GEN) == b"1b"
    assert await aside.cached_bytes("detail", second, generation=GEN) == b"2b"
    assert await aside.cached_bytes("theirs", theirs, generation=other) == b"x"
    assert (first.calls, second.calls, theirs.calls) == (2, 2, 1)


async def test_a_load_that_raced_a_write_is_not_served_afterwards(cache: Cache) -> None:
    """The reader takes the tag before loading; a write that commits and bumps meanwhile
    kills that tag, so the old rows it loaded are never served to a later request."""
    aside = CacheAside(cache, ttl_s=60)
    loading = asyncio.Event()
    release = asyncio.Event()

    async def slow_old_rows() -> bytes:
        loading.set()
        await release.wait()
        return b"old"

    reader = asyncio.create_task(aside.cached_bytes("k", slow_old_rows, generation=GEN))
    await loading.wait()
    await aside.bump(GEN)  # the writer's commit happened while the reader was loading
    release.set()
    assert await reader == b"old"  # began before the write: allowed to see the old rows
    fresh = CountingLoader(b"new")
    assert await aside.cached_bytes("k", fresh, generation=GEN) == b"new"
    assert fresh.calls == 1


async def test_concurrent_misses_run_the_loader_once(cache: Cache) -> None:
    aside = CacheAside(cache, ttl_s=60)
    load = CountingLoader(b"v", delay_s=0.05)
    results = await asyncio.gather(
        *(aside.cached_bytes("hot", load, generation=GEN) for _ in range(50))
    )
    assert results == [b"v"] * 50
    assert load.calls == 1


async def test_a_request_after_a_bump_does_not_join_the_older_load(cache: Cache) -> None:
    aside = CacheAside(cache, ttl_s=60)
    old = CountingLoader(b"old", delay_s=0.05)
    before = asyncio.create_task(aside.cached_bytes("k", old, generation=GEN))
    await old.started.wait()
    await aside.bump(GEN)
    new = CountingLoader(b"new")
    assert await aside.cached_bytes("k", new, generation=GEN) == b"new"
    assert await before == b"old"
    assert (old.calls, new.calls) == (1, 1)


async def test_loader_errors_reach_every_waiter_and_are_not_cached(cache: Cache) -> None:
    aside = CacheAside(cache, ttl_s=60)
    calls = 0

    async def failing() -> bytes:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        raise LookupError("not there")

    results = await asyncio.gather(
        *(aside.cached_bytes("k", failing, generation=GEN) for _ in range(5)),
        return_exceptions=True,
    )
    assert all(isinstance(result, LookupError) for result in results)
    assert calls == 1
    assert await aside.cached_bytes("k", CountingLoader(b"ok"), generation=GEN) == b"ok"


async def test_a_cancelled_request_does_not_cancel_the_shared_load(cache: Cache) -> None:
    aside = CacheAside(cache, ttl_s=60)
    load = CountingLoader(b"v", delay_s=0.05)
    load.delay_s = 0.2
    leader = asyncio.create_task(aside.cached_bytes("k", load, generation=GEN))
    await load.started.wait()
    follower = asyncio.create_task(aside.cached_bytes("k", load, generation=GEN))
    await asyncio.sleep(0.05)  # the follower's lookup is answered; it joins the running load
    leader.cancel()
    assert await follower == b"v"
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert load.calls == 1


async def test_a_lost_generation_costs_a_miss_never_a_stale_read(cache: Cache) -> None:
    aside = CacheAside(cache, ttl_s=60)
    await aside.cached_bytes("k", CountingLoader(b"v1"), generation=GEN)
    await cache.delete(GEN)  # evicted or expired
    fresh = CountingLoader(b"v2")
    assert await aside.cached_bytes("k", fresh, generation=GEN) == b"v2"
    assert fresh.calls == 1


async def test_lru_eviction_of_the_generation_does_not_resurrect_old_values() -> None:
    aside = CacheAside(MemoryCache(2), ttl_s=60)
    await aside.cached_bytes("k", CountingLoader(b"v1"), generation=GEN)
    await aside.bump(GEN)
    # Push the generation out (the value stays), then read: the new random tag cannot match.
    assert aside.cache is not None
    await aside.cache.get("k")
    await aside.cache.set("filler", b"", ttl_s=60)
    fresh = CountingLoader(b"v2")
    assert await aside.cached_bytes("k", fresh, generation=GEN) == b"v2"


async def test_cache_off_always_loads() -> None:
    aside = CacheAside(None)
    load = CountingLoader(b"v")
    for _ in range(3):
        assert await aside.cached_bytes("k", load, generation=GEN) == b"v"
    assert load.calls == 3
    await aside.bump(GEN)  # a no-op, not an error


def test_keys_are_short_and_unambiguous() -> None:
    assert cache_key("projects:list", "u1", 50, None) == "projects:list:u1:50:"
    long_cursor = "c" * 500
    hashed = cache_key("projects:list", "u1", 50, long_cursor)
    assert len(hashed) < 80
    assert hashed != cache_key("projects:list", "u1", 50, long_cursor + "x")
    # A part containing the separator cannot forge another key.
    assert cache_key("ns", "a:b") != cache_key("ns", "a", "b")
