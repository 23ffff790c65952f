"""A hung Redis (SIGSTOP: the connection stays open, nothing answers) costs a short timeout
now and then, not one per request: every call is bounded by REDIS_TIMEOUT_S, a timeout opens
the one circuit breaker the cache, the rate limits and the read-ahead share, and while it is
open a single call probes."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
from collections.abc import Callable

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spacekontext.app import create_app
from spacekontext.db.engine import Database
from spacekontext.services import build_services
from spacekontext.settings import Settings
from tests.redisproc import RedisProcess

Auth = Callable[[str], dict[str, str]]


async def test_requests_keep_flowing_while_redis_hangs(
    settings: Settings,
    engine: AsyncEngine,
    private_redis: RedisProcess,
    auth: Auth,
) -> None:
    configured = settings.model_copy(
        update={
            "redis_url": private_redis.url,
            "redis_timeout_s": 0.2,
            # Limits on and taken in Redis (their calls hang too), but out of reach.
            "rate_limit_enabled": True,
            "rate_limit_read_per_s": 100_000.0,
            "rate_limit_read_burst": 100_000,
        }
    )
    # Committing for real: concurrent requests cannot share one rolled-back test connection.
    services = build_services(configured, Database(engine))
    app = create_app(configured, services=services)
    ann = auth(f"hung-{secrets.token_hex(4)}@example.com")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    assert private_redis.process is not None
    pid = private_redis.process.pid
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.post("/api/projects", json={"name": "p"}, headers=ann)).is_success
            assert (await http.get("/api/projects", headers=ann)).status_code == 200

            os.kill(pid, signal.SIGSTOP)
            slowest = 0.0
            started = time.monotonic()
            served = 0
            while time.monotonic() - started < 3.0:
                t0 = time.monotonic()
                responses = await asyncio.gather(
                    *(http.get("/api/projects", headers=ann) for _ in range(10))
                )
                slowest = max(slowest, time.monotonic() - t0)
                assert [r.status_code for r in responses] == [200] * 10
                assert all(r.json()["projects"][0]["name"] == "p" for r in responses)
                served += len(responses)
            # Bounded: a batch waits at most about one timeout of the cache or the read-ahead
            # (the breaker opens on the first), never a timeout per call.
            assert slowest < 1.0, slowest
            # And the hang costs about one timeout per second, not the throughput.
            assert served >= 100, served
            write = await http.post("/api/projects", json={"name": "during"}, headers=ann)
            assert write.status_code == 201, write.text
            os.kill(pid, signal.SIGCONT)
            made = [
                p["id"] for p in (await http.get("/api/projects", headers=ann)).json()["projects"]
            ]
            for project_id in made:
                await http.delete(f"/api/projects/{project_id}", headers=ann)
        # A deletion queues the clean-up of the project's objects (now and once more later):
        # committed jobs would be picked up by the job tests that share this database.
        async with services.db.unit_of_work() as uow:
            for project_id in made:
                await uow.session.execute(
                    text("DELETE FROM app.jobs WHERE payload->>'prefix' LIKE :like"),
                    {"like": f"%{project_id}%"},
                )
            await uow.commit()
    finally:
        os.kill(pid, signal.SIGCONT)
        await services.aclose()
