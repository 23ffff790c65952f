"""Catalog queries shared by the test suite and `spacekontext assess`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# A foreign key is covered when some valid index (plain, unique or primary key; on a partitioned
# table, the partitioned index) has the FK's columns as its leading columns, in any order. A
# partial index does not count: it covers only some rows, and the RI check needs them all.
_UNINDEXED_FOREIGN_KEYS = """
    SELECT ns.nspname AS schema_name,
           cl.relname AS table_name,
           format('%%I.%%I', ns.nspname, cl.relname) AS qualified_table,
           c.conname AS constraint_name,
           c.confrelid::regclass::text AS referenced_table,
           array_agg(a.attname::text ORDER BY x.n) AS columns,
           array_agg(quote_ident(a.attname) ORDER BY x.n) AS quoted_columns,
           greatest(cl.reltuples, 0)::bigint AS estimated_rows
    FROM pg_constraint c
    JOIN pg_class cl ON cl.oid = c.conrelid
    JOIN pg_namespace ns ON ns.oid = cl.relnamespace
    CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS x(attnum, n)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = x.attnum
    WHERE c.contype = 'f'
      AND ns.nspname = ANY(%(schemas)s)
      AND c.conparentid = 0
      AND NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indrelid = c.conrelid
          AND i.indisvalid
          AND i.indpred IS NULL
          AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
          AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey
      )
    GROUP BY ns.nspname, cl.relname, c.conname, c.confrelid, cl.reltuples
    ORDER BY 1, 2, 4
"""
UNINDEXED_FOREIGN_KEYS_SQL = text(
    _UNINDEXED_FOREIGN_KEYS.replace("%(schemas)s", ":schemas").replace("%%", "%")
)

MAX_IDENTIFIER_BYTES = 63


@dataclass(frozen=True, slots=True)
class UnindexedForeignKey:
    table: str  # schema-qualified, quoted where needed
    constraint: str
    columns: tuple[str, ...]
    schema: str = ""
    table_name: str = ""
    referenced_table: str = ""
    quoted_columns: tuple[str, ...] = ()
    estimated_rows: int = 0

    def index_name(self, taken: frozenset[str] = frozenset()) -> str:
        base = f"ix_{self.table_name or self.table.split('.')[-1]}_{'_'.join(self.columns)}"
        return unique_identifier(base, taken)

    def fix(self, taken: frozenset[str] = frozenset()) -> str:
        columns = ", ".join(self.quoted_columns or self.columns)
        name = quote_always(self.index_name(taken))
        return f"CREATE INDEX CONCURRENTLY {name} ON {self.table} ({columns});"


def quote_always(identifier: str) -> str:
    """Double-quoted identifier: always valid, whatever the case or keyword status."""
    return '"' + identifier.replace('"', '""') + '"'


def unique_identifier(base: str, taken: frozenset[str]) -> str:
    """`base` cut to PostgreSQL's 63-byte limit, suffixed until it is not in `taken`."""

    def cut(name: str, room: int) -> str:
        encoded = name.encode()[:room]
        return encoded.decode(errors="ignore")

    candidate = cut(base, MAX_IDENTIFIER_BYTES)
    n = 1
    while candidate in taken:
        suffix = f"_{n}"
        candidate = cut(base, MAX_IDENTIFIER_BYTES - len(suffix)) + suffix
        n += 1
    return candidate


def _from_row(row: Any) -> UnindexedForeignKey:
    return UnindexedForeignKey(
        table=row["qualified_table"],
        constraint=row["constraint_name"],
        columns=tuple(row["columns"]),
        schema=row["schema_name"],
        table_name=row["table_name"],
        referenced_table=row["referenced_table"],
        quoted_columns=tuple(row["quoted_columns"]),
        estimated_rows=int(row["estimated_rows"]),
    )


async def unindexed_foreign_keys(
    connection: AsyncConnection, schema: str
) -> list[UnindexedForeignKey]:
    rows = (await connection.execute(UNINDEXED_FOREIGN_KEYS_SQL, {"schemas": [schema]})).all()
    return [_from_row(row._mapping) for row in rows]


def unindexed_foreign_keys_sync(
    connection: psycopg.Connection[Any], schemas: Sequence[str]
) -> list[UnindexedForeignKey]:
    """The same check through a blocking psycopg connection (the `assess` command)."""
    with connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(_UNINDEXED_FOREIGN_KEYS, {"schemas": list(schemas)})
        return [_from_row(row) for row in cursor.fetchall()]
