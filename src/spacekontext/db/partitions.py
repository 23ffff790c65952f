"""Monthly range partitions for append-only history tables (`floorplan_versions`).

Each month gets its own partition `<table>_pYYYY_MM` (bounds in UTC), so old history can be
detached or dropped a month at a time and a query for one floorplan's recent versions touches
small indexes. The default partition created by the first migration catches any row whose month
has no partition yet: a save never fails for want of one. `ensure_monthly_partitions` creates
the partitions from a given month on, and moves rows the default partition already holds for
that month into the new one (PostgreSQL refuses to attach a range the default still has rows
for). It runs at `spacekontext serve` start and as `spacekontext partitions ensure`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from spacekontext.db.base import SCHEMA


@dataclass(frozen=True, slots=True)
class MonthlyTable:
    name: str
    schema: str = SCHEMA

    @property
    def qualified(self) -> str:
        return f'"{self.schema}"."{self.name}"'

    @property
    def default_partition(self) -> str:
        return f'"{self.schema}"."{self.name}_default"'

    def partition_name(self, month: date) -> str:
        return f"{self.name}_p{month.year:04d}_{month.month:02d}"


FLOORPLAN_VERSIONS = MonthlyTable("floorplan_versions")
MONTHLY_TABLES = (FLOORPLAN_VERSIONS,)


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _bound(month: date) -> str:
    # A literal from a date we built: DDL takes no bind parameters.
    return f"'{month.isoformat()} 00:00:00+00'"


async def ensure_monthly_partitions(
    conn: AsyncConnection,
    *,
    months_ahead: int,
    start: date | None = None,
    table: MonthlyTable = FLOORPLAN_VERSIONS,
) -> list[str]:
    """Create the partitions of `start`'s month (default: this month, UTC) and of the
    `months_ahead` months after it, if missing. Returns the names created. Runs in the caller's
    transaction; concurrent callers (several servers starting) serialize on an advisory lock."""
    if months_ahead < 0:
        raise ValueError("months_ahead must be >= 0")
    first = month_start(start or datetime.now(UTC).date())
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
        {"key": f"partitions:{table.schema}.{table.name}"},
    )
    created = []
    for offset in range(months_ahead + 1):
        month = add_months(first, offset)
        name = table.partition_name(month)
        exists = await conn.scalar(
            text("SELECT to_regclass(:name) IS NOT NULL"), {"name": f"{table.schema}.{name}"}
        )
        if exists:
            continue
        low, high = _bound(month), _bound(add_months(month, 1))
        partition = f'"{table.schema}"."{name}"'
        await conn.execute(
            text(
                f"CREATE TABLE {partition} "
                f"(LIKE {table.qualified} INCLUDING DEFAULTS INCLUDING COMPRESSION)"
            )
        )
        await conn.execute(
            text(
                f"WITH moved AS (DELETE FROM {table.default_partition} "  # noqa: S608
                f"WHERE created_at >= {low} AND created_at < {high} RETURNING *) "
                f"INSERT INTO {partition} SELECT * FROM moved"
            )
        )
        # Attaching creates the partition's copies of the parent's indexes, primary key and
        # foreign keys.
        await conn.execute(
            text(
                f"ALTER TABLE {table.qualified} ATTACH PARTITION {partition} "
                f"FOR VALUES FROM ({low}) TO ({high})"
            )
        )
        created.append(name)
    return created


async def list_partitions(conn: AsyncConnection, table: MonthlyTable) -> list[str]:
    rows = await conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:parent) ORDER BY c.relname"
        ),
        {"parent": f"{table.schema}.{table.name}"},
    )
    return [row[0] for row in rows]
