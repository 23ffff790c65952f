"""What reading the primary's WAL position costs after a write (read-your-writes), the old way
and the new way, through PgBouncer in transaction mode, with the app's own `Database`.

The old way (`ReadRouter._position_on_engine`): an engine connection, so a transaction around
the SELECT — BEGIN with the timeouts, the SELECT, ROLLBACK — on asyncpg, which behind
PgBouncer cannot cache the statement. The new way (`Database._wal_position`): the SELECT in one
message on the driver's pool (psycopg behind PgBouncer), one round trip. Both run 20 at a time
under uvloop and report the CPU of the whole machine per position (app, PgBouncer and
PostgreSQL together; run it on an otherwise idle machine) and of this process.

Needs pgbouncer (apt) and a PostgreSQL to point it at (`DATABASE_URL`'s host and port, trust
auth). Run:
    .venv/bin/python bench/write_position.py --reads 3000 --rounds 3
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

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bouncer_reads import Target, machine_busy_s  # type: ignore[import-not-found]
from tests.db import servers

from spacekontext.db.engine import Database
from spacekontext.settings import Settings

CONCURRENT = 20


async def timed(read: Callable[[], Awaitable[str]], reads: int) -> tuple[float, float, float]:
    """Machine CPU µs and this process's CPU µs per call, and calls per second."""
    gate = asyncio.Semaphore(CONCURRENT)

    async def one() -> None:
        async with gate:
            await read()

    busy, own, wall = machine_busy_s(), time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(reads)))
    busy, own = machine_busy_s() - busy, time.process_time() - own
    return busy / reads * 1e6, own / reads * 1e6, reads / (time.perf_counter() - wall)


async def measure(url: str, reads: int) -> dict[str, tuple[float, float, float]]:
    settings = Settings(
        database_url=url,
        database_pooler="pgbouncer",
        db_pool_size=5,
        db_max_overflow=0,
        db_read_pool_size=5,
    )
    db = Database.from_settings(settings)
    ways: dict[str, Callable[[], Awaitable[str]]] = {
        "old: engine connection (BEGIN, timeouts, SELECT, ROLLBACK)": (
            db.router._position_on_engine
        ),
        "new: one statement on the driver's pool": db._wal_position,
    }
    results: dict[str, tuple[float, float, float]] = {}
    try:
        for name, read in ways.items():
            for _ in range(200):  # connected and warm
                await read()
            results[name] = await timed(read, reads)
    finally:
        await db.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = urlsplit(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    with servers.pgbouncer(Target(server.port or 5432), server_pool=10) as bouncer:  # type: ignore[arg-type]
        url = bouncer.url(server.path.lstrip("/") or "postgres")
        print("| way | machine CPU µs per position | this process µs | positions/s |")
        print("|---|---:|---:|---:|")
        for _ in range(args.rounds):
            for name, (busy, own, rate) in uvloop.run(measure(url, args.reads)).items():
                print(f"| {name} | {busy:,.0f} | {own:,.0f} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
