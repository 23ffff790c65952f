"""Queries and sessions: statement statistics (pg_stat_statements), long-running and
idle-in-transaction sessions, blocked queries. Also the connection pool and the pooler."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import psycopg

from spacekontext.tools.assess.context import Context
from spacekontext.tools.assess.model import Finding, Severity
from spacekontext.tools.assess.statements import statements

QUERIES = "Queries and sessions"
POOLING = "Connection pooling"


def _short(query: str, limit: int = 160) -> str:
    flat = " ".join(query.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def statement_statistics(ctx: Context) -> list[Finding]:
    check = "queries.statements"
    t = ctx.thresholds
    found = statements(ctx)
    if found.rows is None:
        steps: list[str] = []
        if found.preloaded is not True:
            steps += [
                "-- postgresql.conf (or your provider's parameter group), then restart:",
                "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';",
            ]
        steps.append("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;")
        loaded = {True: "is", False: "is not", None: "may not be"}[found.preloaded]
        return [
            Finding(
                check,
                QUERIES,
                Severity.WARNING,
                "pg_stat_statements is not available: slow queries cannot be seen",
                (
                    f"pg_stat_statements: {found.problem}; the library {loaded} preloaded.",
                    "Without it there is no per-statement time, so slow and frequent "
                    "statements go unnoticed until users feel them.",
                ),
                tuple(steps),
                subject="pg_stat_statements",
            )
        ]
    top = found.rows[: t.top_statements]
    evidence = [
        f"{float(r['total_exec_time']) / 1000:.1f} s total, {r['calls']:,} calls, "
        f"mean {float(r['mean_exec_time']):.2f} ms: {_short(r['query'])}"
        for r in top
    ] or ["No statements recorded yet for this database."]
    findings = [
        Finding(
            check,
            QUERIES,
            Severity.OK,
            f"Top {len(top)} statements by total time",
            tuple(evidence),
            data={"top": [_statement_json(r) for r in top]},
        )
    ]
    slow = [
        r
        for r in found.rows
        if float(r["mean_exec_time"]) >= t.slow_query_mean_ms and r["calls"] >= t.slow_query_calls
    ]
    for r in slow:
        findings.append(
            Finding(
                "queries.slow",
                QUERIES,
                Severity.WARNING,
                f"Slow statement: mean {float(r['mean_exec_time']):.1f} ms "
                f"over {r['calls']:,} calls",
                (
                    _short(r["query"], 400),
                    f"mean {float(r['mean_exec_time']):.1f} ms (threshold "
                    f"{t.slow_query_mean_ms:g} ms at ≥ {t.slow_query_calls} calls), max "
                    f"{float(r['max_exec_time']):.1f} ms, {float(r['total_exec_time']) / 1000:.1f}"
                    " s in total.",
                ),
                (
                    "-- EXPLAIN (ANALYZE, BUFFERS) the statement with real parameters; add the "
                    "index it lacks or narrow what it reads, then restart its figures:",
                    f"SELECT pg_stat_statements_reset(0, 0, {r['queryid']});",
                ),
                subject=str(r["queryid"]),
                data=_statement_json(r),
            )
        )
    if not slow:
        findings.append(
            Finding(
                "queries.slow",
                QUERIES,
                Severity.OK,
                "No slow statements",
                (
                    f"No statement with mean ≥ {t.slow_query_mean_ms:g} ms over ≥ "
                    f"{t.slow_query_calls} calls among {len(found.rows):,} recorded.",
                ),
            )
        )
    return findings


def _statement_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "queryId": str(row["queryid"]),
        "query": row["query"],
        "calls": row["calls"],
        "totalMs": round(float(row["total_exec_time"]), 3),
        "meanMs": round(float(row["mean_exec_time"]), 3),
        "maxMs": round(float(row["max_exec_time"]), 3),
    }


_SESSIONS_SQL = """
    SELECT pid, usename, application_name, state, wait_event_type, wait_event,
           left(query, 400) AS query,
           extract(epoch FROM now() - query_start)::float8 AS query_s,
           extract(epoch FROM now() - xact_start)::float8 AS xact_s,
           pg_blocking_pids(pid) AS blocked_by
    FROM pg_stat_activity
    WHERE pid <> pg_backend_pid()
      AND backend_type = 'client backend'
      AND datname = current_database()
    ORDER BY pid
"""


def _sessions(ctx: Context) -> list[dict[str, Any]]:
    cached: list[dict[str, Any]] | None = ctx.cache.get("sessions")
    if cached is None:
        cached = ctx.rows(_SESSIONS_SQL)
        ctx.cache["sessions"] = cached
    return cached


def _who(row: dict[str, Any]) -> str:
    app = f", {row['application_name']}" if row["application_name"] else ""
    return f"pid {row['pid']} ({row['usename']}{app})"


def long_running(ctx: Context) -> list[Finding]:
    check = "sessions.long_running"
    limit = ctx.thresholds.long_running_s
    rows = [
        r
        for r in _sessions(ctx)
        if r["state"] == "active" and (r["query_s"] or 0) >= limit and not r["blocked_by"]
    ]
    return _per_session(
        check,
        rows,
        "query_s",
        "Query running for {:.0f} s",
        lambda r: (f"{_who(r)}: {_short(r['query'] or '')}",),
        "pg_cancel_backend",
        ok=Finding(
            check, QUERIES, Severity.OK, "No long-running queries", (f"None over {limit:g} s.",)
        ),
    )


def idle_in_transaction(ctx: Context) -> list[Finding]:
    check = "sessions.idle_in_transaction"
    limit = ctx.thresholds.idle_in_transaction_s
    rows = [
        r
        for r in _sessions(ctx)
        if (r["state"] or "").startswith("idle in transaction") and (r["xact_s"] or 0) >= limit
    ]
    return _per_session(
        check,
        rows,
        "xact_s",
        "Transaction left open for {:.0f} s",
        lambda r: (
            f"{_who(r)} is {r['state']}; last statement: {_short(r['query'] or '')}",
            "It holds its locks and keeps vacuum from removing dead rows.",
        ),
        "pg_terminate_backend",
        ok=Finding(
            check,
            QUERIES,
            Severity.OK,
            "No transactions left open",
            (f"No session idle in a transaction for {limit:g} s or more.",),
        ),
    )


def _per_session(
    check: str,
    rows: list[dict[str, Any]],
    seconds: str,
    title: str,
    evidence: Callable[[dict[str, Any]], tuple[str, ...]],
    backend_function: str,
    *,
    ok: Finding,
) -> list[Finding]:
    """A warning per session in `rows` (`seconds` the column that measures it, `title` its
    format, `backend_function` the call that ends it), or `ok` when there is none."""
    findings = [
        Finding(
            check,
            QUERIES,
            Severity.WARNING,
            title.format(r[seconds]),
            evidence(r),
            (f"SELECT {backend_function}({r['pid']});",),
            subject=str(r["pid"]),
            data={"pid": r["pid"], "seconds": round(r[seconds], 1)},
        )
        for r in rows
    ]
    return findings or [ok]


def blocked_queries(ctx: Context) -> list[Finding]:
    check = "sessions.blocked"
    limit = ctx.thresholds.blocked_s
    sessions = {r["pid"]: r for r in _sessions(ctx)}
    blocked = [r for r in sessions.values() if r["blocked_by"] and (r["query_s"] or 0) >= limit]
    findings = []
    for r in blocked:
        # Terminate the head of the chain, not a session that is itself waiting.
        roots = sorted(
            pid for pid in r["blocked_by"] if not (sessions.get(pid) or {}).get("blocked_by")
        ) or sorted(r["blocked_by"])
        blockers = [
            f"blocked by {_who(sessions[pid])}, {sessions[pid]['state']}: "
            f"{_short(sessions[pid]['query'] or '')}"
            if pid in sessions
            else f"blocked by pid {pid}"
            for pid in r["blocked_by"]
        ]
        findings.append(
            Finding(
                check,
                QUERIES,
                Severity.WARNING,
                f"Query waiting {r['query_s']:.0f} s on a lock",
                (
                    f"{_who(r)} waits ({r['wait_event_type']}): {_short(r['query'] or '')}",
                    *blockers,
                ),
                tuple(f"SELECT pg_terminate_backend({pid});" for pid in roots),
                subject=str(r["pid"]),
                data={"pid": r["pid"], "blockedBy": list(r["blocked_by"])},
            )
        )
    return findings or [
        Finding(
            check,
            QUERIES,
            Severity.OK,
            "No blocked queries",
            (f"No query waiting on a lock for {limit:g} s or more.",),
        )
    ]


# --- pooling -------------------------------------------------------------------------------


def _pgbouncer_pools(ctx: Context) -> list[dict[str, Any]] | None:
    """PgBouncer's admin console answers `SHOW POOLS` in its virtual `pgbouncer` database on
    the same address; a PostgreSQL server has no such database."""
    if not ctx.host or not ctx.port or ctx.host.startswith("/"):
        return None
    try:
        with psycopg.connect(
            host=ctx.host,
            port=ctx.port,
            dbname="pgbouncer",
            user=ctx.user or "",
            password=ctx.password or "",
            connect_timeout=3,
            autocommit=True,
            prepare_threshold=None,
        ) as admin:
            cursor = admin.execute("SHOW POOLS")
            names = [c.name for c in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except psycopg.Error:
        return None


# A pool mode other than transaction, and what it means for this app.
_POOL_MODE_PROBLEMS = {
    "session": (
        Severity.WARNING,
        "each client connection keeps a server connection for its whole session, so the pooler "
        "multiplies nothing: the app's pools still need as many server processes",
    ),
    "statement": (
        Severity.CRITICAL,
        "a transaction of more than one statement is refused, and every write of the app is one",
    ),
}


def _pooler_finding(
    ctx: Context,
    pools: list[dict[str, Any]] | None,
    base_evidence: tuple[str, ...],
    server_port: Any,
) -> Finding:
    """What is in front of the database, judged for this app: clients waiting for a server
    connection, the pool mode, and whether the app is configured for PgBouncer."""
    evidence = list(base_evidence)
    # (severity, title, fix lines) of each problem; the worst names the finding.
    problems: list[tuple[Severity, str, tuple[str, ...]]] = []
    if pools is not None:
        # The console lists every pool it keeps (other databases', its own admin pool): only
        # this database's clients wait for this database's server connections.
        database = ctx.conn.info.dbname
        mine = [p for p in pools if p.get("database") == database]
        others = len(pools) - len(mine)
        for p in mine:
            evidence.append(
                f"PgBouncer pool {p.get('database')}/{p.get('user')} "
                f"({p.get('pool_mode')}): cl_active {p.get('cl_active')}, "
                f"cl_waiting {p.get('cl_waiting')}, sv_active {p.get('sv_active')}, "
                f"sv_idle {p.get('sv_idle')}."
            )
        if others:
            evidence.append(f"{others} pools of other databases not counted.")
        waiting = sum(int(p.get("cl_waiting") or 0) for p in mine)
        if waiting:
            evidence.append(f"{waiting} clients are waiting for a server connection.")
            problems.append(
                (
                    Severity.WARNING,
                    "Clients are waiting for a server connection at the pooler",
                    ("-- raise PgBouncer's default_pool_size or max_db_connections",),
                )
            )
        for mode in sorted({str(p.get("pool_mode")) for p in mine} & _POOL_MODE_PROBLEMS.keys()):
            severity, why = _POOL_MODE_PROBLEMS[mode]
            evidence.append(f"pool_mode {mode}: {why}.")
            problems.append(
                (
                    severity,
                    f"PgBouncer pools this database in {mode} mode",
                    ("# in pgbouncer.ini, then reload PgBouncer:", "pool_mode = transaction"),
                )
            )
    else:
        evidence.append(
            f"Connected on port {ctx.port}, the server listens on {server_port}: "
            "a pooler or proxy is in between (its console did not answer SHOW POOLS)."
        )
    if ctx.app.is_app_database and ctx.app.pooler_configured != "pgbouncer":
        # The app's direct mode sends its timeouts as startup parameters, which PgBouncer
        # refuses, and asyncpg's prepared statements do not survive transaction pooling.
        evidence.append(
            f"The app is configured with DATABASE_POOLER={ctx.app.pooler_configured}: it sends "
            "its timeouts as startup parameters, which PgBouncer refuses, and keeps "
            "prepared statements that another client's server connection does not have."
        )
        problems.append(
            (
                Severity.CRITICAL,
                "A pooler is in front, but the app is not configured for it",
                ("DATABASE_POOLER=pgbouncer",),
            )
        )
    severity, title = Severity.OK, "A pooler is in front of the database"
    if problems:
        severity, title, _ = max(problems, key=lambda p: p[0].rank)
    return Finding(
        "pooling.pooler",
        POOLING,
        severity,
        title,
        tuple(evidence),
        tuple(line for p in problems for line in p[2]),
        subject="pooler",
    )


def pooling(ctx: Context) -> list[Finding]:
    check = "pooling.pooler"
    app = ctx.app
    t = ctx.thresholds
    limits = ctx.one(
        """SELECT current_setting('max_connections')::int AS max_connections,
                  current_setting('superuser_reserved_connections')::int AS superuser_reserved,
                  coalesce(current_setting('reserved_connections', true), '0')::int AS reserved,
                  inet_server_port() AS server_port"""
    )
    available = limits["max_connections"] - limits["superuser_reserved"] - limits["reserved"]
    states = ctx.rows(
        """SELECT coalesce(state, 'unknown') AS state, count(*)::int AS n FROM pg_stat_activity
           WHERE backend_type = 'client backend' GROUP BY 1 ORDER BY 2 DESC"""
    )
    in_use = sum(r["n"] for r in states)
    ctx.cache["connections"] = {"available": available, "in_use": in_use, **limits}
    by_state = ", ".join(f"{r['n']} {r['state']}" for r in states) or "none"
    base_evidence = (
        f"max_connections {limits['max_connections']} − {limits['superuser_reserved']} "
        f"superuser-reserved − {limits['reserved']} reserved = {available} available.",
        f"In use now: {in_use} client connections ({by_state}).",
    )
    pools = _pgbouncer_pools(ctx)
    proxied = (
        limits["server_port"] is not None
        and ctx.port is not None
        and not (ctx.host or "").startswith("/")
        and int(limits["server_port"]) != ctx.port
    )
    findings: list[Finding] = []
    if pools is not None or proxied:
        findings.append(_pooler_finding(ctx, pools, base_evidence, limits["server_port"]))
    else:
        demand = app.connection_demand
        per_worker = max(app.connections_per_worker, 1)
        processes = app.workers * app.hosts
        fit_safe = math.floor(available * t.connections_warning_pct / 100 / per_worker)
        evidence = [
            *base_evidence,
            "No pooler answered (no PgBouncer console on this address, client and server "
            "ports agree): every app connection is a server process.",
            f"The app opens up to {app.pool_size} + {app.max_overflow} overflow "
            f"+ {app.read_pool_size} for the hot reads = {per_worker} "
            f"per worker × {app.workers} workers × {app.hosts} hosts = {demand}.",
            f"{fit_safe} workers in all fit within {t.connections_warning_pct:g}% of {available}.",
        ]
        if demand > available:
            severity = Severity.CRITICAL
        elif demand > available * t.connections_warning_pct / 100:
            severity = Severity.WARNING
        else:
            severity = Severity.OK
        fix: tuple[str, ...] = ()
        if severity is not Severity.OK:
            fitting = max(
                1, math.floor(available * t.connections_warning_pct / 100 / max(processes, 1))
            )
            # The hot reads' pool keeps a third of what fits (at least one connection).
            read = max(1, fitting // 3) if app.read_pool_size else 0
            fix = (
                "# put PgBouncer (pool_mode = transaction) in front and point the app at it:",
                "DATABASE_URL=postgresql://USER:PASSWORD@PGBOUNCER_HOST:6432/DB",
                "DATABASE_POOLER=pgbouncer",
                f"# or, without a pooler, cap each worker so that all {processes} fit:",
                f"DB_POOL_SIZE={max(1, fitting - read)}",
                "DB_MAX_OVERFLOW=0",
                *((f"DB_READ_POOL_SIZE={read}",) if read else ()),
            )
        title = {
            Severity.OK: "Direct connections, within the server's limit",
            Severity.WARNING: "No pooler, and the app's pools nearly fill max_connections",
            Severity.CRITICAL: "No pooler, and the app's pools exceed max_connections",
        }[severity]
        findings.append(
            Finding(
                check,
                POOLING,
                severity,
                title,
                tuple(evidence),
                fix,
                subject="pooler",
                data={"demand": demand, "available": available},
            )
        )
    used_pct = 100.0 * in_use / available if available > 0 else 100.0
    if used_pct >= t.connections_warning_pct:
        findings.append(
            Finding(
                "pooling.usage",
                POOLING,
                Severity.CRITICAL if in_use >= available else Severity.WARNING,
                f"{in_use} of {available} connections in use ({used_pct:.0f}%)",
                (f"By state: {by_state}.",),
                (
                    "-- find who holds them: SELECT usename, application_name, state, count(*) "
                    "FROM pg_stat_activity GROUP BY 1, 2, 3 ORDER BY 4 DESC;",
                    "-- then put a pooler in front or lower the pool sizes (see above)",
                ),
                subject="connections",
            )
        )
    return findings
