"""An external PostgreSQL (DATABASE_URL) that shuts down, stops and starts again: every route —
the hot ones included — answers 503 `database_unavailable` with Retry-After meanwhile, never a
500; /readyz says why; and the app recovers by itself once the server is back."""

from __future__ import annotations

import asyncio
import gc
import socket
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import psycopg
import pytest
from sqlalchemy.exc import DBAPIError

from spacekontext.auth.tokens import DevTokens
from spacekontext.db.engine import create_engine_for
from spacekontext.db.migrate import upgrade
from spacekontext.db.outage import as_unavailable, unreachable_reason
from spacekontext.settings import Settings
from tests.conftest import require
from tests.db import servers
from tests.db.conftest import scale_settings

# asyncpg leaves the socket of a connection the server refused during start-up or shutdown
# (SQLSTATE 57P03) to the garbage collector, which reports it whenever it next runs: not a leak
# of this code, and harmless, but an error under `filterwarnings = error`.
pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(autouse=True)
def collect_refused_sockets() -> Iterator[None]:
    """Collect them here, inside this module's warning filters, not in a later test."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture
def cluster() -> Iterator[servers.Cluster]:
    """A private PostgreSQL 15 of this test alone: it is stopped and started at will."""
    require(servers.available(), "PostgreSQL 15 server binaries (apt)")
    with servers.primary_cluster() as started:
        upgrade(started.url)
        yield started


def shut_down_smartly(cluster: servers.Cluster) -> psycopg.Connection[Any]:
    """A smart shutdown waits for open sessions to end: while one is held, the server refuses
    new connections with "the database system is shutting down" (SQLSTATE 57P03)."""
    held = psycopg.connect(cluster.url, autocommit=True)
    servers._as_postgres(
        str(servers.PG_BIN / "pg_ctl"), "-D", str(cluster.data_dir), "-m", "smart", "-W", "stop"
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            psycopg.connect(cluster.url).close()
        except psycopg.OperationalError as exc:
            if "shutting down" in str(exc):
                return held
        time.sleep(0.05)
    raise AssertionError("the server never refused a new connection")


async def test_the_drivers_outage_errors_are_recognised(cluster: servers.Cluster) -> None:
    settings = Settings(env="test", database_url=cluster.url)
    held = shut_down_smartly(cluster)
    try:
        with pytest.raises(asyncpg.CannotConnectNowError) as raw:
            await asyncpg.connect(cluster.url)
        assert unreachable_reason(raw.value) == "the database system is shutting down"
        engine = create_engine_for(cluster.url, settings)
        try:
            with pytest.raises(DBAPIError) as wrapped:
                async with engine.connect():
                    pass
        finally:
            await engine.dispose()
        unavailable = as_unavailable(wrapped.value)
        assert unavailable is not None and unavailable.status == 503
        assert unavailable.details == {"reason": "the database system is shutting down"}
    finally:
        held.close()
    servers._as_postgres(
        str(servers.PG_BIN / "pg_ctl"), "-D", str(cluster.data_dir), "-w", "stop", check=False
    )  # fmt: skip
    with pytest.raises(OSError) as refused:
        await asyncpg.connect(cluster.url)
    assert unreachable_reason(refused.value) is not None
    # Outside a database call, a bare connection error is nobody's in particular.
    assert unreachable_reason(refused.value, from_database=False) is None
    # Errors of the statement, not the server, are not outages.
    cluster.start()
    connection = await asyncpg.connect(cluster.url)
    try:
        with pytest.raises(asyncpg.PostgresError) as bad_sql:
            await connection.execute("SELECT * FROM no_such_table")
        assert unreachable_reason(bad_sql.value) is None
    finally:
        await connection.close()


def assert_outage(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    body = response.json()
    assert body["success"] is False and body["code"] == "database_unavailable", body
    assert int(response.headers["retry-after"]) >= 1


async def test_external_database_stopped_and_started_again(
    cluster: servers.Cluster, make_app: Callable[..., Any], home: Any
) -> None:
    async with make_app(database_url=cluster.url) as (client, _services):
        token = DevTokens.from_data_dir(scale_settings(home).data_dir).mint("out@example.com")
        client.headers["Authorization"] = f"Bearer {token}"
        created = await client.post("/api/projects", json={"name": "Before"})
        assert created.status_code == 201, created.text
        project_id = created.json()["project"]["id"]

        async def every_route() -> list[httpx.Response]:
            return [
                await client.get("/api/projects"),  # hot route
                await client.get(f"/api/projects/{project_id}"),  # hot route
                await client.post("/api/projects", json={"name": "During"}),
                await client.get("/api/search", params={"q": "Before"}),
            ]

        # Shutting down: the pools' connections are dropped by the shutdown, new ones refused.
        held = shut_down_smartly(cluster)
        try:
            await client.get("/healthz")
            servers._as_postgres(
                str(servers.PG_BIN / "pg_ctl"), "-D", str(cluster.data_dir), "-m", "fast",
                "-W", "stop",
            )  # fmt: skip
        finally:
            held.close()
        deadline = time.monotonic() + 30
        while servers._as_postgres(
            str(servers.PG_BIN / "pg_ctl"), "-D", str(cluster.data_dir), "status", check=False
        ).returncode == 0:  # fmt: skip
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)

        # Stopped: connection refused everywhere, 503 with Retry-After, never a 500.
        for response in await every_route():
            assert_outage(response)
        for _ in range(2):  # the first may still meet a pooled connection the stop broke
            ready = await client.get("/readyz")
            assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("unreachable: connection refused")
        assert (await client.get("/healthz")).status_code == 200

        # Started again: the same app recovers with no restart.
        stopped_at = time.monotonic()
        cluster.start()
        while True:
            responses = await every_route()
            if all(r.status_code in (200, 201) for r in responses):
                break
            for response in responses:
                if response.status_code not in (200, 201):
                    assert_outage(response)
            assert time.monotonic() - stopped_at < 30, "no recovery within 30 s"
            await asyncio.sleep(0.05)
        assert (await client.get("/readyz")).status_code == 200
        listed = (await client.get("/api/projects")).json()["projects"]
        assert "Before" in [p["name"] for p in listed]


async def test_a_server_that_never_answers_is_an_outage_within_seconds(
    make_app: Callable[..., Any], home: Any
) -> None:
    """A database gone from the network (the port open, nothing ever said): connecting times out
    after DB_POOL_TIMEOUT_S, not asyncpg's 60 s, and every route answers 503."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/postgres"
        async with make_app(database_url=url, db_pool_timeout_s=1.0) as (client, _services):
            token = DevTokens.from_data_dir(scale_settings(home).data_dir).mint("g@example.com")
            client.headers["Authorization"] = f"Bearer {token}"
            for method, path in [("GET", "/api/projects"), ("POST", "/api/projects")]:
                started = time.monotonic()
                response = await client.request(method, path, json={"name": "x"})
                assert time.monotonic() - started < 10
                assert_outage(response)
                assert response.json()["details"] == {
                    "reason": "connecting to the database timed out"
                }
