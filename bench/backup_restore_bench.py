"""Backup and restore time per GB: a seeded system on an embedded PostgreSQL (and bulk objects
in its local store) is backed up to a directory, then restored into a fresh embedded
PostgreSQL and an empty store and verified, with the same code as `spacekontext backup` and
`spacekontext restore --verify`. Prints the figures and the load average (the machine may be
shared: the figures are only as quiet as it was).

    .venv/bin/python bench/backup_restore_bench.py --users 300 --object-mb 512
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from spacekontext.db.embedded import attached
from spacekontext.db.migrate import upgrade
from spacekontext.db.urls import libpq_dsn
from spacekontext.settings import Settings
from spacekontext.storage.factory import build_object_store
from spacekontext.tools.backup.create import create_backup
from spacekontext.tools.backup.location import BackupLocation
from spacekontext.tools.backup.options import RunOptions
from spacekontext.tools.backup.restore import restore_backup, verify_restore

BIN = Path(sys.executable).parent / "spacekontext"
MB = 1024 * 1024
GB = 1024 * MB


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cores)"


def database_bytes(url: str) -> int:
    with psycopg.connect(libpq_dsn(url)) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        assert row is not None
        return int(row[0])


def seed(url: str, home: Path, users: int, object_mb: int, object_size_mb: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"DATABASE_URL": url, "SPACEKONTEXT_HOME": str(home), "LOG_LEVEL": "warning"}
    subprocess.run(
        [str(BIN), "seed", "--users", str(users), "--workers", "1"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # Bulk objects (incompressible, as renders and CAD files are), beside the seeded files.
    bulk = home / "objects" / "bench"
    bulk.mkdir(parents=True, exist_ok=True)
    for index in range(object_mb // object_size_mb):
        (bulk / f"blob-{index:05d}.bin").write_bytes(os.urandom(object_size_mb * MB))


def settings_for(home: Path, url: str) -> Settings:
    return Settings(SPACEKONTEXT_HOME=home, database_url=url, env="test")


async def backup(url: str, home: Path, target: Path) -> tuple[float, int, int]:
    settings = settings_for(home, url)
    store = build_object_store(settings)
    location = BackupLocation.parse(str(target), settings, must_exist=False)
    started = time.perf_counter()
    try:
        manifest = await create_backup(url, store, location)
    finally:
        await store.aclose()
        await location.aclose()
    return time.perf_counter() - started, manifest.database.size_bytes, manifest.object_bytes


async def restore(url: str, home: Path, source: Path, jobs: int) -> dict[str, float]:
    settings = settings_for(home, url)
    store = build_object_store(settings)
    location = BackupLocation.parse(str(source), settings, must_exist=True)
    try:
        report = await restore_backup(location, url, store, RunOptions(jobs=jobs))
        started = time.perf_counter()
        checked = await verify_restore(report.manifest, url, store)
        verify_s = time.perf_counter() - started
    finally:
        await store.aclose()
        await location.aclose()
    assert not report.problems and checked.ok, (report.problems, checked.problems)
    return {"database_s": report.database_s, "objects_s": report.objects_s, "verify_s": verify_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300, help="seeded users (5 projects each)")
    parser.add_argument("--object-mb", type=int, default=512, help="bulk objects, MB in all")
    parser.add_argument("--object-size-mb", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2, help="pg_restore --jobs")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="skbb-"))  # short: the servers' sockets live inside
    try:
        print(f"load before: {load_average()}")
        with attached(base / "src", "bench") as source_url:
            upgrade(source_url)
            started = time.perf_counter()
            seed(source_url, base / "src", args.users, args.object_mb, args.object_size_mb)
            print(f"seeded in {time.perf_counter() - started:.1f} s")
            db_bytes = database_bytes(source_url)
            backup_s, dump_bytes, object_bytes = asyncio.run(
                backup(source_url, base / "src", base / "backup")
            )
        print(f"load after backup: {load_average()}")
        with attached(base / "dst", "bench") as target_url:
            times = asyncio.run(restore(target_url, base / "dst", base / "backup", args.jobs))
        load = load_average()
    finally:
        shutil.rmtree(base, ignore_errors=True)

    restore_s = times["database_s"] + times["objects_s"]
    total_gb = (db_bytes + object_bytes) / GB
    print()
    print(f"command: {' '.join(sys.argv)}")
    print(f"load average at the end: {load}")
    print("| figure | value |")
    print("|---|---|")
    print(f"| database on disk (pg_database_size) | {db_bytes / MB:.0f} MB |")
    print(f"| dump (custom format, compressed) | {dump_bytes / MB:.0f} MB |")
    print(f"| objects | {object_bytes / MB:.0f} MB |")
    print(f"| backup (dump + objects, concurrently) | {backup_s:.1f} s |")
    print(
        f"| restore database (pg_restore --jobs {args.jobs}) | {times['database_s']:.1f} s "
        f"= {times['database_s'] / (db_bytes / GB):.0f} s per GB of database |"
    )
    print(
        f"| restore objects | {times['objects_s']:.1f} s "
        f"= {times['objects_s'] / (object_bytes / GB):.0f} s per GB of objects |"
    )
    print(f"| restore in all | {restore_s:.1f} s = {restore_s / total_gb:.0f} s per GB |")
    print(f"| verify (counts + every object re-hashed) | {times['verify_s']:.1f} s |")


if __name__ == "__main__":
    main()
