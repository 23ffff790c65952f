"""The "Scalability projections" table, computed from live figures.

Per-user figures need to know which table holds the users. It is found from the catalog, not
from names: the root of the foreign-key graph, i.e. the table that the most other tables depend
on directly or through others (users → projects → floorplans → …)."""

from __future__ import annotations

import math
from typing import Any

from spacekontext.tools.assess.checks_indexes import _pretty_bytes
from spacekontext.tools.assess.context import Context
from spacekontext.tools.assess.model import ProjectionRow
from spacekontext.tools.assess.statements import statements


def tenant_table(ctx: Context) -> tuple[str | None, set[str]]:
    edges = ctx.rows(
        """
        SELECT format('%%I.%%I', cn.nspname, c.relname) AS child,
               format('%%I.%%I', pn.nspname, p.relname) AS parent
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
        JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
        WHERE k.contype = 'f' AND k.conparentid = 0 AND k.conrelid <> k.confrelid
          AND cn.nspname = ANY(%(s)s) AND pn.nspname = ANY(%(s)s)
        """,
        {"s": ctx.schemas},
    )
    children: dict[str, set[str]] = {}
    for edge in edges:
        children.setdefault(edge["parent"], set()).add(edge["child"])

    def descendants(table: str) -> set[str]:
        seen: set[str] = set()
        stack = [table]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in seen and child != table:
                    seen.add(child)
                    stack.append(child)
        return seen

    if not children:
        return None, set()
    ranked = sorted(children, key=lambda t: (-len(descendants(t)), t))
    root = ranked[0]
    return root, descendants(root)


def _tables(ctx: Context) -> dict[str, dict[str, Any]]:
    rows = ctx.rows(
        """
        SELECT format('%%I.%%I', rn.nspname, r.relname) AS qualified,
               sum(greatest(c.reltuples, 0))::float8 AS rows,
               sum(pg_total_relation_size(c.oid))::bigint AS bytes
        FROM pg_class c
        JOIN pg_class r ON r.oid = coalesce(pg_partition_root(c.oid), c.oid)
        JOIN pg_namespace rn ON rn.oid = r.relnamespace
        WHERE c.relkind IN ('r', 'm') AND rn.nspname = ANY(%(s)s)
        GROUP BY 1
        """,
        {"s": ctx.schemas},
    )
    return {r["qualified"]: r for r in rows}


def project(ctx: Context) -> tuple[list[ProjectionRow], list[str]]:
    app = ctx.app
    target = app.target_users
    conn = ctx.cache.get("connections") or {}
    memory = ctx.one(
        """SELECT pg_size_bytes(current_setting('shared_buffers')) AS shared_buffers,
                  pg_size_bytes(current_setting('effective_cache_size')) AS cache,
                  pg_database_size(current_database()) AS db_bytes"""
    )
    rows: list[ProjectionRow] = []
    assumptions: list[str] = []

    available = conn.get("available")
    if available is not None:
        safe_connections = math.floor(available * ctx.thresholds.connections_warning_pct / 100)
        rows.append(
            ProjectionRow(
                "Database connections",
                f"{conn['in_use']} in use",
                f"{math.floor(available * ctx.thresholds.connections_warning_pct / 100)}",
                f"{available}",
            )
        )
        per_worker = max(app.connections_per_worker, 1)
        rows.append(
            ProjectionRow(
                f"App processes ({per_worker} connections each, no pooler)",
                f"{app.workers * app.hosts}",
                f"{safe_connections // per_worker}",
                f"{available // per_worker}",
            )
        )

    root, dependents = tenant_table(ctx)
    tables = _tables(ctx)
    per_user_bytes = None
    if root and root in tables:
        users = int(tables[root]["rows"])
        if users < 1_000_000:
            users = int(ctx.value(f"SELECT count(*) FROM {root}") or 0)  # noqa: S608
        owned = [tables[t] for t in dependents if t in tables]
        owned_rows = sum(t["rows"] for t in owned)
        owned_bytes = sum(t["bytes"] for t in owned) + tables[root]["bytes"]
        if users:
            per_user_bytes = owned_bytes / users
            rows.append(
                ProjectionRow(
                    f"Users (rows in {root})",
                    f"{users:,}",
                    f"{int(memory['shared_buffers'] / per_user_bytes):,} (data in shared_buffers)",
                    f"{int(memory['cache'] / per_user_bytes):,} (data beyond effective_cache_size)",
                )
            )
            rows.append(
                ProjectionRow(
                    "Data per user",
                    f"{owned_rows / users:,.1f} rows, {_pretty_bytes(int(per_user_bytes))}",
                    "—",
                    "—",
                )
            )
            rows.append(
                ProjectionRow(
                    f"Database size at {target:,} users (projected)",
                    _pretty_bytes(int(memory["db_bytes"] - owned_bytes + per_user_bytes * target)),
                    _pretty_bytes(int(memory["shared_buffers"])),
                    _pretty_bytes(int(memory["cache"])),
                )
            )
        else:
            rows.append(ProjectionRow(f"Users (rows in {root})", "0", "—", "—"))
        assumptions.append(
            f"Users are the rows of {root}: the root of the foreign-key graph "
            f"({len(dependents)} tables depend on it). Data per user = those tables' rows and "
            "bytes (with indexes and TOAST) divided by the users; growth is linear in users."
        )
        assumptions.append(
            "Safe limit: all users' data fits in shared_buffers; breaking point: it no longer "
            "fits in effective_cache_size (the planner's estimate of RAM for caching), so "
            "reads go to disk. Assumes all data is hot — a pessimistic bound."
        )
    else:
        rows.append(ProjectionRow("Users", "no foreign-key graph to find them", "—", "—"))
    rows.append(ProjectionRow("Database size", _pretty_bytes(int(memory["db_bytes"])), "—", "—"))

    found = statements(ctx)
    timeout_ms = (
        app.app_statement_timeout_ms
        if app.is_app_database and app.app_statement_timeout_ms
        else int(ctx.value("SELECT reset_val FROM pg_settings WHERE name = 'statement_timeout'"))
    )
    if found.rows:
        calls = sum(int(r["calls"]) for r in found.rows)
        total = sum(float(r["total_exec_time"]) for r in found.rows)
        current = f"mean {total / calls:.2f} ms over {calls:,} calls" if calls else "no calls"
    else:
        current = "not available (pg_stat_statements)"
    rows.append(
        ProjectionRow(
            "Statement time",
            current,
            f"{ctx.thresholds.slow_query_mean_ms:g} ms mean",
            f"{timeout_ms} ms (statement_timeout)" if timeout_ms else "no statement_timeout",
        )
    )
    rows.append(
        ProjectionRow(
            "Statements per request, p99 latency",
            "not configured (no request metrics)",
            "—",
            "—",
        )
    )
    storage_safe = "any number of hosts" if app.storage_backend != "local" else "1 process"
    storage_break = "—" if app.storage_backend != "local" else "a 2nd process or host"
    rows.append(ProjectionRow("File storage", app.storage_backend, storage_safe, storage_break))
    replicas = ctx.cache.get("replicas")
    if replicas and (replicas["configured"] or replicas["streaming"]):
        current = f"{replicas['streaming']} streaming, {replicas['configured']} configured"
    else:
        current = "not configured"
    rows.append(ProjectionRow("Read replicas", current, "—", "—"))
    rows.append(ProjectionRow("Cache hit ratio (app cache)", "not configured", "—", "—"))
    ratio = ctx.cache.get("cache_hit")
    rows.append(
        ProjectionRow(
            "Buffer cache hit ratio",
            f"{ratio:.2f}%" if ratio is not None else "no reads yet",
            f"≥ {ctx.thresholds.cache_hit_min_pct:g}%",
            "—",
        )
    )
    assumptions.append(
        "Connections: available = max_connections − superuser_reserved_connections − "
        f"reserved_connections; safe = {ctx.thresholds.connections_warning_pct:g}% of that; "
        "each app process opens up to DB_POOL_SIZE + DB_MAX_OVERFLOW."
    )
    assumptions.append(
        "Figures come from cumulative statistics since their last reset and from planner "
        "estimates (reltuples); they describe this database now, not a load test."
    )
    return rows, assumptions
