"""Two API instances (separate services, caches and Redis clients) over one database and one
Redis, with real commits: a write through one is never followed by stale data from the other."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from svix.webhooks import Webhook

from spacekontext.app import create_app
from spacekontext.db.engine import Database
from spacekontext.jobs.models import Job
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings
from spacekontext.storage.keys import user_prefix
from spacekontext.users.models import User
from tests.conftest import WEBHOOK_SECRET
from tests.redisproc import RedisProcess

Auth = Callable[[str], dict[str, str]]


@dataclass
class Instance:
    services: Services
    http: httpx.AsyncClient


class Made(list[str]):
    """E-mails of the users a test made, and ids of users it saw deleted."""

    gone_user_ids: list[str]


@pytest.fixture
async def emails(engine: AsyncEngine) -> AsyncIterator[Made]:
    """Users made by a test that really commits; deleted (with their projects) afterwards."""
    made = Made()
    made.gone_user_ids = []
    yield made
    gone_user_ids = made.gone_user_ids
    async with engine.begin() as conn:
        user_ids = list((await conn.execute(select(User.id).where(User.email.in_(made)))).scalars())
        await conn.execute(delete(User).where(User.email.in_(made)))
        # Deleting projects and users queues storage clean-up jobs; other suites count jobs.
        for user_id in [*user_ids, *gone_user_ids]:
            await conn.execute(
                delete(Job).where(Job.payload["prefix"].astext.startswith(user_prefix(user_id)))
            )


def email(emails: Made, name: str) -> str:
    address = f"{name}-{secrets.token_hex(4)}@example.com"
    emails.append(address)
    return address


@pytest.fixture
async def start_instance(
    settings: Settings, engine: AsyncEngine
) -> AsyncIterator[Callable[[str], Awaitable[Instance]]]:
    opened: list[Instance] = []

    async def start(redis_url: str, prefix: str = "coherence:") -> Instance:
        # A generous Redis timeout: these tests are about coherence, not timeouts (those have
        # their own tests: test_resp.py, test_hung_redis.py), and a timeout opens the circuit
        # and sends every request to the database. A killed Redis is refused at once whatever
        # the timeout.
        configured = settings.model_copy(
            update={"redis_url": redis_url, "cache_key_prefix": prefix, "redis_timeout_s": 5.0}
        )
        services = build_services(configured, Database(engine))
        app = create_app(configured, services=services)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        instance = Instance(services, httpx.AsyncClient(transport=transport, base_url="http://t"))
        opened.append(instance)
        return instance

    yield start
    for instance in opened:
        await instance.http.aclose()
        await instance.services.aclose()


async def names(instance: Instance, headers: dict[str, str]) -> list[str]:
    response = await instance.http.get("/api/projects", headers=headers)
    assert response.status_code == 200, response.text
    return [project["name"] for project in response.json()["projects"]]


async def test_writes_through_one_instance_are_seen_by_the_other(
    start_instance: Callable[..., Awaitable[Instance]],
    redis_url: str,
    key_prefix: str,
    auth: Auth,
    emails: Made,
    engine: AsyncEngine,
) -> None:
    a = await start_instance(redis_url, key_prefix)
    b = await start_instance(redis_url, key_prefix)
    ann = auth(email(emails, "ann"))
    assert await names(b, ann) == []  # cached by B

    created = await a.http.post("/api/projects", json={"name": "Tower"}, headers=ann)
    assert created.status_code == 201
    project_id = created.json()["project"]["id"]
    assert await names(b, ann) == ["Tower"]
    detail = await b.http.get(f"/api/projects/{project_id}", headers=ann)
    assert detail.json()["project"]["name"] == "Tower"

    # Behind the application's back (no generation bump), B keeps serving its cached bytes:
    # this is what shows the bumps below are what keeps B fresh.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE app.projects SET name = 'not via the API' WHERE id = :id"),
            {"id": project_id},
        )
    assert await names(b, ann) == ["Tower"]

    patched = await a.http.patch(
        f"/api/projects/{project_id}", json={"name": "Tower II"}, headers=ann
    )
    assert patched.status_code == 200
    assert await names(b, ann) == ["Tower II"]
    detail = await b.http.get(f"/api/projects/{project_id}", headers=ann)
    assert detail.json()["project"]["name"] == "Tower II"

    assert (await a.http.delete(f"/api/projects/{project_id}", headers=ann)).status_code == 200
    assert (await b.http.get(f"/api/projects/{project_id}", headers=ann)).status_code == 404
    assert await names(b, ann) == []


async def test_user_deleted_by_webhook_on_one_instance_is_not_served_by_the_other(
    start_instance: Callable[..., Awaitable[Instance]],
    redis_url: str,
    key_prefix: str,
    auth: Auth,
    emails: Made,
) -> None:
    a = await start_instance(redis_url, key_prefix)
    b = await start_instance(redis_url, key_prefix)
    address = email(emails, "gone")
    headers = auth(address)
    made = await b.http.post("/api/projects", json={"name": "Old"}, headers=headers)
    assert made.status_code == 201  # B has now cached the subject -> user lookup
    emails.gone_user_ids.append(made.json()["project"]["userId"])

    payload = orjson.dumps(
        {"type": "user.deleted", "data": {"id": f"dev|{address}", "deleted": True}}
    ).decode()
    message_id = f"msg_{secrets.token_hex(8)}"
    now = datetime.now(tz=UTC)
    signature = Webhook(WEBHOOK_SECRET).sign(message_id, now, payload)
    delivered = await a.http.post(
        "/api/webhooks/clerk",
        content=payload,
        headers={
            "svix-id": message_id,
            "svix-timestamp": str(int(now.timestamp())),
            "svix-signature": signature,
            "content-type": "application/json",
        },
    )
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["applied"] is True

    # A stale lookup on B would hand out the deleted user's id: the insert would then break
    # the foreign key. Fresh, B re-creates the user on first sight, with no projects.
    assert await names(b, headers) == []
    again = await b.http.post("/api/projects", json={"name": "New"}, headers=headers)
    assert again.status_code == 201, again.text
    assert await names(b, headers) == ["New"]


async def test_concurrent_cold_requests_query_the_database_once(
    start_instance: Callable[..., Awaitable[Instance]],
    redis_url: str,
    key_prefix: str,
    auth: Auth,
    emails: Made,
    engine: AsyncEngine,
) -> None:
    a = await start_instance(redis_url, key_prefix)
    address = email(emails, "hot")
    ann = auth(address)
    # The write leaves the user lookup warm and the list cold (its generation was bumped).
    assert (await a.http.post("/api/projects", json={"name": "Hot"}, headers=ann)).is_success

    async def statements_and_names() -> tuple[int, list[str]]:
        # Server-Timing carries the request's statement count, whichever path ran them (the
        # list runs on the driver directly, below SQLAlchemy's cursor events).
        response = await a.http.get("/api/projects", headers=ann)
        assert response.status_code == 200, response.text
        timing = re.search(r'desc="(\d+) statements"', response.headers["server-timing"])
        assert timing is not None
        return int(timing.group(1)), [p["name"] for p in response.json()["projects"]]

    results = await asyncio.gather(*(statements_and_names() for _ in range(30)))
    assert [names_ for _, names_ in results] == [["Hot"]] * 30
    assert sum(count for count, _ in results) == 1


def cache_samples(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_redis_down_requests_succeed_and_owed_bumps_are_settled(
    start_instance: Callable[..., Awaitable[Instance]],
    private_redis: RedisProcess,
    auth: Auth,
    emails: Made,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a = await start_instance(private_redis.url)
    b = await start_instance(private_redis.url)
    ann = auth(email(emails, "down"))
    assert await names(a, ann) == []
    assert await names(b, ann) == []  # B holds the empty list in Redis

    errors_before = cache_samples(
        "spacekontext_cache_errors_total", backend="redis", operation="get"
    )
    bypass_before = cache_samples(
        "spacekontext_cache_lookups_total", backend="redis", result="bypass"
    )
    private_redis.kill()
    caplog.set_level(logging.WARNING, logger="spacekontext.cache")

    created = await a.http.post("/api/projects", json={"name": "While down"}, headers=ann)
    assert created.status_code == 201, created.text
    assert a.services.cache.owed_generations == 1
    for _ in range(20):
        assert await names(a, ann) == ["While down"]
    assert (
        cache_samples("spacekontext_cache_errors_total", backend="redis", operation="get")
        > errors_before
    )
    assert (
        cache_samples("spacekontext_cache_lookups_total", backend="redis", result="bypass")
        >= bypass_before + 20
    )
    warnings = [r for r in caplog.records if r.name == "spacekontext.cache"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]

    # Redis comes back with its data (append-only file): B's stale empty list and the old
    # generation are there again. A owes a bump and settles it without being asked.
    private_redis.start()
    for _ in range(100):
        if a.services.cache.owed_generations == 0:
            break
        await asyncio.sleep(0.05)
    assert a.services.cache.owed_generations == 0
    assert await names(b, ann) == ["While down"]


async def test_readyz_reports_redis_as_degraded_not_failing(
    start_instance: Callable[..., Awaitable[Instance]], private_redis: RedisProcess
) -> None:
    instance = await start_instance(private_redis.url)
    up = await instance.http.get("/readyz")
    assert up.status_code == 200
    assert up.json()["status"] == "ready"
    assert up.json()["checks"]["redis"] == "ok"

    private_redis.kill()
    down = await instance.http.get("/readyz")
    assert down.status_code == 200  # still serving: the cache is bypassed without Redis
    assert down.json()["status"] == "degraded"
    assert down.json()["checks"]["redis"].startswith("degraded: unreachable")
