"""Catalog queries shared by the test suite and `spacekontext assess`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# A foreign key is covered when some valid index (plain, unique or primary key; on a partitioned
# table, the partitioned index) has the FK's columns as its leading columns, in any order.
UNINDEXED_FOREIGN_KEYS_SQL = text(
    """
    SELECT c.conrelid::regclass::text AS table_name,
           c.conname AS constraint_name,
           array_agg(a.attname ORDER BY x.n) AS columns
    FROM pg_constraint c
    JOIN pg_namespace ns ON ns.oid = c.connamespace
    CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS x(attnum, n)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = x.attnum
    WHERE c.contype = 'f'
      AND ns.nspname = :schema
      AND c.conparentid = 0
      AND NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indrelid = c.conrelid
          AND i.indisvalid
          AND i.indpred IS NULL
          AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
          AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey
      )
    GROUP BY c.conrelid, c.conname
    ORDER BY 1, 2
    """
)


@dataclass(frozen=True, slots=True)
class UnindexedForeignKey:
    table: str
    constraint: str
    columns: tuple[str, ...]

    def fix(self) -> str:
        name = f"ix_{self.table.split('.')[-1]}_{'_'.join(self.columns)}"
        return f"CREATE INDEX CONCURRENTLY {name} ON {self.table} ({', '.join(self.columns)});"


async def unindexed_foreign_keys(
    connection: AsyncConnection, schema: str
) -> list[UnindexedForeignKey]:
    rows = (await connection.execute(UNINDEXED_FOREIGN_KEYS_SQL, {"schema": schema})).all()
    return [
        UnindexedForeignKey(row.table_name, row.constraint_name, tuple(row.columns)) for row in rows
    ]
