"""What compressing documents with lz4 instead of pglz saves PostgreSQL (migration 0009).

For floorplans at the seed's sizes (median 55 KB, p95 193 KB, max 460 KB, from the seed's own
generator), in a scratch table on a real server, one column compressed each way: the median
time of an UPDATE of the whole document (one value changed each time, as a save does), of
reading it back as text (what a document GET asks for), and of detoasting it alone; and the
stored size. The text → jsonb parse, which both pay, is timed apart. The figures are round
trips from this process over a local socket, so they include a little client time.

Run (a server built with lz4, e.g. Debian's):
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/toast_bench.py
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable

import orjson
import psycopg

from spacekontext.db.urls import libpq_dsn
from spacekontext.tools.seed import documents

SIZES = (55_000, 193_000, 460_000)
TABLE = "sk_toast_bench"


def median_ms(run: Callable[[int], object], iterations: int) -> float:
    times = []
    for i in range(iterations):
        started = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=40)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    print(f"iterations: {args.iterations}; median ms per statement\n")
    print(
        "| document | type | compression | stored bytes | UPDATE | read as text | detoast only "
        "| jsonb parse alone |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|")
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        try:
            for size in SIZES:
                text = orjson.dumps(
                    documents.floorplan(random.Random(size), target_bytes=size)
                ).decode()
                parse = median_ms(
                    lambda _i, t=text: conn.execute(
                        "SELECT 1 FROM (SELECT %s::jsonb AS j) s WHERE j IS NOT NULL", (t,)
                    ).fetchone(),
                    args.iterations,
                )
                for kind, method in (("jsonb", "pglz"), ("jsonb", "lz4"), ("json", "lz4")):
                    conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
                    conn.execute(
                        f"CREATE TABLE {TABLE} "
                        f"(id int PRIMARY KEY, data {kind} COMPRESSION {method})"
                    )
                    conn.execute(f"INSERT INTO {TABLE} VALUES (1, %s::{kind})", (text,))

                    def update(i: int, t: str = text, kind: str = kind) -> None:
                        changed = t.replace('"thickness":0.2', f'"thickness":0.2{i % 10}', 1)
                        conn.execute(
                            f"UPDATE {TABLE} SET data = %s::{kind} WHERE id = 1", (changed,)
                        )

                    updated = median_ms(update, args.iterations)
                    read = median_ms(
                        lambda _i: conn.execute(f"SELECT data::text FROM {TABLE}").fetchone(),
                        args.iterations,
                    )
                    # Detoasting alone: an operator that reads the value without printing it.
                    probe = "data ? 'x'" if kind == "jsonb" else "octet_length(data::text)"
                    detoast = median_ms(
                        lambda _i, probe=probe: conn.execute(
                            f"SELECT {probe} FROM {TABLE}"
                        ).fetchone(),
                        args.iterations,
                    )
                    row = conn.execute(f"SELECT pg_column_size(data) FROM {TABLE}").fetchone()
                    stored = row[0] if row else 0
                    print(
                        f"| {size // 1000} KB | {kind} | {method} | {stored:,} | {updated:.2f} | "
                        f"{read:.2f} | {detoast:.2f} | {parse:.2f} |"
                    )
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")


if __name__ == "__main__":
    main()
