"""How long migration 0010 (documents and site data from jsonb to json) takes on seeded data.

Seeds a fresh database on a real server with `spacekontext seed` (the seed's document sizes:
floorplans of median 55 KB), steps back to revision 0009 (jsonb), and times the upgrade to 0010:
the table rewrite under its exclusive lock. Prints the documents' stored size and the time.

Run (a PostgreSQL with trust auth on loopback, e.g. this machine's 15):
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/migration_bench.py --users 200
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

import psycopg

from spacekontext.db import migrate

TABLES = ("floorplans", "floorplan_versions", "models_3d", "massings", "site_analyses")
DATABASE = "sk_migration_bench"


def documents_bytes(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'app' AND c.relkind = 'r'"
            " AND (c.relname = ANY(%s) OR c.relname LIKE 'floorplan_versions_p%%')",
            (list(TABLES),),
        ).fetchone()
    return int(row[0] or 0) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    args = parser.parse_args()
    server = urlsplit(
        os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    admin = server._replace(path="/postgres").geturl()
    url = server._replace(path=f"/{DATABASE}").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    try:
        with tempfile.TemporaryDirectory() as home:
            env = os.environ | {"DATABASE_URL": url, "SPACEKONTEXT_HOME": home}
            subprocess.run(
                [sys.executable, "-m", "spacekontext.cli", "seed", "--users", str(args.users),
                 "--no-objects"],
                env=env, check=True, capture_output=True,
            )  # fmt: skip
        migrate.downgrade(url, "0009")
        before = documents_bytes(url)
        started = time.perf_counter()
        migrate.upgrade(url, "0010")
        took = time.perf_counter() - started
        after = documents_bytes(url)
        print(f"users: {args.users}; document tables {before / 1e6:,.1f} MB as jsonb, "
              f"{after / 1e6:,.1f} MB as json; upgrade 0009 -> 0010: {took:.1f} s "
              f"({took / (before / 1e8):.2f} s per 100 MB)")  # fmt: skip
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
