"""`spacekontext assess` through a real PgBouncer: the pooling check finds the pooler by its
admin console, judges only the assessed database's pool, and reports a pool mode or an app
configuration that does not fit; every other check still runs through transaction pooling."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack

import psycopg
import pytest

from spacekontext.settings import Settings
from spacekontext.tools.assess import Finding, Report, Severity, assess
from spacekontext.tools.assess.runner import app_shape
from tests.db import servers

SERVER_POOL = 2

pytestmark = pytest.mark.slow


def run(url: str, *, pooler: str = "pgbouncer") -> Report:
    """The assessment as `spacekontext assess` runs it for an app whose DATABASE_URL is
    `url`."""
    settings = Settings(env="test", database_url=url, database_pooler=pooler)
    return assess(url, app_shape(settings, database_url=None))


def pooler_finding(report: Report) -> Finding:
    (finding,) = [f for f in report.findings if f.check == "pooling.pooler"]
    return finding


@pytest.fixture(scope="module")
def bouncer(pg15: servers.Cluster) -> Iterator[servers.Bouncer]:
    with servers.pgbouncer(pg15, server_pool=SERVER_POOL) as running:
        yield running


@pytest.fixture
def other_database(pg15: servers.Cluster) -> str:
    name = f"sk_other_{secrets.token_hex(3)}"
    with psycopg.connect(pg15.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return name


def test_the_pooler_is_found_and_only_this_databases_pool_counts(
    bouncer: servers.Bouncer, pg15_database: str, other_database: str
) -> None:
    # Another database's pool is full, with a client waiting for it: none of this database's
    # business (its own pool has free server connections).
    with ExitStack() as stack:
        for _ in range(SERVER_POOL):
            holder = stack.enter_context(psycopg.connect(bouncer.url(other_database)))
            holder.execute("SELECT 1")  # a transaction left open holds a server connection
        waiter_done = threading.Event()

        def wait_for_a_server() -> None:
            with psycopg.connect(bouncer.url(other_database), autocommit=True) as conn:
                conn.execute("SELECT 1")
            waiter_done.set()

        waiter = threading.Thread(target=wait_for_a_server)
        waiter.start()
        try:
            waiting_on_other = _waiting(bouncer, other_database)
            report = run(bouncer.url(pg15_database))
        finally:
            stack.close()  # releases the holders, and so the waiter
            waiter.join(timeout=30)
    assert waiting_on_other == 1
    assert waiter_done.is_set()

    finding = pooler_finding(report)
    assert (finding.severity, finding.title) == (
        Severity.OK,
        "A pooler is in front of the database",
    )
    pools = [line for line in finding.evidence if line.startswith("PgBouncer pool ")]
    assert len(pools) == 1
    assert pools[0].startswith(f"PgBouncer pool {pg15_database}/postgres (transaction):")
    assert "cl_waiting 0" in pools[0]
    assert any("pools of other databases not counted" in line for line in finding.evidence)
    assert finding.fix == ()
    # Every other check ran through transaction pooling (SET LOCAL per catalog query).
    assert [f.check for f in report.findings if f.title == "Could not run this check"] == []


def _waiting(bouncer: servers.Bouncer, database: str) -> int:
    """Clients of `database` waiting for a server connection, once the waiter is queued."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pools = [p for p in bouncer.show("POOLS") if p["database"] == database]
        waiting = sum(int(p["cl_waiting"]) for p in pools)  # type: ignore[call-overload]
        if waiting:
            return waiting
        time.sleep(0.05)
    return 0


def test_an_app_not_configured_for_the_pooler_is_critical(
    bouncer: servers.Bouncer, pg15_database: str
) -> None:
    finding = pooler_finding(run(bouncer.url(pg15_database), pooler="none"))
    assert finding.severity is Severity.CRITICAL
    assert finding.title == "A pooler is in front, but the app is not configured for it"
    assert finding.fix == ("DATABASE_POOLER=pgbouncer",)


def test_session_mode_is_reported_and_transaction_mode_clears_it(
    pg15: servers.Cluster, pg15_database: str
) -> None:
    with servers.pgbouncer(pg15, server_pool=SERVER_POOL, pool_mode="session") as session:
        finding = pooler_finding(run(session.url(pg15_database)))
    assert finding.severity is Severity.WARNING
    assert finding.title == "PgBouncer pools this database in session mode"
    assert "pool_mode = transaction" in finding.fix
    assert any(line.startswith("pool_mode session:") for line in finding.evidence)
    # The printed fix, applied: the same PgBouncer configuration in transaction mode.
    with servers.pgbouncer(pg15, server_pool=SERVER_POOL, pool_mode="transaction") as fixed:
        assert pooler_finding(run(fixed.url(pg15_database))).severity is Severity.OK


def test_without_a_pooler_the_check_says_so(pg15: servers.Cluster, pg15_database: str) -> None:
    direct = pg15.url.rsplit("/", 1)[0] + f"/{pg15_database}"
    finding = pooler_finding(run(direct, pooler="none"))
    assert not any(line.startswith("PgBouncer pool") for line in finding.evidence)
    assert any("No pooler answered" in line for line in finding.evidence)
