"""Fixtures for the database scale layer: a PostgreSQL 15 primary on a free loopback port (a real
TCP server, unlike the embedded one), streaming replicas of it, PgBouncer in front of it, and
apps wired to them."""

from __future__ import annotations

import secrets
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
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings
from tests.cache.redisproc import RedisProcess, redis_server_binary
from tests.conftest import require
from tests.db import servers


@pytest.fixture(scope="session")
def pg15() -> Iterator[servers.Cluster]:
    require(servers.available(), "PostgreSQL 15 server binaries and pgbouncer (apt)")
    with servers.primary_cluster() as cluster:
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


@pytest.fixture(scope="session")
def scale_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of this test run shared by the app instances of a test."""
    require(redis_server_binary() is not None, "redis-server (Debian package redis-server)")
    server = RedisProcess(tmp_path_factory.mktemp("scale-redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.kill()


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
