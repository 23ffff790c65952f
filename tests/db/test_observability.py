"""Pool limits, connection settings, the slow-query log, Server-Timing, /metrics and request ids
in logs, against the suite's PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from spacekontext.app import create_app
from spacekontext.auth.deps import ServicesDep
from spacekontext.db.engine import Database, Statement
from spacekontext.db.observe import LineBudget, normalize_statement
from spacekontext.http.responses import JSONBytes
from spacekontext.observability.logging import configure_logging
from spacekontext.services import Services, build_services
from tests.db.conftest import scale_settings

Auth = Callable[[str], dict[str, str]]


@asynccontextmanager
async def app_on(
    home: Path, database_url: str, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    settings = scale_settings(home, database_url=database_url, **overrides)
    db = Database.from_settings(settings)
    services = build_services(settings, db)
    app = create_app(settings, services=services)

    @app.get("/test/sleep/{seconds}")
    async def sleep(seconds: float, services: ServicesDep) -> JSONBytes:
        async with services.db.read() as session:
            await session.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})
        return JSONBytes({"slept": seconds})

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, services
    finally:
        await services.aclose()
        await db.dispose()


async def test_exhausted_pool_answers_503_with_retry_after_within_the_timeout(
    home: Path, database_url: str, auth: Auth
) -> None:
    async with app_on(
        home, database_url, db_pool_size=1, db_max_overflow=0, db_pool_timeout_s=0.5
    ) as (client, services):
        async with services.db.unit_of_work():  # holds the only connection
            started = time.monotonic()
            response = await client.get("/api/projects", headers=auth("busy@example.com"))
            elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json()["code"] == "database_busy"
        assert 0.4 < elapsed < 3
        # Released: the same request now succeeds.
        again = await client.get("/api/projects", headers=auth("busy@example.com"))
        assert again.status_code == 200
        metrics_text = (await client.get("/metrics")).text
        assert 'spacekontext_db_pool_timeouts_total{role="primary"}' in metrics_text


async def test_the_driver_pool_is_bounded_and_answers_503_within_the_timeout(
    home: Path, database_url: str, auth: Auth
) -> None:
    """The hot reads' own pool (db/driverpool.py) has its size and timeout too: with its only
    connection held by a slow read, the next read is a 503, not a hang."""
    async with app_on(home, database_url, db_read_pool_size=1, db_pool_timeout_s=0.4) as (
        client,
        services,
    ):
        headers = auth("driver-busy@example.com")
        assert (await client.get("/api/projects", headers=headers)).status_code == 200
        slow = asyncio.ensure_future(
            services.db.fetch(Statement("SELECT pg_sleep(:s)"), {"s": 1.5})
        )
        await asyncio.sleep(0.3)
        started = time.monotonic()
        response = await client.get("/api/projects", headers=headers)
        elapsed = time.monotonic() - started
        await slow
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "database_busy"
        assert response.headers["retry-after"] == "1"
        assert 0.3 < elapsed < 1.2
        assert (await client.get("/api/projects", headers=headers)).status_code == 200
        metrics_text = (await client.get("/metrics")).text
        assert 'spacekontext_db_pool_timeouts_total{role="primary-driver"}' in metrics_text


async def test_every_connection_carries_name_and_timeouts(home: Path, database_url: str) -> None:
    async with app_on(
        home,
        database_url,
        db_application_name="sk-settings-test",
        db_statement_timeout_ms=150,
        db_idle_in_transaction_timeout_ms=7000,
    ) as (_, services):
        async with services.db.read() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT current_setting('application_name'), "
                        "current_setting('statement_timeout'), "
                        "current_setting('idle_in_transaction_session_timeout')"
                    )
                )
            ).one()
            assert tuple(row) == ("sk-settings-test:primary", "150ms", "7s")
        async with services.db.read() as session:
            with pytest.raises(DBAPIError, match="statement timeout"):
                await session.execute(text("SELECT pg_sleep(1)"))
        # The driver's own pool (the hot reads) carries the same settings.
        rows = await services.db.fetch(
            Statement(
                "SELECT current_setting('application_name') AS a, "
                "current_setting('statement_timeout') AS s, "
                "current_setting('idle_in_transaction_session_timeout') AS i"
            ),
            {},
        )
        assert tuple(rows[0].values()) == ("sk-settings-test:primary", "150ms", "7s")
        with pytest.raises(asyncpg.QueryCanceledError, match="statement timeout"):
            await services.db.fetch(Statement("SELECT pg_sleep(1)"), {})


async def test_slow_statement_is_logged_with_route_and_request_id(
    home: Path, database_url: str
) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("info", json=True)
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        async with app_on(home, database_url, slow_query_ms=100) as (client, _):
            fast = await client.get("/test/sleep/0")
            slow = await client.get("/test/sleep/0.2", headers={"X-Request-ID": "slow-req-1"})
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    assert fast.status_code == slow.status_code == 200
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    slow_lines = [line for line in lines if line.get("event") == "slow statement"]
    assert len(slow_lines) == 1, lines
    entry = slow_lines[0]
    assert entry["route"] == "/test/sleep/{seconds}"
    assert entry["request_id"] == "slow-req-1"
    assert "pg_sleep(" in entry["statement"] and "0.2" not in entry["statement"]
    assert entry["duration_ms"] >= 200
    assert entry["level"] == "warning"


def test_slow_statement_lines_are_bounded_and_count_what_they_leave_out() -> None:
    # An overloaded server sees every statement as slow: the lines are held to a budget per
    # process, and the next line written says how many were left out.
    now = [0.0]
    budget = LineBudget(per_second=10, burst=20, clock=lambda: now[0])
    written = [budget.take() for _ in range(100)]
    assert written[:20] == [0] * 20
    assert written[20:] == [None] * 80
    now[0] += 0.5  # five lines' worth
    assert [budget.take() for _ in range(6)] == [80, 0, 0, 0, 0, None]
    now[0] += 60
    assert budget.take() == 1  # the bucket holds at most the burst
    assert [budget.take() for _ in range(20)].count(None) == 1


def test_statements_are_normalized() -> None:
    assert (
        normalize_statement("SELECT *\n  FROM t WHERE a = 'x''y' AND b IN (1, 2, 3) AND c = $1")
        == "SELECT * FROM t WHERE a = ? AND b IN (?...) AND c = $1"
    )
    assert normalize_statement("SELECT pg_sleep(0.25)") == "SELECT pg_sleep(?)"


async def test_server_timing_reports_db_time_and_statement_count(
    home: Path, database_url: str
) -> None:
    async with app_on(home, database_url) as (client, _):
        response = await client.get("/test/sleep/0.05")
        without_db = await client.get("/healthz")
    timing = response.headers["server-timing"]
    db_part = timing.split(",")[0]
    assert db_part.startswith("db;dur=")
    assert float(db_part.split("dur=")[1].split(";")[0]) >= 50
    assert 'desc="1 statements"' in db_part
    assert without_db.headers["server-timing"].startswith('db;dur=0.00;desc="0 statements"')


async def test_metrics_expose_requests_pool_and_statements(
    home: Path, database_url: str, auth: Auth
) -> None:
    async with app_on(home, database_url, db_pool_size=3) as (client, _):
        headers = auth("metrics@example.com")
        await asyncio.gather(*(client.get("/api/projects", headers=headers) for _ in range(5)))
        project = await client.post("/api/projects", json={"name": "m"}, headers=headers)
        assert project.status_code == 201
        await client.get(f"/api/projects/{project.json()['project']['id']}", headers=headers)
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert (
        'spacekontext_http_requests_total{method="GET",route="/api/projects",status="200"}' in body
    )
    # The route template, never the raw path with an id in it.
    assert 'route="/api/projects/{project_id}"' in body
    assert project.json()["project"]["id"] not in body
    assert 'spacekontext_http_request_duration_seconds_bucket{le="0.005",method="GET"' in body
    assert 'spacekontext_db_pool_size{role="primary"} 3.0' in body
    assert 'spacekontext_db_pool_in_use{role="primary"}' in body
    assert 'spacekontext_db_pool_waiting{role="primary"} 0.0' in body
    assert 'spacekontext_db_statement_duration_seconds_count{role="primary"}' in body
    for shared in ("cache_lookups", "storage_operations", "db_read_routing"):
        assert f"# TYPE spacekontext_{shared}_total counter" in body


async def test_readyz_without_replicas_is_ready(home: Path, database_url: str) -> None:
    async with app_on(home, database_url) as (client, _):
        response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["replicas"] == {}
