"""What one read costs through PgBouncer in transaction mode, the old way and the new way.

The old way (asyncpg, which cannot send an uncached statement in one message): a transaction
around the read, `BEGIN; SET LOCAL` of the timeouts, Parse, Execute, `COMMIT` — four round
trips through PgBouncer. The new way (`BouncerPool`, psycopg): the statement unprepared in one
message, in autocommit — one round trip. Both run the same one-row primary-key read, 20 at a
time on 5 connections, under uvloop, and report the CPU of the whole machine per read (app,
PgBouncer and PostgreSQL together; run it on an otherwise idle machine) and of this process.

Needs pgbouncer (apt) and a PostgreSQL to point it at (`DATABASE_URL`'s host and port, trust
auth). Run:
    .venv/bin/python bench/bouncer_reads.py --reads 4000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import psycopg
import uvloop
from psycopg.rows import dict_row

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.db import servers

SQL = "SELECT id, name, n FROM bench_bouncer_reads WHERE id = $1"
CONNECTIONS, CONCURRENT = 5, 20


class Target:
    def __init__(self, port: int) -> None:
        self.port = port


def machine_busy_s() -> float:
    """CPU seconds of the whole machine so far (all but idle and iowait)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


async def old_way(url: str) -> Callable[[int], Awaitable[object]]:
    pool = await asyncpg.create_pool(
        url, min_size=CONNECTIONS, max_size=CONNECTIONS, statement_cache_size=0
    )
    prefix = (
        "BEGIN; SELECT set_config('statement_timeout', '15000', true), "
        "set_config('idle_in_transaction_session_timeout', '10000', true)"
    )

    async def read(i: int) -> object:
        async with pool.acquire() as connection:
            await connection.execute(prefix)
            rows = await connection.fetch(SQL, f"id{i % 1000}")
            await connection.execute("COMMIT")
            return rows

    return read


async def new_way(url: str) -> Callable[[int], Awaitable[object]]:
    idle: asyncio.Queue[psycopg.AsyncConnection[dict[str, object]]] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        idle.put_nowait(
            await psycopg.AsyncConnection.connect(
                url,
                autocommit=True,
                prepare_threshold=None,
                row_factory=dict_row,
                cursor_factory=psycopg.AsyncRawCursor,  # `$1` as the pool sends it
            )
        )

    async def read(i: int) -> object:
        connection = await idle.get()
        try:
            cursor = await connection.execute(SQL, (f"id{i % 1000}",), prepare=False)
            return await cursor.fetchall()
        finally:
            idle.put_nowait(connection)

    return read


async def measure(name: str, url: str, reads: int) -> None:
    read = await (old_way if name == "old" else new_way)(url)
    for i in range(200):  # connected and warm
        await read(i)
    gate = asyncio.Semaphore(CONCURRENT)

    async def one(i: int) -> None:
        async with gate:
            await read(i)

    busy, own, wall = machine_busy_s(), time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(reads)))
    busy, own = machine_busy_s() - busy, time.process_time() - own
    wall = time.perf_counter() - wall
    print(
        f"| {name} | {busy / reads * 1e6:,.0f} | {own / reads * 1e6:,.0f} | {reads / wall:,.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = urlsplit(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    direct = server._replace(scheme="postgresql").geturl()
    with psycopg.connect(direct, autocommit=True) as conn:
        conn.execute(
            "DROP TABLE IF EXISTS bench_bouncer_reads;"
            "CREATE TABLE bench_bouncer_reads (id text PRIMARY KEY, name text, n int);"
            "INSERT INTO bench_bouncer_reads"
            " SELECT 'id' || g, 'name ' || g, g FROM generate_series(0, 999) g"
        )
    try:
        with servers.pgbouncer(Target(server.port or 5432), server_pool=10) as bouncer:  # type: ignore[arg-type]
            url = bouncer.url(server.path.lstrip("/") or "postgres")
            print("| way | machine CPU µs per read | this process µs per read | reads/s |")
            print("|---|---:|---:|---:|")
            for _ in range(args.rounds):
                for name in ("old", "new"):
                    uvloop.run(measure(name, url, args.reads))
    finally:
        with psycopg.connect(direct, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS bench_bouncer_reads")


if __name__ == "__main__":
    main()
