"""Continuous archiving with pgBackRest, measured: how old the newest archived change is when
the database is quiet and when it is busy (the recovery point), and how long a point-in-time
restore takes per GB. A PostgreSQL 15 cluster (Debian's binaries, as the postgres user) is
configured as `spacekontext pitr config` prints, seeded with `spacekontext seed`, backed up,
written to, killed and restored to a time. Prints the figures and the load average.

    .venv/bin/python bench/pitr_bench.py --users 200 --archive-timeout 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from spacekontext.db.migrate import upgrade
from spacekontext.tools.backup.pitr import PgBackRest, archive_settings, render_config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.db import servers

BIN = Path(sys.executable).parent / "spacekontext"
STANZA = "bench"
MB = 1024 * 1024


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cores)"


def archived_delay_s(url: str, timeout_s: float = 120) -> float:
    """Commit one row; seconds until the WAL segment holding it is in the repository."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO bench_probe (at) VALUES (clock_timestamp())")
        # The insert position (not the write position, which may still be in the segment
        # before): the segment that holds the commit.
        row = conn.execute("SELECT pg_walfile_name(pg_current_wal_insert_lsn())").fetchone()
        assert row is not None
        segment = str(row[0])
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            row = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
            if row is not None and row[0] is not None and str(row[0]) >= segment:
                return time.monotonic() - started
            time.sleep(0.05)
    raise TimeoutError("the segment was not archived")


def busy_writer(url: str, stop: threading.Event, written: list[int]) -> None:
    payload = os.urandom(8 * 1024).hex()  # 16 KB of text per row
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            conn.execute("INSERT INTO bench_busy (body) VALUES (%s)", (payload,))
            written[0] += len(payload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--archive-timeout", type=int, default=10)
    parser.add_argument("--probes", type=int, default=5)
    args = parser.parse_args()

    base = servers._private_dir("skpb-")
    try:
        data, restored_data, repo = base / "data", base / "restored", base / "repo"
        repo.mkdir()
        shutil.chown(repo, "postgres", "postgres")
        config = base / "pgbackrest.conf"
        port = servers.free_port()
        config.write_text(
            render_config(STANZA, pg_data=data, pg_port=port, pg_socket_dir=data, repo_path=repo)
        )
        servers._as_postgres(
            str(servers.PG_BIN / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        settings = archive_settings(STANZA, config, archive_timeout_s=args.archive_timeout)
        # Durable settings here (the test helper's defaults turn fsync off).
        servers._configure(data, port, **settings, fsync="on", full_page_writes="on")
        cluster = servers.Cluster(data, port)
        cluster.start()
        backrest = PgBackRest(STANZA, config=config, run_as="postgres")
        print(f"load before: {load_average()}")
        try:
            backrest.create_stanza()
            backrest.check()
            upgrade(cluster.url)
            env = os.environ | {"DATABASE_URL": cluster.url, "LOG_LEVEL": "warning"}
            env["SPACEKONTEXT_HOME"] = str(base / "home")
            subprocess.run(
                [str(BIN), "seed", "--users", str(args.users), "--no-objects", "--workers", "1"],
                env=env, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            with psycopg.connect(cluster.url, autocommit=True) as conn:
                conn.execute("CREATE TABLE bench_probe (at timestamptz)")
                conn.execute("CREATE TABLE bench_busy (body text)")
                row = conn.execute("SELECT pg_database_size('postgres')").fetchone()
                assert row is not None
                db_bytes = int(row[0])
            started = time.perf_counter()
            backrest.backup("full")
            backup_s = time.perf_counter() - started

            quiet = [archived_delay_s(cluster.url) for _ in range(args.probes)]
            stop, written = threading.Event(), [0]
            writer = threading.Thread(target=busy_writer, args=(cluster.url, stop, written))
            writer.start()
            busy_started = time.monotonic()
            try:
                time.sleep(2)
                busy = [archived_delay_s(cluster.url) for _ in range(args.probes)]
            finally:
                stop.set()
                writer.join()
            busy_rate = written[0] / (time.monotonic() - busy_started) / MB
            time.sleep(1.1)
            with psycopg.connect(cluster.url, autocommit=True) as conn:
                row = conn.execute("SELECT clock_timestamp()").fetchone()
                assert row is not None
                target = row[0]
                # Recovery stops at the first commit after the target: there must be one.
                time.sleep(1.1)
                conn.execute("INSERT INTO bench_probe (at) VALUES (clock_timestamp())")
            backrest.check()
        finally:
            cluster.stop("immediate")

        restored_data.mkdir(mode=0o700)
        shutil.chown(restored_data, "postgres", "postgres")
        started = time.perf_counter()
        backrest.restore(restored_data, target_time=target)
        restore_files_s = time.perf_counter() - started
        restored = servers.Cluster(restored_data, servers.free_port())
        with (restored_data / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"port = {restored.port}\nunix_socket_directories = '{restored_data}'\n"
                "archive_mode = off\n"
            )
        restored.start()
        try:
            while restored.sql("SELECT pg_is_in_recovery()"):
                time.sleep(0.1)
            restore_s = time.perf_counter() - started
            size = restored.sql("SELECT pg_database_size('postgres')")
        finally:
            restored.stop("immediate")
        load = load_average()
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print()
    print(f"command: {' '.join(sys.argv)}")
    print(f"load average at the end: {load}")
    print("| figure | value |")
    print("|---|---|")
    print(f"| database (pg_database_size) | {db_bytes / MB:.0f} MB |")
    print(f"| full base backup | {backup_s:.1f} s |")
    print(
        f"| commit -> archived, quiet (archive_timeout {args.archive_timeout} s) | "
        f"median {sorted(quiet)[len(quiet) // 2]:.1f} s, max {max(quiet):.1f} s |"
    )
    print(
        f"| commit -> archived, busy ({busy_rate:.1f} MB/s of inserts) | "
        f"median {sorted(busy)[len(busy) // 2]:.1f} s, max {max(busy):.1f} s |"
    )
    print(f"| restore to a time: files | {restore_files_s:.1f} s |")
    print(
        f"| restore to a time: until promoted (WAL replayed) | {restore_s:.1f} s "
        f"= {restore_s / (int(str(size)) / 1024**3):.0f} s per GB |"
    )


if __name__ == "__main__":
    main()
