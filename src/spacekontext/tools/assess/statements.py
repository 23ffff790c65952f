"""pg_stat_statements, read once per assessment: the queries check reports on it and the index
check derives suggested columns from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from spacekontext.tools.assess.context import Context


@dataclass(frozen=True, slots=True)
class Statements:
    rows: list[dict[str, Any]] | None  # None: not available
    preloaded: bool | None  # None: this role may not read shared_preload_libraries
    installed: bool
    problem: str | None = None


def statements(ctx: Context) -> Statements:
    cached: Statements | None = ctx.cache.get("statements")
    if cached is None:
        cached = _read(ctx)
        ctx.cache["statements"] = cached
    return cached


def _read(ctx: Context) -> Statements:
    try:
        libraries = ctx.value("SHOW shared_preload_libraries")
        preloaded: bool | None = "pg_stat_statements" in str(libraries)
    except psycopg.Error:
        preloaded = None
    schema = ctx.value(
        """SELECT quote_ident(n.nspname) FROM pg_extension e
           JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'"""
    )
    if schema is None:
        return Statements(None, preloaded, False, "the extension is not created in this database")
    try:
        rows = ctx.rows(
            f"""
            SELECT s.queryid, s.query, s.calls, s.total_exec_time, s.mean_exec_time,
                   s.stddev_exec_time, s.max_exec_time, s.rows
            FROM {schema}.pg_stat_statements s
            WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND s.query IS NOT NULL
            ORDER BY s.total_exec_time DESC
            """  # noqa: S608 - schema is quote_ident'ed by the server
        )
    except psycopg.Error as exc:
        return Statements(None, preloaded, True, str(exc).strip().splitlines()[0])
    return Statements(rows, preloaded, True)
