"""Fixtures for the database scale layer: a PostgreSQL 15 primary on a free loopback port (a real
TCP server, unlike the embedded one), streaming replicas of it, PgBouncer in front of it, and
apps wired to them."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from spacekontext.app import create_app
from spacekontext.db.engine import Database
from spacekontext.db.migrate import upgrade
from spacekontext.observability import metrics
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings
from tests.conftest import require
from tests.db import servers


@pytest.fixture(scope="session")
def pg15() -> Iterator[servers.Cluster]:
    require(servers.available(), "PostgreSQL 15 server binaries and pgbouncer (apt)")
    # pg_stat_statements: what the server really ran, for the tests that count statements.
    with servers.primary_cluster(shared_preload_libraries="'pg_stat_statements'") as cluster:
        yield cluster


@pytest.fixture(scope="session")
def pg15_database(pg15: servers.Cluster) -> str:
    """A database on the PostgreSQL 15 primary, migrated to head; returns its name."""
    name = f"sk_scale_{secrets.token_hex(3)}"
    with psycopg.connect(pg15.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    upgrade(pg15.url.rsplit("/", 1)[0] + f"/{name}")
    return name


def url_for(cluster: servers.Cluster, database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:{cluster.port}/{database}"


@pytest.fixture
def replica(pg15: servers.Cluster, pg15_database: str) -> Iterator[servers.Cluster]:
    """A fresh streaming replica per test (pg_basebackup takes a fraction of a second), so a
    test may pause or stop it freely."""
    with servers.replica_of(pg15) as cluster:
        yield cluster


@pytest.fixture
def primary_url(pg15: servers.Cluster, pg15_database: str) -> str:
    return url_for(pg15, pg15_database)


@pytest.fixture
def replica_config(
    primary_url: str, replica: servers.Cluster, pg15_database: str
) -> dict[str, Any]:
    """Settings of an app that writes to the primary and reads from this test's replica,
    checked every 0.1 s. The lag bound is generous so that a test may pause replay without the
    replica turning unhealthy; a test about lag sets its own."""
    return {
        "database_url": primary_url,
        "database_read_urls": [url_for(replica, pg15_database)],
        "max_replica_lag_s": 120,
        "replica_check_interval_s": 0.1,
    }


@pytest.fixture
def replica_app(make_app: Callable[..., Any], replica_config: dict[str, Any]) -> Callable[..., Any]:
    """`async with replica_app(**overrides) as (client, services)`: `make_app` with
    `replica_config` (overrides win)."""

    def make(**overrides: Any) -> Any:
        return make_app(**(replica_config | overrides))

    return make


async def wait_for(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def replayed(services: Services, user_id: str) -> None:
    """Until the (first) replica is healthy and has replayed the user's recorded writes."""
    router = services.db.router
    await wait_for(lambda: router.replicas[0].healthy and router.replayed_for(user_id))


def replica_reads() -> float:
    """Reads routed to a healthy replica so far (the process-wide counter)."""
    return metrics.DB_READ_ROUTING.labels("replica", "healthy")._value.get()


async def user_id_of(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    """The id of the token's user, who is created by a first write (a project named
    "first")."""
    created = await client.post("/api/projects", json={"name": "first"}, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["project"]["userId"])


async def names(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    """The names of the user's projects, newest first."""
    response = await client.get("/api/projects", params={"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    return [p["name"] for p in response.json()["projects"]]


def scale_settings(home: Path, **overrides: Any) -> Settings:
    # These tests exercise the database path: hundreds of requests as one user (rate limits
    # have their own suite, tests/ratelimit) whose reads must reach the database (the cache has
    # its own suite, tests/cache).
    values: dict[str, Any] = {
        "env": "test",
        "SPACEKONTEXT_HOME": home,
        "rate_limit_enabled": False,
        "cache_enabled": False,
    }
    return Settings(**(values | overrides))


@pytest.fixture
def make_app(home: Path) -> Iterator[Callable[..., Any]]:
    """`async with make_app(database_url=…, …) as (client, services)`: an app on its own
    engines (real commits), started like the lifespan does."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
        settings = scale_settings(home, **overrides)
        db = Database.from_settings(settings)
        await db.start()
        services = build_services(settings, db)
        app = create_app(settings, services=services)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c, services
        finally:
            await services.aclose()
            await db.dispose()

    yield make
