"""Queries and sessions: slow statements, a transaction held open, a blocked query and a
long-running one, each made by real connections, found, and cleared by the printed fix."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from tests.integration.assess.conftest import apply_fix, connect, passed, problems, run


def test_slow_statements_red_then_green(with_statements: str) -> None:
    url = with_statements
    with connect(url) as conn:
        for _ in range(100):
            conn.execute("SELECT pg_sleep(0.021)")
        for _ in range(5):  # slow, but too rare to matter
            conn.execute("SELECT pg_sleep(0.03), 'rare'")
    report = run(url)
    [slow] = problems(report, "queries.slow")
    assert "pg_sleep" in slow.evidence[0] and "rare" not in slow.evidence[0]
    assert slow.data["calls"] == 100 and slow.data["meanMs"] >= 20
    assert slow.fix[-1] == f"SELECT pg_stat_statements_reset(0, 0, {slow.subject});"
    top = next(f for f in report.findings if f.check == "queries.statements")
    assert "pg_sleep" in top.evidence[0]  # the heaviest statement by total time comes first
    apply_fix(url, slow)
    assert passed(run(url), "queries.slow")


def test_missing_pg_stat_statements_says_how_to_enable_it(fresh_db: str) -> None:
    report = run(fresh_db)
    [finding] = problems(report, "queries.statements")
    assert "not available" in finding.title
    assert finding.fix[-1] == "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"


@pytest.fixture
def table(fresh_db: str) -> str:
    with connect(fresh_db) as conn:
        conn.execute("CREATE TABLE counter (id int PRIMARY KEY, n int)")
        conn.execute("INSERT INTO counter VALUES (1, 0)")
    return fresh_db


def _pid(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def test_transaction_held_open_red_then_green(table: str) -> None:
    holder = connect(table)
    try:
        holder.execute("BEGIN")
        holder.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
        pid = _pid(holder)
        time.sleep(0.3)
        report = run(table, idle_in_transaction_s=0.2)
        [finding] = problems(report, "sessions.idle_in_transaction")
        assert finding.subject == str(pid)
        assert finding.fix == (f"SELECT pg_terminate_backend({pid});",)
        assert passed(run(table), "sessions.idle_in_transaction")  # default: 60 s
        apply_fix(table, finding)
        _wait_gone(table, pid)
        assert passed(run(table, idle_in_transaction_s=0.2), "sessions.idle_in_transaction")
    finally:
        holder.close()


def test_blocked_query_red_then_green(table: str) -> None:
    holder = connect(table)
    waiter = connect(table)
    errors: list[BaseException] = []

    def wait_for_lock() -> None:
        try:
            waiter.execute("UPDATE counter SET n = n + 10 WHERE id = 1")
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)

    try:
        holder.execute("BEGIN")
        holder.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
        holder_pid, waiter_pid = _pid(holder), _pid(waiter)
        thread = threading.Thread(target=wait_for_lock)
        thread.start()
        time.sleep(0.4)
        report = run(table, blocked_s=0.2, idle_in_transaction_s=3600)
        [finding] = problems(report, "sessions.blocked")
        assert finding.subject == str(waiter_pid)
        assert finding.data["blockedBy"] == [holder_pid]
        assert finding.fix == (f"SELECT pg_terminate_backend({holder_pid});",)
        apply_fix(table, finding)
        thread.join(10)
        assert not thread.is_alive() and not errors  # the waiter got its lock
        assert passed(run(table, blocked_s=0.2), "sessions.blocked")
        with connect(table) as conn:
            assert conn.execute("SELECT n FROM counter").fetchone() == (10,)
    finally:
        holder.close()
        waiter.close()


def test_long_running_query_red_then_green(fresh_db: str) -> None:
    runner = connect(fresh_db)
    errors: list[BaseException] = []

    def sleep() -> None:
        try:
            runner.execute("SELECT pg_sleep(30)")
        except BaseException as exc:
            errors.append(exc)

    try:
        thread = threading.Thread(target=sleep)
        thread.start()
        time.sleep(0.5)
        report = run(fresh_db, long_running_s=0.3)
        [finding] = problems(report, "sessions.long_running")
        assert finding.fix == (f"SELECT pg_cancel_backend({finding.subject});",)
        apply_fix(fresh_db, finding)
        thread.join(10)
        assert not thread.is_alive()
        assert errors and isinstance(errors[0], psycopg.errors.QueryCanceled)
        assert passed(run(fresh_db, long_running_s=0.3), "sessions.long_running")
    finally:
        runner.close()


def _wait_gone(url: str, pid: int) -> None:
    with connect(url) as conn:
        for _ in range(100):
            if not conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
                return
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} still there")
