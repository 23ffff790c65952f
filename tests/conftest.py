"""Shared fixtures: a real PostgreSQL (DATABASE_URL's server when set, else an embedded one), a
fresh database migrated to head, and per-test isolation by rolling back an outer transaction."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spacekontext.app import create_app
from spacekontext.auth.tokens import DevTokens
from spacekontext.db.engine import Database, create_engine_for
from spacekontext.db.migrate import upgrade
from spacekontext.db.urls import libpq_dsn, with_database
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings
from tests.redisproc import RedisProcess, redis_server_binary

WEBHOOK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def pytest_collection_finish(session: pytest.Session) -> None:
    # The README's block (tests/e2e/test_readme.py) spends about two minutes installing a
    # fresh .venv, on one core: started now, it runs beside the other tests instead of after
    # them, and its test only waits for it.
    if session.config.option.collectonly:
        return
    from tests.e2e import test_readme

    if any(item.name == test_readme.TEST_NAME for item in session.items):
        test_readme.start_in_background()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests.e2e import test_readme

    test_readme.stop_background()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Skip on a laptop when a service is missing; fail under CI=true."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"required test service unavailable under CI: {what}")
    pytest.skip(f"needs {what}")


def configured_server_url() -> str | None:
    """The PostgreSQL server the environment names; None: the tests start their own."""
    return os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or None


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server URL (its maintenance database)."""
    configured = configured_server_url()
    if configured:
        yield configured
        return
    from spacekontext.db.embedded import attached

    # Short path: the server's Unix socket lives in its data dir (108-byte limit).
    base = Path(tempfile.mkdtemp(prefix="skpg-"))
    try:
        with attached(base, "tests") as uri:
            yield uri
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def create_database(server_url: str) -> Iterator[Callable[[], str]]:
    """Factory of fresh, empty databases on the test server, dropped at the end of the run (on a
    server of the environment's; the embedded one goes as a whole)."""
    created: list[str] = []
    admin = libpq_dsn(server_url)

    def make() -> str:
        name = f"sk_test_{secrets.token_hex(4)}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return with_database(server_url, name)

    yield make
    if configured_server_url() is None:
        # The run's own embedded server is deleted with its data directory right after; a
        # DROP DATABASE costs a checkpoint (about half a second each, tens of seconds a run).
        return
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(create_database: Callable[[], str]) -> str:
    url = create_database()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def settings(database_url: str, home: Path) -> Settings:
    return Settings(
        env="test",
        SPACEKONTEXT_HOME=home,
        database_url=database_url,
        clerk_webhook_secret=WEBHOOK_SECRET,
        db_pool_size=5,
        db_max_overflow=20,
        # Suites that fire hundreds of requests as one user must not trip the limits;
        # tests/ratelimit turns them on with limits of their own.
        rate_limit_enabled=False,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    assert settings.database_url is not None
    engine = create_engine_for(settings.database_url, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
async def services(
    settings: Settings, engine: AsyncEngine, connection: AsyncConnection
) -> AsyncIterator[Services]:
    built = build_services(settings, Database(engine, bind=connection))
    yield built
    await built.aclose()


@pytest.fixture
async def committed_services(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Services]:
    """Services that really commit (for concurrency tests); tests clean up what they make."""
    built = build_services(settings, Database(engine))
    yield built
    await built.aclose()


@pytest.fixture
async def client(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, services=services)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(scope="session")
def dev_tokens(settings: Settings) -> DevTokens:
    return DevTokens.from_data_dir(settings.data_dir)


@pytest.fixture(scope="session")
def auth(dev_tokens: DevTokens) -> Callable[[str], dict[str, str]]:
    """`auth("ann@example.com")` → headers carrying a dev token for that user."""

    def headers(email: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {dev_tokens.mint(email)}"}

    return headers


# --- Redis: one server per test run; tests keep apart by key prefix ------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of this test run (not the machine's shared one: others flush theirs)."""
    require(redis_server_binary() is not None, "redis-server (Debian package redis-server)")
    server = RedisProcess(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.kill()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server this test may kill and restart (with its data kept on disk)."""
    require(redis_server_binary() is not None, "redis-server (Debian package redis-server)")
    server = RedisProcess(tmp_path / "redis", persistent=True)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def key_prefix() -> str:
    return f"t{secrets.token_hex(4)}:"


# --- two users and a project, for the API tests of every domain ---------------------------

ANN = "ann@example.com"
BOB = "bob@example.com"


@pytest.fixture
def ann(auth: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return auth(ANN)


@pytest.fixture
def bob(auth: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return auth(BOB)


async def make_project(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post("/api/projects", json={"name": "P", **body}, headers=headers)
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()["project"]
    return project


@pytest.fixture
async def project(client: httpx.AsyncClient, ann: dict[str, str]) -> dict[str, Any]:
    return await make_project(client, ann, name="Villa")
