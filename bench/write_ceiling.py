"""The primary's write ceiling: on the database alone with pgbench, then through the API.

On a server of its own (DATABASE_URL's, else an embedded PostgreSQL in a temporary directory),
seeded by `spacekontext seed`, pgbench runs the statements a save and a project create send,
with the work PostgreSQL does for them (the row lock, a seed-sized jsonb document written and
TOASTed, the metadata columns and their indexes, the history row copied inside the server,
WAL, commit):

- save: `SELECT … FOR UPDATE` of a random floorplan, `UPDATE` with a seed-sized document
  (taken from another floorplan of the data set, so that nothing crosses the network but the
  statement), the history `INSERT … SELECT`, commit;
- project create: one `INSERT` into projects.

It prints transactions per second and the CPU PostgreSQL spent per transaction (its server
processes, user + system, read from /proc by psutil), so that the ceiling of a primary with N
cores is about N / (CPU per transaction) whatever else the machine was doing.

    .venv/bin/python bench/write_ceiling.py --users 100 --clients 8 --seconds 15

Then the same saves go through the API as the load test sends them (a merge patch
moving one wall junction, with If-Match): `spacekontext serve --workers 2` is started on a free
loopback port, `--clients` users each save one of their own floorplans back to back, and the
saves per second are printed with the CPU per save of the API processes and of PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import psycopg

from spacekontext.db.urls import libpq_dsn

SAVE = """\
\\set pick random(1, :floorplans)
\\set source random(1, :floorplans)
BEGIN;
SELECT id, version FROM app.floorplans
  WHERE id = (SELECT id FROM bench_floorplans WHERE n = :pick) FOR UPDATE;
UPDATE app.floorplans f
  SET data = s.data, version = f.version + 1, updated_at = now(),
      data_bytes = s.data_bytes, content_hash = md5(random()::text), total_area_m2 = s.total_area_m2
  FROM app.floorplans s
  WHERE f.id = (SELECT id FROM bench_floorplans WHERE n = :pick)
    AND s.id = (SELECT id FROM bench_floorplans WHERE n = :source);
INSERT INTO app.floorplan_versions
  (id, floorplan_id, version, name, level, data, wall_count, opening_count, room_count,
   total_area_m2, data_bytes, content_hash, created_by_user_id)
  SELECT left(md5(random()::text), 26), id, version, name, level, data, wall_count, opening_count,
         room_count, total_area_m2, data_bytes, content_hash, NULL
  FROM app.floorplans WHERE id = (SELECT id FROM bench_floorplans WHERE n = :pick);
COMMIT;
"""

CREATE = """\
\\set owner random(1, :users)
INSERT INTO app.projects (id, user_id, name, description, settings)
  SELECT left(md5(random()::text), 26), id, 'bench project', 'created by pgbench', '{}'::jsonb
  FROM bench_users WHERE n = :owner;
"""


def _server_processes(dsn: str) -> list[psutil.Process]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    postmaster = psutil.Process(psutil.Process(int(row[0])).ppid())
    return [postmaster]


def _cpu_s(postmaster: psutil.Process) -> float:
    total = 0.0
    for proc in [postmaster, *postmaster.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        # Children that ended are counted in the parent's children_* times.
        total += times.user + times.system
        total += getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)
    return total


def _wal_lsn(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return int(_one(conn, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))


def run(
    dsn: str, script: str, clients: int, seconds: int, variables: dict[str, int]
) -> tuple[float, float, float]:
    postmaster = _server_processes(dsn)[0]
    wal_before = _wal_lsn(dsn)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
    try:
        defines = [arg for k, v in variables.items() for arg in ("-D", f"{k}={v}")]
        before = _cpu_s(postmaster)
        command = ["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds)]
        done = subprocess.run(
            [*command, "-f", file.name, *defines, dsn],
            capture_output=True,
            text=True,
            check=True,
        )
        used = _cpu_s(postmaster) - before
    finally:
        Path(file.name).unlink()
    tps = float(re.search(r"tps = ([\d.]+)", done.stdout).group(1))  # type: ignore[union-attr]
    transactions = int(re.search(r"processed: (\d+)", done.stdout).group(1))  # type: ignore[union-attr]
    wal = (_wal_lsn(dsn) - wal_before) / max(transactions, 1)
    return tps, used * 1000 / max(transactions, 1), wal


async def _api_saves(base: str, tokens: list[str], seconds: float) -> tuple[int, int]:
    import orjson

    from spacekontext.tools.loadtest.client import UserConnection

    port = int(base.rsplit(":", 1)[1])
    deadline = time.monotonic() + seconds
    done, failed = 0, 0

    async def user(token: str) -> None:
        nonlocal done, failed
        connection = UserConnection("127.0.0.1", port, 30)
        head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n".encode()
        listed = await connection.exchange(
            b"GET /api/projects?limit=1 HTTP/1.1\r\n" + head + b"\r\n"
        )
        project = orjson.loads(listed.body)["projects"][0]["id"]
        plans = await connection.exchange(
            f"GET /api/projects/{project}/floorplans HTTP/1.1\r\n".encode() + head + b"\r\n"
        )
        plan = orjson.loads(plans.body)["floorplans"][0]
        document = await connection.exchange(
            f"GET /api/floorplans/{plan['id']} HTTP/1.1\r\n".encode() + head + b"\r\n"
        )
        node_id, node = next(
            iter(orjson.loads(document.body)["floorplan"]["data"]["nodes"].items())
        )
        x, y = node["position"]
        etag = document.etag
        step = 0
        while time.monotonic() < deadline:
            step += 1
            body = orjson.dumps(
                {"data": {"nodes": {node_id: {"position": [x + step % 2 * 0.001, y]}}}}
            )
            answer = await connection.exchange(
                f"PATCH /api/floorplans/{plan['id']} HTTP/1.1\r\n".encode()
                + head
                + f"If-Match: {etag}\r\nContent-Type: application/merge-patch+json\r\n".encode()
                + b"Content-Length: %d\r\n\r\n" % len(body)
                + body
            )
            if answer.status == 200:
                done += 1
                etag = answer.etag
            else:
                failed += 1
        connection.close()

    import asyncio

    await asyncio.gather(*(user(token) for token in tokens))
    return done, failed


def api_level(url: str, clients: int, seconds: float) -> None:
    import asyncio
    import shutil
    import sys

    from spacekontext.auth.tokens import DevTokens
    from spacekontext.tools.seed.writer import seed_email

    # The tests' way to start `spacekontext serve` and wait until it is ready.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.e2e.serving import free_port, serving

    home = Path(tempfile.mkdtemp(prefix="skwrite-home-"))
    env = {**os.environ, "DATABASE_URL": url, "SPACEKONTEXT_HOME": str(home)}
    env |= {"LOG_LEVEL": "warning", "RATE_LIMIT_ENABLED": "false", "PORT": str(free_port())}
    try:
        with serving(env, home / "serve.log", "--workers", "2") as server:
            tokens = DevTokens.from_data_dir(home)
            minted = [tokens.mint(seed_email(11, k)) for k in range(clients)]
            postmaster = _server_processes(libpq_dsn(url))[0]
            api = psutil.Process(server.process.pid)
            api_before = _cpu_s(api)
            pg_before = _cpu_s(postmaster)
            load0 = os.getloadavg()[0]
            done, failed = asyncio.run(_api_saves(server.base, minted, seconds))
            api_used, pg_used = _cpu_s(api) - api_before, _cpu_s(postmaster) - pg_before
            load1 = os.getloadavg()[0]
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"load average before / after: {load0:.2f} / {load1:.2f}")
    print(
        f"API saves (merge patch of one wall junction, 2 workers, {clients} clients, "
        f"{seconds:.0f} s): {done / seconds:,.0f} saves/s, {failed} failed; CPU per save: "
        f"API {api_used * 1000 / max(done, 1):.2f} ms, "
        f"PostgreSQL {pg_used * 1000 / max(done, 1):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--users", type=int, default=100, help="seeded users")
    args = parser.parse_args()
    from documents_bench import database_url  # type: ignore[import-not-found]

    from spacekontext.db.migrate import upgrade
    from spacekontext.tools.seed.writer import SeedPlan, run_seed

    # A server of its own (DATABASE_URL's, else an embedded one in a temporary directory), so
    # that the CPU of its processes is this run's alone.
    with database_url() as url:
        upgrade(url)
        run_seed(
            libpq_dsn(url),
            SeedPlan(users=args.users, projects_per_user=2, files_per_project=0, seed=11),
            objects=None,
            workers=0,
            reset_first=True,
        )
        database_level(libpq_dsn(url), args.clients, args.seconds)
        api_level(url, args.clients, args.seconds)


def database_level(dsn: str, clients: int, seconds: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table, source in (("bench_floorplans", "app.floorplans"), ("bench_users", "app.users")):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(
                f"CREATE TABLE {table} AS"
                f" SELECT row_number() OVER (ORDER BY id) AS n, id FROM {source}"
            )
            conn.execute(f"CREATE UNIQUE INDEX ON {table} (n)")
        floorplans = _one(conn, "SELECT count(*) FROM bench_floorplans")
        users = _one(conn, "SELECT count(*) FROM bench_users")
        median = _one(
            conn,
            "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY data_bytes) FROM app.floorplans",
        )
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN"
                " ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections')"
            ).fetchall()
        )
    load0 = os.getloadavg()[0]
    started = time.monotonic()
    save_tps, save_cpu, save_wal = run(dsn, SAVE, clients, seconds, {"floorplans": floorplans})
    create_tps, create_cpu, create_wal = run(dsn, CREATE, clients, seconds, {"users": users})
    load1 = os.getloadavg()[0]
    print(f"server settings: {settings}; {floorplans} floorplans (median {median:,} bytes)")
    took = time.monotonic() - started
    print(f"load average before / after: {load0:.2f} / {load1:.2f} ({took:.0f} s)")
    print(
        "| transaction (pgbench) | clients | tps (this machine) "
        "| PostgreSQL CPU ms per transaction | tps per core of PostgreSQL | WAL per transaction |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    rows = (
        ("save (lock, seed-sized update, history)", save_tps, save_cpu, save_wal),
        ("project create", create_tps, create_cpu, create_wal),
    )
    for name, tps, cpu, wal in rows:
        print(
            f"| {name} | {clients} | {tps:,.0f} | {cpu:.2f} | {1000 / cpu:,.0f} "
            f"| {wal / 1024:,.1f} KB |"
        )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM app.projects WHERE description = 'created by pgbench'")


def _one(conn: psycopg.Connection[Any], query: str) -> Any:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


if __name__ == "__main__":
    main()
