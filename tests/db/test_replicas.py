"""Read replicas against a real streaming replica: reads go to it, a user's own writes are
read back from the primary until the replica has replayed them, and a replica that stops or
lags is skipped without failing a request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy import event

from spacekontext.db.routing import parse_lsn
from spacekontext.ids import new_id
from tests.db import servers
from tests.db.conftest import names, replayed, replica_reads, user_id_of, wait_for

Auth = Callable[[str], dict[str, str]]

pytestmark = pytest.mark.slow


def insert_project_directly(primary_url: str, user_id: str, name: str) -> None:
    """A write the app does not know about (no read-your-writes record): visible on the
    primary at once, on the replica only after replay."""
    with psycopg.connect(primary_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO app.projects (id, user_id, name, settings) VALUES (%s, %s, %s, '{}')",
            (new_id(), user_id, name),
        )


async def test_read_your_writes_while_replay_is_paused(
    primary_url: str, replica: servers.Cluster, replica_app: Callable[..., Any], auth: Auth
) -> None:
    ann, bob = auth(f"ann-{new_id()}@example.com"), auth(f"bob-{new_id()}@example.com")
    async with replica_app() as (client, services):
        ann_id = await user_id_of(client, ann)
        bob_id = await user_id_of(client, bob)
        router = services.db.router
        # Both users exist on the replica and their first writes have been replayed.
        await replayed(services, bob_id)

        with replica.replay_paused():
            insert_project_directly(primary_url, bob_id, "written behind the app's back")
            before = replica_reads()
            for attempt in range(100):
                response = await client.post(
                    "/api/projects", json={"name": f"ann-{attempt}"}, headers=ann
                )
                assert response.status_code == 201
                assert f"ann-{attempt}" in await names(client, ann)  # 100 out of 100
                # Bob has written nothing through the app: his reads use the (frozen) replica,
                # which has not replayed the row inserted on the primary.
                assert "written behind the app's back" not in await names(client, bob)
            assert replica_reads() - before >= 100
            assert router.replicas[0].healthy

        # Once the replica has replayed everything, Bob sees the row and Ann reads from the
        # replica again (her recorded position has been passed).
        await wait_for(lambda: router.replicas[0].lag_s == 0 and router.replayed_for(ann_id))
        assert "written behind the app's back" in await names(client, bob)
        before = replica_reads()
        assert "ann-99" in await names(client, ann)
        assert replica_reads() > before


async def test_stopping_the_replica_fails_no_request(
    replica: servers.Cluster, replica_app: Callable[..., Any], auth: Auth
) -> None:
    readers = [auth(f"reader-{i}-{new_id()}@example.com") for i in range(20)]
    async with replica_app(db_pool_size=25) as (client, services):
        for headers in readers:
            await user_id_of(client, headers)
        router = services.db.router
        await wait_for(lambda: router.replicas[0].healthy)
        await asyncio.sleep(0.3)  # let the first writes' positions be replayed
        statuses: list[int] = []
        stop = asyncio.Event()

        async def keep_reading(headers: dict[str, str]) -> None:
            while not stop.is_set():
                response = await client.get("/api/projects", headers=headers)
                statuses.append(response.status_code)

        tasks = [asyncio.create_task(keep_reading(h)) for h in readers]
        await asyncio.sleep(0.5)
        served_by_replica = replica_reads()
        await asyncio.to_thread(replica.stop, "fast")
        answered_before_stop = len(statuses)
        # Reads keep coming after the stop.
        await wait_for(lambda: len(statuses) >= answered_before_stop + 40, timeout_s=30)
        stop.set()
        await asyncio.gather(*tasks)

        assert served_by_replica > 0
        assert set(statuses) == {200}
        assert not router.replicas[0].healthy
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["replicas"]["replica1"]["healthy"] is False


async def test_a_lagging_replica_is_skipped(
    primary_url: str, replica: servers.Cluster, replica_app: Callable[..., Any], auth: Auth
) -> None:
    carol = auth(f"carol-{new_id()}@example.com")
    async with replica_app(max_replica_lag_s=0.5) as (client, services):
        carol_id = await user_id_of(client, carol)
        router = services.db.router
        await replayed(services, carol_id)
        with replica.replay_paused():
            insert_project_directly(primary_url, carol_id, "fresh")
            await wait_for(lambda: not router.replicas[0].healthy, timeout_s=5)
            assert router.replicas[0].lag_s > 0.5
            # The stale replica is skipped: the primary answers, with the fresh row.
            assert "fresh" in await names(client, carol)
        await wait_for(lambda: router.replicas[0].healthy, timeout_s=5)


async def test_one_late_check_is_not_a_verdict(replica_app: Callable[..., Any]) -> None:
    """A check whose answer arrives after its deadline because this process stalled (here the
    event loop is blocked for 1.2 s while the replica's answer is on its way, as a long GC or a
    starved CPU would) keeps the replica; two late checks in a row skip it."""
    async with replica_app(replica_check_interval_s=0.25) as (_client, services):
        router = services.db.router
        await router.stop()  # the checks below are the only ones
        replica = router.replicas[0]
        await router.check()
        assert replica.healthy
        loop = asyncio.get_running_loop()
        stalls = 0

        def stall_while_waiting(*_: Any) -> None:
            nonlocal stalls
            if stalls:
                stalls -= 1
                loop.call_soon(time.sleep, 1.2)  # runs while the statement is in flight

        event.listen(replica.engine.sync_engine, "before_cursor_execute", stall_while_waiting)
        stalls = 1
        await router.check()
        assert (replica.healthy, replica.timeouts_in_a_row) == (True, 1)
        await router.check()
        assert (replica.healthy, replica.timeouts_in_a_row) == (True, 0)

        stalls = 2
        await router.check()
        await router.check()
        assert (replica.healthy, replica.last_error) == (False, "TimeoutError")
        await router.check()
        assert replica.healthy


async def test_a_writes_position_is_one_statement_on_the_driver(
    primary_url: str, replica_app: Callable[..., Any], auth: Auth
) -> None:
    """After every write the app reads the primary's WAL position (read-your-writes). On the
    driver's pool that is one statement; on an engine connection it was a transaction of four
    round trips (BEGIN, the timeouts, the SELECT, ROLLBACK), two hops each behind PgBouncer."""
    ann = auth(f"ann-{new_id()}@example.com")
    async with replica_app() as (client, services):
        ann_id = await user_id_of(client, ann)
        router = services.db.router
        checkouts: list[object] = []

        def checked_out(*_: object) -> None:
            checkouts.append(None)

        pool = router.primary.sync_engine.pool
        event.listen(pool, "checkout", checked_out)
        try:
            with psycopg.connect(primary_url, autocommit=True) as conn:
                row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
            assert row is not None
            await router.record_write(ann_id)
            await router.check()  # the lag watcher reads it the same way
        finally:
            event.remove(pool, "checkout", checked_out)
        assert checkouts == []
        recorded = router.positions.peek(ann_id)
        assert recorded is not None and recorded >= parse_lsn(row[0])
