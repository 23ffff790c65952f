"""Token buckets: the in-process one against a controlled clock, the Redis one (Lua, Redis'
clock) against a real server."""

from __future__ import annotations

import asyncio

import pytest

from spacekontext.cache.resp import RespClient
from spacekontext.ratelimit.buckets import Limit, MemoryBuckets, RedisBuckets, retry_after_header
from spacekontext.ratelimit.limiter import LimitClass, limit_class_for


def test_memory_bucket_refills_at_its_rate() -> None:
    now = [100.0]
    buckets = MemoryBuckets(clock=lambda: now[0])
    limit = Limit(rate_per_s=1.0, burst=3)
    assert [buckets.take_now("u", limit).allowed for _ in range(3)] == [True] * 3
    refused = buckets.take_now("u", limit)
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(1.0)
    now[0] += 0.5
    assert buckets.take_now("u", limit).retry_after_s == pytest.approx(0.5)
    now[0] += 0.5
    assert buckets.take_now("u", limit).allowed
    assert not buckets.take_now("u", limit).allowed
    now[0] += 100  # idle for long: back to a full burst, not more
    assert [buckets.take_now("u", limit).allowed for _ in range(4)] == [True] * 3 + [False]


def test_memory_buckets_are_per_key_and_bounded() -> None:
    now = [0.0]
    buckets = MemoryBuckets(max_keys=2, clock=lambda: now[0])
    limit = Limit(rate_per_s=0.001, burst=1)
    assert buckets.take_now("a", limit).allowed
    assert buckets.take_now("b", limit).allowed
    assert not buckets.take_now("a", limit).allowed
    assert buckets.take_now("c", limit).allowed  # evicts b, the least recently used
    assert not buckets.take_now("a", limit).allowed


@pytest.mark.parametrize(
    ("wait_s", "header"), [(0.0001, "1"), (0.5, "1"), (1.0, "1"), (1.01, "2"), (9.99, "10")]
)
def test_retry_after_is_whole_seconds_rounded_up(wait_s: float, header: str) -> None:
    assert retry_after_header(wait_s) == header


def test_request_classes() -> None:
    assert limit_class_for("GET", "/api/projects") is LimitClass.READ
    assert limit_class_for("HEAD", "/api/files/upload") is LimitClass.READ
    assert limit_class_for("POST", "/api/projects") is LimitClass.WRITE
    assert limit_class_for("DELETE", "/api/projects/x") is LimitClass.WRITE
    assert limit_class_for("POST", "/api/files/upload") is LimitClass.UPLOAD
    assert limit_class_for("POST", "/api/files/presign") is LimitClass.UPLOAD


async def test_redis_bucket_limits_and_says_when_to_retry(redis_url: str, key_prefix: str) -> None:
    client = RespClient.from_url(redis_url)
    try:
        buckets = RedisBuckets(client, prefix=key_prefix)
        limit = Limit(rate_per_s=0.1, burst=2)
        assert (await buckets.take("u", limit)).allowed
        second = await buckets.take("u", limit)
        assert second.allowed
        assert second.remaining == 0
        refused = await buckets.take("u", limit)
        assert not refused.allowed
        # One token takes 10 s at 0.1/s; a few ms of refill have passed since the last take.
        assert 9.5 < refused.retry_after_s <= 10.0
        assert retry_after_header(refused.retry_after_s) == "10"
        assert (await buckets.take("other", limit)).allowed
        ttl_ms = await client.execute("PTTL", key_prefix + "u")
        assert 0 < ttl_ms <= 21_000  # gone once it would have refilled anyway
    finally:
        await client.aclose()


async def test_redis_bucket_is_atomic_under_concurrency(redis_url: str, key_prefix: str) -> None:
    clients = [RespClient.from_url(redis_url) for _ in range(4)]
    try:
        stores = [RedisBuckets(client, prefix=key_prefix) for client in clients]
        limit = Limit(rate_per_s=0.01, burst=10)
        decisions = await asyncio.gather(*(stores[i % 4].take("shared", limit) for i in range(60)))
        assert sum(d.allowed for d in decisions) == 10
    finally:
        for client in clients:
            await client.aclose()


async def test_redis_bucket_refills(redis_url: str, key_prefix: str) -> None:
    client = RespClient.from_url(redis_url)
    try:
        buckets = RedisBuckets(client, prefix=key_prefix)
        limit = Limit(rate_per_s=10.0, burst=1)
        assert (await buckets.take("u", limit)).allowed
        refused = await buckets.take("u", limit)
        assert not refused.allowed
        assert 0 < refused.retry_after_s <= 0.1
        await asyncio.sleep(refused.retry_after_s + 0.02)
        assert (await buckets.take("u", limit)).allowed
    finally:
        await client.aclose()
