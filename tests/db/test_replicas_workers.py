"""Read-your-writes across API workers: two app instances (separate services and engines, one
primary, one replica, one Redis) stand for two `serve --workers` processes. A user writes
through one and reads through the other while the replica's replay is paused."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from spacekontext.cache.positions import RedisPositions
from spacekontext.cache.redis import redis_client
from spacekontext.ids import new_id
from tests.db import servers
from tests.db.conftest import names, replica_reads, user_id_of, wait_for

Auth = Callable[[str], dict[str, str]]

pytestmark = pytest.mark.slow


async def create(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> None:
    response = await client.post("/api/projects", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text


async def test_a_write_through_one_worker_is_read_back_through_another(
    replica: servers.Cluster,
    redis_url: str,
    replica_app: Callable[..., Any],
    auth: Auth,
) -> None:
    ann, bob = auth(f"ann-{new_id()}@example.com"), auth(f"bob-{new_id()}@example.com")
    config = {"redis_url": redis_url, "cache_key_prefix": f"rw{secrets.token_hex(3)}:"}
    async with replica_app(**config) as (a, a_services), replica_app(**config) as (b, b_services):
        ann_id = await user_id_of(a, ann)
        await user_id_of(a, bob)
        routers = [a_services.db.router, b_services.db.router]
        await wait_for(lambda: all(r.replicas[0].healthy for r in routers))
        # Both users' first writes replayed (A recorded them; B has no record of its own).
        await wait_for(lambda: routers[0].replayed_for(ann_id))

        with replica.replay_paused():
            before = replica_reads()
            for attempt in range(50):
                await create(a, ann, f"ann-{attempt}")
                # B never saw the write, yet routes Ann's read to the primary: 50 out of 50.
                assert f"ann-{attempt}" in await names(b, ann)
                # Bob has not written since the pause: his reads through B use the replica.
                assert await names(b, bob) == ["first"]
            assert replica_reads() - before >= 50
            assert b_services.db.router.replayed_for(ann_id)  # B holds no record of its own


async def test_without_redis_the_other_worker_reads_the_lagging_replica(
    replica: servers.Cluster, replica_app: Callable[..., Any], auth: Auth
) -> None:
    """The gap the shared positions close: in-process records only cover the worker that
    wrote (documented as one worker only)."""
    ann = auth(f"ann-{new_id()}@example.com")
    async with replica_app() as (a, a_services), replica_app() as (b, b_services):
        ann_id = await user_id_of(a, ann)
        routers = [a_services.db.router, b_services.db.router]
        await wait_for(lambda: all(r.replicas[0].healthy for r in routers))
        await wait_for(lambda: routers[0].replayed_for(ann_id))
        with replica.replay_paused():
            await create(a, ann, "unseen")
            assert "unseen" in await names(a, ann)  # the writing worker is exact
            assert "unseen" not in await names(b, ann)  # the other one is not


async def test_shared_positions_keep_the_highest_and_expire(redis_url: str) -> None:
    client = redis_client(redis_url)
    prefix = f"p{secrets.token_hex(3)}:"
    one, other = (RedisPositions(client, ttl_s=0.3, prefix=prefix) for _ in range(2))
    try:
        await one.record("u1", 0x2_0000_0000)
        await other.record("u1", 0x1_0000_0000)  # an earlier commit recorded late
        assert await RedisPositions(client, ttl_s=0.3, prefix=prefix).get("u1") == 0x2_0000_0000
        assert await other.get("u2") is None
        await asyncio.sleep(0.4)
        assert await RedisPositions(client, ttl_s=0.3, prefix=prefix).get("u1") is None
    finally:
        await client.aclose()


async def test_unreachable_redis_sends_the_reads_to_the_primary() -> None:
    client = redis_client(f"redis://127.0.0.1:{servers.free_port()}/0")
    positions = RedisPositions(client, ttl_s=5)
    try:
        await positions.record("u1", 42)  # logs a warning, does not raise
        assert await positions.get("u2") is not None  # unknown: treated as not replayed
        assert await positions.get("u1") is not None
    finally:
        await client.aclose()
