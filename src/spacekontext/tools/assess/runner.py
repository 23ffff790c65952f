"""Run every check against one database and gather the report.

The blocking psycopg 3 driver keeps this usable against any server from any shell: one
autocommit connection, each catalog query in its own short transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from spacekontext.errors import Invalid, Unavailable
from spacekontext.settings import Settings
from spacekontext.tools.assess import checks_activity as activity
from spacekontext.tools.assess import checks_health as health
from spacekontext.tools.assess import checks_indexes as indexes
from spacekontext.tools.assess import checks_platform as platform
from spacekontext.tools.assess.context import SYSTEM_SCHEMAS_SQL, Context
from spacekontext.tools.assess.model import AppShape, Finding, Report, Severity, Thresholds
from spacekontext.tools.assess.projections import project

Check = Callable[[Context], list[Finding]]

# (id, concern, check) in report order.
CHECKS: tuple[tuple[str, str, Check], ...] = (
    ("pooling.pooler", activity.POOLING, activity.pooling),
    ("indexes.unindexed_fk", indexes.CONCERN, indexes.unindexed_foreign_keys),
    ("indexes.seq_scans", indexes.CONCERN, indexes.sequential_scans),
    ("indexes.unused", indexes.CONCERN, indexes.unused_indexes),
    ("indexes.duplicate", indexes.CONCERN, indexes.duplicate_indexes),
    ("indexes.invalid", indexes.CONCERN, indexes.invalid_indexes),
    ("queries.statements", activity.QUERIES, activity.statement_statistics),
    ("sessions.long_running", activity.QUERIES, activity.long_running),
    ("sessions.idle_in_transaction", activity.QUERIES, activity.idle_in_transaction),
    ("sessions.blocked", activity.QUERIES, activity.blocked_queries),
    ("json.columns", platform.JSON, platform.json_columns),
    ("storage.backend", platform.STORAGE, platform.storage),
    ("replicas.streaming", platform.REPLICATION, platform.replication),
    ("health.cache_hit", health.CONCERN, health.cache_hit_ratio),
    ("health.bloat", health.CONCERN, health.bloat),
    ("health.vacuum", health.CONCERN, health.vacuum_staleness),
    ("health.xid_wraparound", health.CONCERN, health.wraparound),
    ("health.sequences", health.CONCERN, health.sequences),
    ("health.partitions", health.CONCERN, health.partitions),
    ("settings.timeouts", health.CONCERN, health.timeouts),
)


def psycopg_dsn(url: str) -> str:
    """`postgresql[+driver]://…` → a libpq URI psycopg accepts (query options kept as libpq
    spells them, e.g. sslmode)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith(("postgresql", "postgres")):
        raise Invalid(f"not a PostgreSQL URL: {parsed.drivername}://…", code="bad_database_url")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def same_database(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    left, right = make_url(a), make_url(b)
    return (left.host, left.port, left.database, dict(left.query).get("host")) == (
        right.host,
        right.port,
        right.database,
        dict(right.query).get("host"),
    )


def app_shape(
    settings: Settings,
    *,
    database_url: str | None,
    workers: int = 1,
    hosts: int = 1,
    target_users: int = 1_000,
) -> AppShape:
    cache = "redis" if settings.redis_url else "memory"
    if not settings.cache_enabled:
        cache = "disabled"
    return AppShape(
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # Opened only by the tuned profile (the naive one reads through the main pool).
        read_pool_size=settings.db_read_pool_size if settings.profile == "tuned" else 0,
        workers=workers,
        hosts=hosts,
        pooler_configured=settings.database_pooler,
        storage_backend=settings.storage_backend,
        read_replicas=len(settings.database_read_urls),
        max_replica_lag_s=settings.max_replica_lag_s,
        cache_backend=cache,
        app_statement_timeout_ms=settings.db_statement_timeout_ms,
        app_idle_in_transaction_timeout_ms=settings.db_idle_in_transaction_timeout_ms,
        is_app_database=database_url is None or same_database(database_url, settings.database_url),
        target_users=target_users,
    )


def assess(
    database_url: str,
    app: AppShape,
    *,
    schema: str | None = None,
    thresholds: Thresholds | None = None,
) -> Report:
    try:
        conn = psycopg.connect(
            psycopg_dsn(database_url),
            autocommit=True,
            # PgBouncer in transaction mode: no server-side prepared statements.
            prepare_threshold=None,
            connect_timeout=10,
            application_name="spacekontext:assess",
        )
    except psycopg.OperationalError as exc:
        raise Unavailable(
            f"cannot connect to the database: {str(exc).strip().splitlines()[-1]}",
            code="database_unreachable",
        ) from exc
    with conn:
        return _assess(conn, app, schema, thresholds or Thresholds())


def _assess(
    conn: psycopg.Connection[Any],
    app: AppShape,
    schema: str | None,
    thresholds: Thresholds,
) -> Report:
    info = conn.info
    ctx = Context(
        conn,
        [],
        app,
        thresholds,
        host=info.host,
        port=int(info.port) if info.port else None,
        user=info.user,
        password=info.password,
    )
    user_schemas = [row["nspname"] for row in ctx.rows(SYSTEM_SCHEMAS_SQL)]
    if schema is not None:
        if schema not in user_schemas:
            raise Invalid(
                f"schema {schema!r} does not exist in database {info.dbname!r}",
                code="unknown_schema",
                details={"schemas": user_schemas},
            )
        ctx.schemas = [schema]
    else:
        ctx.schemas = user_schemas
    findings: list[Finding] = []
    for check_id, concern, check in CHECKS:
        try:
            findings += check(ctx)
        except psycopg.Error as exc:
            # A check this role may not run (or this server version lacks) is reported, and
            # the others still run.
            findings.append(
                Finding(
                    check_id,
                    concern,
                    Severity.INFO,
                    "Could not run this check",
                    (str(exc).strip().splitlines()[0],),
                    subject=check_id,
                )
            )
    projections, assumptions = project(ctx)
    version = str(ctx.value("SELECT current_setting('server_version')"))
    return Report(
        database=info.dbname,
        server_version=version,
        schemas=tuple(ctx.schemas),
        assessed_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        findings=tuple(findings),
        projections=tuple(projections),
        assumptions=tuple(assumptions),
    )
