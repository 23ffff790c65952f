"""Through a real PgBouncer in transaction mode: 200 concurrent clients share 5 server
connections with no error, and the per-connection settings survive the pooling."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from spacekontext.db.engine import Statement, create_engine_for
from spacekontext.errors import Unavailable
from tests.db import servers
from tests.db.conftest import scale_settings

SERVER_POOL = 5
CLIENTS = 200

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bouncer(pg15: servers.Cluster) -> Iterator[servers.Bouncer]:
    with servers.pgbouncer(pg15, server_pool=SERVER_POOL) as running:
        yield running


async def test_pgbouncer_refuses_timeouts_as_startup_parameters(
    bouncer: servers.Bouncer, pg15_database: str
) -> None:
    # Why the timeouts are set per transaction in pgbouncer mode: as startup parameters (what
    # the direct mode does) PgBouncer rejects the connection.
    engine = create_async_engine(
        bouncer.url(pg15_database).replace("postgresql://", "postgresql+asyncpg://"),
        connect_args={"statement_cache_size": 0, "server_settings": {"statement_timeout": "1"}},
    )
    with pytest.raises(DBAPIError, match="unsupported startup parameter"):
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    await engine.dispose()


async def test_timeouts_are_set_per_transaction_and_do_not_leak(
    bouncer: servers.Bouncer, pg15_database: str, make_app: Callable[..., Any]
) -> None:
    async with make_app(
        database_url=bouncer.url(pg15_database),
        database_pooler="pgbouncer",
        db_statement_timeout_ms=1234,
        db_idle_in_transaction_timeout_ms=4321,
        db_application_name="sk-bouncer-test",
    ) as (_, services):
        async with services.db.read() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT current_setting('statement_timeout'), "
                        "current_setting('idle_in_transaction_session_timeout'), "
                        "current_setting('application_name')"
                    )
                )
            ).one()
        assert tuple(row) == ("1234ms", "4321ms", "sk-bouncer-test:primary")
        async with services.db.unit_of_work() as uow:
            with pytest.raises(DBAPIError, match="statement timeout"):
                await uow.session.execute(text("SELECT pg_sleep(2)"))
        # The hot reads' driver pool: one message per statement, no transaction around it, so
        # no SET LOCAL either; the application name passes, the statement timeout is the
        # client's (below). Many reads at once, so that they land on several server connections.
        settings_query = Statement(
            "SELECT current_setting('statement_timeout') AS s, "
            "current_setting('application_name') AS a, :n::int AS n, "
            "'100%' AS literal_percent"
        )
        rows = await asyncio.gather(
            *(services.db.fetch(settings_query, {"n": n}) for n in range(SERVER_POOL * 4))
        )
        assert {tuple(r[0].values())[:2] for r in rows} == {("0", "sk-bouncer-test:primary")}
        assert sorted(r[0]["n"] for r in rows) == list(range(SERVER_POOL * 4))
        assert {r[0]["literal_percent"] for r in rows} == {"100%"}
        # A read that runs past DB_STATEMENT_TIMEOUT_MS is cancelled on the server, answered
        # as an outage (503), and leaves its connection usable.
        with pytest.raises(Unavailable) as timed_out:
            await services.db.fetch(Statement("SELECT pg_sleep(5) AS slept"), {})
        assert "statement cancelled after 1.234 s" in str(timed_out.value.details)
        assert _active_sleeps(bouncer, pg15_database) == 0
        for _ in range(services.settings.db_read_pool_size + 1):
            assert (await services.db.fetch(Statement("SELECT 1 AS one"), {}))[0]["one"] == 1
    # SET LOCAL ended with each transaction: a plain client of the same server pool sees the
    # server's defaults.
    engine = create_async_engine(
        bouncer.url(pg15_database).replace("postgresql://", "postgresql+asyncpg://"),
        connect_args={"statement_cache_size": 0},
    )
    async with engine.connect() as conn:
        for _ in range(SERVER_POOL * 2):
            assert await conn.scalar(text("SELECT current_setting('statement_timeout')")) == "0"
            await conn.commit()
    await engine.dispose()


def _active_sleeps(bouncer: servers.Bouncer, database: str) -> int:
    """Statements still running `pg_sleep` in `database` (through the pooler: a client of its
    own, in a transaction of its own)."""
    with psycopg.connect(bouncer.url(database), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'active'"
            " AND query LIKE 'SELECT pg_sleep%%'",
            (database,),
        ).fetchone()
    return int(row[0]) if row else 0


def _server_statements(cluster: servers.Cluster, database: str, like: str) -> int:
    """How many times the server ran statements like `like` in `database`
    (pg_stat_statements)."""
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        row = conn.execute(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s"
            " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s AND s.query LIKE %s",
            (database, like),
        ).fetchone()
    return int(row[0]) if row else 0


async def test_no_encoding_round_trip_per_transaction(
    bouncer: servers.Bouncer,
    pg15: servers.Cluster,
    pg15_database: str,
    make_app: Callable[..., Any],
    auth: Callable[[str], dict[str, str]],
) -> None:
    # PgBouncer re-sends every startup parameter whose value differs from the server
    # connection's on each transaction it hands out. The driver's default encoding name
    # differs in spelling only, which used to cost two `SET client_encoding` per transaction
    # on the server side. The app's connections (ORM pool and driver pool) must cost none.
    before = _server_statements(pg15, pg15_database, "SET client_encoding%")
    async with make_app(database_url=bouncer.url(pg15_database), database_pooler="pgbouncer") as (
        client,
        services,
    ):
        headers = auth("encoding@example.com")
        created = await client.post("/api/projects", json={"name": "E"}, headers=headers)
        assert created.status_code == 201
        for _ in range(SERVER_POOL * 3):
            assert (await client.get("/api/projects", headers=headers)).status_code == 200
            async with services.db.read() as session:
                assert await session.scalar(text("SELECT 1")) == 1
            await services.db.fetch(Statement("SELECT 1 AS one"), {})
    # The reads above did run through PgBouncer: the ORM's transactions and the driver's
    # one-message statements.
    assert _server_statements(pg15, pg15_database, "SELECT set_config(%") >= SERVER_POOL * 3
    assert _server_statements(pg15, pg15_database, "SELECT $1 AS one") >= SERVER_POOL * 3
    assert _server_statements(pg15, pg15_database, "SET client_encoding%") == before


async def test_timeouts_ride_on_the_begin_of_each_orm_transaction(
    bouncer: servers.Bouncer, pg15_database: str, home: Path
) -> None:
    # Each ORM transaction behind PgBouncer is BEGIN (with the SET LOCAL of the timeouts in
    # the same message), its statements, COMMIT: PgBouncer counts three queries for a
    # one-statement transaction. Sent as a statement of its own, the SET LOCAL made four.
    settings = scale_settings(
        home,
        database_url=bouncer.url(pg15_database),
        database_pooler="pgbouncer",
        db_statement_timeout_ms=2345,
    )
    engine = create_engine_for(settings.database_url, settings)

    def queries() -> int:
        stats = [s for s in bouncer.show("STATS") if s["database"] == pg15_database]
        return int(str(stats[0]["total_query_count"])) if stats else 0

    try:
        async with engine.connect() as conn:  # connected (and its types read) beforehand
            await conn.execute(text("SELECT 1"))
            await conn.commit()
        before = queries()
        for _ in range(10):
            async with engine.connect() as conn:
                timeout = await conn.scalar(text("SELECT current_setting('statement_timeout')"))
                assert timeout == "2345ms"
                await conn.commit()
        assert queries() - before == 3 * 10
    finally:
        await engine.dispose()


async def test_200_concurrent_clients_through_pgbouncer_without_errors(
    bouncer: servers.Bouncer,
    pg15: servers.Cluster,
    pg15_database: str,
    make_app: Callable[..., Any],
    auth: Callable[[str], dict[str, str]],
) -> None:
    async with make_app(
        database_url=bouncer.url(pg15_database),
        database_pooler="pgbouncer",
        # One app-side connection per client (in the main pool and in the driver pool of the
        # hot reads), so PgBouncer really multiplexes 200 clients.
        db_pool_size=CLIENTS,
        db_read_pool_size=CLIENTS,
        db_max_overflow=0,
        db_pool_timeout_s=60,
    ) as (client, _):
        statuses: Counter[int] = Counter()

        async def user_session(index: int) -> None:
            headers = auth(f"bouncer-{index}@example.com")
            created = await client.post(
                "/api/projects", json={"name": f"P{index}"}, headers=headers
            )
            statuses[created.status_code] += 1
            listed = await client.get("/api/projects", headers=headers)
            statuses[listed.status_code] += 1
            if listed.status_code == 200:
                assert [p["name"] for p in listed.json()["projects"]] == [f"P{index}"]
            if created.status_code == 201:
                project_id = created.json()["project"]["id"]
                patched = await client.patch(
                    f"/api/projects/{project_id}", json={"description": "d"}, headers=headers
                )
                statuses[patched.status_code] += 1

        await asyncio.gather(*(user_session(i) for i in range(CLIENTS)))
        assert statuses == {201: CLIENTS, 200: CLIENTS * 2}

        pools = [p for p in bouncer.show("POOLS") if p["database"] == pg15_database]
        clients = [c for c in bouncer.show("CLIENTS") if c["database"] == pg15_database]
        servers_used = [s for s in bouncer.show("SERVERS") if s["database"] == pg15_database]
        assert len(clients) >= CLIENTS  # the app really held 200 client connections…
        assert 0 < len(servers_used) <= SERVER_POOL  # …on at most 5 server connections
        assert pools and pools[0]["pool_mode"] == "transaction"
    direct = pg15.sql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{pg15_database}'")
    assert isinstance(direct, int) and direct <= SERVER_POOL


async def test_a_driver_read_is_one_query_through_pgbouncer(
    bouncer: servers.Bouncer, pg15_database: str, make_app: Callable[..., Any]
) -> None:
    # The hot reads behind PgBouncer are one message each (psycopg, unprepared, autocommit):
    # PgBouncer counts one query and one transaction per read. With asyncpg they were four
    # queries (BEGIN with the SET LOCAL of the timeouts, prepare, execute, COMMIT).
    def totals() -> tuple[int, int]:
        stats = [s for s in bouncer.show("STATS") if s["database"] == pg15_database]
        if not stats:
            return 0, 0
        return int(str(stats[0]["total_query_count"])), int(str(stats[0]["total_xact_count"]))

    async with make_app(database_url=bouncer.url(pg15_database), database_pooler="pgbouncer") as (
        _,
        services,
    ):
        read = Statement("SELECT :n::int AS n, now() AS at")
        await services.db.fetch(read, {"n": 0})  # connected beforehand
        queries, transactions = totals()
        rows = [await services.db.fetch(read, {"n": n}) for n in range(10)]
        after_queries, after_transactions = totals()
    assert [r[0]["n"] for r in rows] == list(range(10))
    # Timestamps come back in UTC, as the direct pool gives them.
    assert {r[0]["at"].utcoffset() for r in rows} == {timedelta(0)}
    assert after_queries - queries == 10
    assert after_transactions - transactions == 10


async def test_a_pooler_that_is_not_running_is_an_outage(
    make_app: Callable[..., Any], auth: Callable[[str], dict[str, str]]
) -> None:
    # The driver pool behind PgBouncer reports a refused connection as the asyncpg pool does:
    # a 503 with the reason, never a 500 from psycopg's own exception classes.
    url = f"postgresql://postgres@127.0.0.1:{servers.free_port()}/postgres"
    async with make_app(database_url=url, database_pooler="pgbouncer") as (client, services):
        with pytest.raises(Unavailable) as refused:
            await services.db.fetch(Statement("SELECT 1 AS one"), {})
        assert str(refused.value.details["reason"]).startswith("connection failed")
        response = await client.get("/api/projects", headers=auth("refused@example.com"))
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
