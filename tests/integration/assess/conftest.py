"""Fixtures for the assessment tests: fresh databases to plant problems in, and helpers that
run the assessment, pick findings and apply their printed fixes verbatim."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from spacekontext.settings import Settings
from spacekontext.tools.assess import AppShape, Finding, Report, Severity, Thresholds, assess
from spacekontext.tools.assess.runner import app_shape, psycopg_dsn
from tests.conftest import require


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(psycopg_dsn(url), autocommit=True)


def flush_stats(conn: psycopg.Connection[Any]) -> None:
    """Make this backend's cumulative statistics visible to other sessions now (PostgreSQL
    flushes them lazily, at most once a second, otherwise)."""
    conn.execute("SELECT pg_stat_force_next_flush()")


def shape(url: str, **overrides: Any) -> AppShape:
    """The app as the command line would describe it, pointed at a database it does not own."""
    settings = Settings(env="test", database_url="postgresql://app@elsewhere/app")
    base = app_shape(settings, database_url=url)
    return AppShape(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, **overrides})


def run(url: str, *, schema: str | None = "public", **thresholds: Any) -> Report:
    return assess(url, shape(url), schema=schema, thresholds=Thresholds(**thresholds))


def problems(report: Report, check: str | None = None) -> list[Finding]:
    return [
        f
        for f in report.findings
        if f.severity.rank >= Severity.WARNING.rank and (check is None or f.check == check)
    ]


def passed(report: Report, check: str) -> bool:
    mine = [f for f in report.findings if f.check == check]
    return bool(mine) and all(f.severity is Severity.OK for f in mine)


def apply_fix(url: str, finding: Finding) -> None:
    """Run the finding's fix exactly as printed (comment lines are the only thing skipped)."""
    statements = [line for line in finding.fix if not line.startswith(("--", "#"))]
    assert statements, f"no statement to apply in {finding.fix}"
    with connect(url) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


@pytest.fixture
def fresh_db(create_database: Callable[[], str]) -> str:
    return create_database()


@pytest.fixture(scope="session")
def statements_preloaded(server_url: str) -> bool:
    with connect(server_url) as conn:
        libraries = conn.execute("SHOW shared_preload_libraries").fetchone()
    return libraries is not None and "pg_stat_statements" in str(libraries[0])


@pytest.fixture
def with_statements(fresh_db: str, statements_preloaded: bool) -> Iterator[str]:
    """A fresh database with pg_stat_statements (the embedded test server preloads it; a
    DATABASE_URL server without it skips here, and fails under CI=true)."""
    require(statements_preloaded, "pg_stat_statements in shared_preload_libraries")
    with connect(fresh_db) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    yield fresh_db
