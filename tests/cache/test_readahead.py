"""Read-ahead (cache/readahead.py) against a real Redis and real commits: a cached read costs
one Redis round trip, and nothing read ahead is ever served for the wrong user, after a write,
or past a rate limit."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from spacekontext.app import create_app
from spacekontext.cache.redis import RedisCache
from spacekontext.cache.resp import RespClient
from spacekontext.db.engine import Database
from spacekontext.observability.request_context import RequestStats, current_request
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings
from spacekontext.users.models import User

Auth = Callable[[str], dict[str, str]]


def round_trips(response: httpx.Response) -> int:
    found = re.search(
        r'redis;dur=[\d.]+;desc="(\d+) round trips"', response.headers["server-timing"]
    )
    assert found, response.headers["server-timing"]
    return int(found.group(1))


def start(
    settings: Settings, engine: AsyncEngine, **overrides: Any
) -> tuple[httpx.AsyncClient, Services]:
    """An app instance on real commits; the caller closes the client and the services."""
    configured = settings.model_copy(update=overrides)
    services = build_services(configured, Database(engine))
    app = create_app(configured, services=services)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t"), services


@pytest.fixture
async def instance(
    settings: Settings, engine: AsyncEngine, redis_url: str, key_prefix: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    client, services = start(
        settings,
        engine,
        redis_url=redis_url,
        cache_key_prefix=key_prefix,
        rate_limit_enabled=True,
        rate_limit_read_per_s=0.01,
        rate_limit_read_burst=6,
    )
    async with client:
        yield client, services
    await services.aclose()


@pytest.fixture
async def cleanup(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    emails: list[str] = []
    yield emails
    async with engine.begin() as conn:
        await conn.execute(delete(User).where(User.email.in_(emails)))


async def test_a_cached_read_is_one_round_trip_and_limits_still_hold(
    instance: tuple[httpx.AsyncClient, Services], auth: Auth, cleanup: list[str]
) -> None:
    client, _ = instance
    cleanup.append("ra-one@example.com")
    ann = auth("ra-one@example.com")
    created = await client.post("/api/projects", json={"name": "Read ahead"}, headers=ann)
    assert created.status_code == 201  # 1 token of the write bucket; the reads have 6
    project_id = created.json()["project"]["id"]

    first = await client.get("/api/projects", headers=ann)  # fills the page
    assert first.status_code == 200
    second = await client.get("/api/projects", headers=ann)
    assert second.status_code == 200
    assert second.content == first.content
    assert round_trips(second) == 1  # user record, bucket and page together
    assert "0 statements" in second.headers["server-timing"]

    await client.get(f"/api/projects/{project_id}", headers=ann)
    detail = await client.get(f"/api/projects/{project_id}", headers=ann)
    assert detail.json()["project"]["name"] == "Read ahead"
    assert round_trips(detail) == 1

    # Six reads so far: the bucket read ahead is the same bucket, taken once per request.
    for _ in range(2):
        assert (await client.get("/api/projects", headers=ann)).status_code == 200
    refused = await client.get("/api/projects", headers=ann)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1


async def test_a_write_is_seen_by_the_next_read(
    instance: tuple[httpx.AsyncClient, Services], auth: Auth, cleanup: list[str]
) -> None:
    client, _ = instance
    cleanup.append("ra-write@example.com")
    bob = auth("ra-write@example.com")
    await client.post("/api/projects", json={"name": "One"}, headers=bob)
    assert [
        p["name"] for p in (await client.get("/api/projects", headers=bob)).json()["projects"]
    ] == ["One"]
    await client.post("/api/projects", json={"name": "Two"}, headers=bob)
    listed = await client.get("/api/projects", headers=bob)
    assert [p["name"] for p in listed.json()["projects"]] == ["Two", "One"]


async def test_a_wrong_guess_is_never_served(
    instance: tuple[httpx.AsyncClient, Services],
    auth: Auth,
    cleanup: list[str],
    engine: AsyncEngine,
) -> None:
    """The user is deleted and re-created behind this instance's back (as another instance
    would, on a webhook): the remembered id is then wrong. Its page is still in Redis under a
    current generation; it must not be served to the new user."""
    client, services = instance
    cleanup.append("ra-guess@example.com")
    headers = auth("ra-guess@example.com")
    await client.post("/api/projects", json={"name": "Old life"}, headers=headers)
    assert len((await client.get("/api/projects", headers=headers)).json()["projects"]) == 1
    subject = "dev|ra-guess@example.com"
    old_id = services.users.remembered_id(subject)
    assert old_id is not None

    async with engine.begin() as conn:
        await conn.execute(delete(User).where(User.clerk_id == subject))
    await services.cache.bump(*services.users.cache_keys(subject)[:1])  # the webhook's bump

    fresh = await client.get("/api/projects", headers=headers)
    assert fresh.status_code == 200
    assert fresh.json()["projects"] == []
    async with engine.connect() as conn:
        new_id = (await conn.execute(select(User.id).where(User.clerk_id == subject))).scalar()
    assert new_id not in (None, old_id)
    assert services.users.remembered_id(subject) == new_id


async def test_answers_are_taken_once_and_dropped_after_a_write(
    redis_url: str, key_prefix: str
) -> None:
    client = RespClient.from_url(redis_url)
    cache = RedisCache(client, prefix=key_prefix)
    stats = RequestStats(request_id="t")
    token = current_request.set(stats)
    try:
        await cache.set("k", b"old", ttl_s=30)
        stats.read_ahead.update({"k": b"read ahead"})
        assert await cache.get_many(["k"]) == [b"read ahead"]
        assert await cache.get_many(["k"]) == [b"old"]  # taken once: the second read asks Redis
        stats.read_ahead.update({"k": b"read ahead"})
        await cache.set("k", b"new", ttl_s=30)
        assert await cache.get_many(["k"]) == [b"new"]
    finally:
        current_request.reset(token)
        await cache.aclose()


async def test_responses_off_reads_the_database_and_still_bumps(
    settings: Settings,
    engine: AsyncEngine,
    redis_url: str,
    key_prefix: str,
    auth: Auth,
    cleanup: list[str],
) -> None:
    """CACHE_RESPONSES=false: lists come from PostgreSQL every time, the user lookup stays
    cached, and a write still bumps the generation that other processes' cached pages hang on."""
    started = [
        start(settings, engine, redis_url=redis_url, cache_key_prefix=key_prefix,
              cache_responses=responses)
        for responses in (False, True)
    ]  # fmt: skip
    clients = [client for client, _ in started]
    opened = [services for _, services in started]
    uncached, cached = clients
    cleanup.append("ra-off@example.com")
    ann = auth("ra-off@example.com")
    try:
        await uncached.post("/api/projects", json={"name": "First"}, headers=ann)
        assert (await cached.get("/api/projects", headers=ann)).status_code == 200  # cached

        for _ in range(2):
            listed = await uncached.get("/api/projects", headers=ann)
            assert [p["name"] for p in listed.json()["projects"]] == ["First"]
            # The list query, not the user lookup: one statement, one round trip (user + bucket).
            assert 'desc="1 statements"' in listed.headers["server-timing"]

        await uncached.post("/api/projects", json={"name": "Second"}, headers=ann)
        seen = await cached.get("/api/projects", headers=ann)
        assert [p["name"] for p in seen.json()["projects"]] == ["Second", "First"]
    finally:
        for client in clients:
            await client.aclose()
        for services in opened:
            await services.aclose()
