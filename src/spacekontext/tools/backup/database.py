"""The database half of a backup: pg_dump in the snapshot whose row counts the manifest records,
pg_restore into an empty database, and the row counts compared afterwards.

The counts and the dump must describe the same instant, or a verification after a restore
would report the writes that happened while the backup ran. So the backup opens a REPEATABLE
READ transaction, exports its snapshot (`pg_export_snapshot()`), counts every table in it and
hands it to `pg_dump --snapshot`. The transaction stays open until pg_dump is done."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from spacekontext.db.compression import document_compression_sql
from spacekontext.db.urls import libpq_dsn
from spacekontext.tools.backup.pgclient import PgClient, libpq_environment

# Ordinary tables (partitions one by one; a partitioned parent holds no rows of its own) of
# every schema but the system's.
_TABLES = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
ORDER BY 1, 2
"""

# Anything a restore could collide with: relations, types, functions outside the system
# schemas (an extension's objects count; the empty `public` schema itself does not).
_USER_OBJECTS = """
SELECT n.nspname || '.' || c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
UNION ALL
SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql'
UNION ALL
SELECT 'schema ' || nspname FROM pg_namespace
WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public')
  AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%'
LIMIT 5
"""


class DatabaseToolFailed(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ServerVersion:
    text: str
    major: int


async def connect(database_url: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    return await psycopg.AsyncConnection.connect(libpq_dsn(database_url))


async def server_version(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> ServerVersion:
    cur = await conn.execute(
        "SELECT current_setting('server_version'), current_setting('server_version_num')::int"
    )
    row = await cur.fetchone()
    assert row is not None
    text, number = row
    assert isinstance(text, str) and isinstance(number, int)
    return ServerVersion(text.split()[0], number // 10000)


async def table_counts(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> dict[str, int]:
    cur = await conn.execute(_TABLES)
    tables = [(str(schema), str(name)) for schema, name in await cur.fetchall()]
    counts: dict[str, int] = {}
    for schema, name in tables:
        count_cur = await conn.execute(
            sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(name)
            )
        )
        row = await count_cur.fetchone()
        assert row is not None and isinstance(row[0], int)
        counts[f"{schema}.{name}"] = row[0]
    return counts


async def alembic_revision(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> str | None:
    cur = await conn.execute(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = 'alembic_version' AND c.relkind = 'r' ORDER BY 1 LIMIT 1"
    )
    row = await cur.fetchone()
    if row is None:
        return None
    cur = await conn.execute(
        sql.SQL("SELECT version_num FROM {}.alembic_version").format(sql.Identifier(str(row[0])))
    )
    row = await cur.fetchone()
    return str(row[0]) if row else None


async def user_objects(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> list[str]:
    """A few of the objects that make a database not empty (none: empty)."""
    cur = await conn.execute(_USER_OBJECTS)
    return [str(row[0]) for row in await cur.fetchall()]


@contextlib.asynccontextmanager
async def exported_snapshot(
    database_url: str,
) -> AsyncIterator[tuple[psycopg.AsyncConnection[tuple[object, ...]], str]]:
    """A REPEATABLE READ transaction and the id of its exported snapshot, valid while the
    context is open."""
    conn = await connect(database_url)
    try:
        await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
        await conn.set_read_only(True)
        cur = await conn.execute("SELECT pg_export_snapshot()")
        row = await cur.fetchone()
        assert row is not None
        yield conn, str(row[0])
        await conn.rollback()
    finally:
        await conn.close()


async def _run(program: str, args: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        program,
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await process.communicate()
    except asyncio.CancelledError:
        # Cancelling the wait does not stop the program: a dump or restore must not run on
        # after the command gave up on it.
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise DatabaseToolFailed(
            f"{Path(program).name} exited with {process.returncode}: " + " | ".join(tail)
        )


async def dump(client: PgClient, database_url: str, snapshot: str, target: Path) -> None:
    env = libpq_environment(database_url)
    args = ["--format=custom", f"--snapshot={snapshot}", f"--file={target}", "--no-password"]
    # Without the columns' compression methods: a dump of a server built with lz4 would
    # otherwise fail to restore into one without it (the embedded server); `restore` sets
    # them again where the target has lz4 (db/compression.py).
    args.append("--no-toast-compression")
    await _run(client.program("pg_dump"), args, env)


async def restore(client: PgClient, database_url: str, archive: Path, *, jobs: int) -> None:
    """Into an empty database; ownership and grants are left to the target's own roles (the
    source's roles need not exist there). Stops at the first error."""
    env = libpq_environment(database_url)
    args = [
        f"--dbname={env.get('PGDATABASE', 'postgres')}",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        f"--jobs={jobs}",
        "--no-password",
        str(archive),
    ]
    await _run(client.program("pg_restore"), args, env)
    # The documents' compression, as migration 0009 sets it, where the target has lz4.
    async with await connect(database_url) as conn:
        await conn.execute(document_compression_sql("lz4"))
        await conn.commit()
