"""The connection and parameters every check reads from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from spacekontext.tools.assess.model import AppShape, Thresholds

# Each catalog query runs in its own short transaction with a local timeout: an assessment must
# never become the long-running query it warns about, and SET LOCAL is safe through PgBouncer's
# transaction mode (a session-level SET would leak to other clients).
QUERY_TIMEOUT = "30s"

SYSTEM_SCHEMAS_SQL = """
    SELECT n.nspname
    FROM pg_namespace n
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%%'
      AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
      -- schemas created by extensions are theirs to maintain
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid
                        AND d.deptype = 'e')
    ORDER BY 1
"""


@dataclass
class Context:
    conn: psycopg.Connection[Any]
    schemas: list[str]
    app: AppShape
    thresholds: Thresholds
    # Connection target as given (host, port) — used to find a pooler's admin console.
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self.conn.transaction(), self.conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = '{QUERY_TIMEOUT}'")
            # Times and partition bounds are read and printed in UTC.
            cursor.execute("SET LOCAL TimeZone = 'UTC'")
            cursor.execute(sql, params or {})
            return cursor.fetchall()

    def one(self, sql: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        rows = self.rows(sql, params)
        return rows[0] if rows else {}

    def value(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        row = self.one(sql, params)
        return next(iter(row.values())) if row else None

    def setting(self, name: str) -> str | None:
        value: str | None = self.value("SELECT current_setting(%(n)s, true) AS v", {"n": name})
        return value

    @property
    def server_version_num(self) -> int:
        if "version" not in self.cache:
            self.cache["version"] = int(self.setting("server_version_num") or 0)
        version: int = self.cache["version"]
        return version

    @property
    def in_recovery(self) -> bool:
        if "recovery" not in self.cache:
            self.cache["recovery"] = bool(self.value("SELECT pg_is_in_recovery() AS r"))
        recovery: bool = self.cache["recovery"]
        return recovery
