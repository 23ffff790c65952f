"""Benchmark of the database scale layer (issue 5): project-list throughput and latency with wrk
(-t2 -c100, a random user per request) — direct PostgreSQL vs PgBouncer, 1 vs 2 workers,
replica routing — next to the bare asyncpg route and the fixed-JSON route, in one run.

    python bench/scale_db.py --projects 1000000 --users 10000 --duration 10 --repeat 3

Starts its own PostgreSQL 15 primary (and replica) and PgBouncer on free loopback ports (the
helpers of tests/db/servers.py), seeds with generate_series, runs each configuration, prints a
Markdown table. Needs wrk, pgbouncer and postgresql-15 (apt)."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.db import servers
from tests.redisproc import RedisProcess

from spacekontext.auth.tokens import DevTokens
from spacekontext.db.migrate import upgrade

DATABASE = "bench"


class _Killer:
    def __init__(self, redis: RedisProcess) -> None:
        self.redis = redis

    def close(self) -> None:
        self.redis.kill()


def seed(url: str, users: int, projects: int) -> None:
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO app.users (id, clerk_id, email) "
            "SELECT 'u' || lpad(i::text, 25, '0'), 'dev|bench-' || i || '@example.com', "
            "'bench-' || i || '@example.com' FROM generate_series(0, %s - 1) AS i",
            (users,),
        )
        conn.execute(
            "INSERT INTO app.projects (id, user_id, name, description, created_at, updated_at) "
            "SELECT 'p' || lpad(g::text, 25, '0'), 'u' || lpad((g %% %s)::text, 25, '0'), "
            "'Project ' || g, 'Seeded project number ' || g, "
            "now() - g * interval '1 second', now() - g * interval '1 second' "
            "FROM generate_series(0, %s - 1) AS g",
            (users, projects),
        )
        conn.execute("VACUUM ANALYZE app.projects")
        conn.execute("VACUUM ANALYZE app.users")
    print(f"seeded {users} users, {projects} projects in {time.monotonic() - started:.1f} s")


def lua_script(path: Path, tokens: list[str]) -> None:
    listing = ",\n".join(f'"{token}"' for token in tokens)
    path.write_text(
        f"local tokens = {{\n{listing}\n}}\n"
        "math.randomseed(os.time())\n"
        "request = function()\n"
        "  local t = tokens[math.random(#tokens)]\n"
        '  return wrk.format("GET", "/api/projects?limit=20", '
        '{["Authorization"] = "Bearer " .. t})\n'
        "end\n"
    )


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready")


def wrk(url: str, duration: int, script: Path | None) -> dict[str, float]:
    command = ["wrk", "-t2", "-c100", f"-d{duration}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=duration + 60
    ).stdout

    def latency_ms(label: str) -> float:
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if not found:
            return float("nan")
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50": latency_ms("50"),
        "p99": latency_ms("99"),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def connections_per_process(port: int) -> list[int]:
    """Established connections on `port`, counted by the process that holds them (how evenly
    the workers' shared listening socket handed out wrk's 100 connections)."""
    output = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    counts: dict[str, int] = {}
    for pid in re.findall(r"pid=(\d+)", output):
        counts[pid] = counts.get(pid, 0) + 1
    return sorted(counts.values(), reverse=True)


def run(command: list[str], env: dict[str, str], probe: str, target: str, args: argparse.Namespace,
        script: Path | None) -> dict[str, float]:  # fmt: skip
    log = open(os.devnull, "wb")  # noqa: SIM115
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    try:
        wait_ready(probe, process)
        wrk(target, 2, script)  # warm-up: connections, plans, caches
        port = int(target.split(":")[2].split("/")[0])
        sampled: list[list[int]] = []

        def sample() -> None:
            time.sleep(min(3.0, args.duration / 2))
            sampled.append(connections_per_process(port))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        measured = wrk(target, args.duration, script)
        sampler.join()
        spread = sampled[0] if sampled else []
        # The busiest worker's share of the connections (0.5 is an even split of two).
        measured["busiest_share"] = spread[0] / sum(spread) if len(spread) > 1 else 1.0
        return measured
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--pool", type=int, default=20, help="app pool per worker")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; figures are medians")
    parser.add_argument(
        "--only",
        action="append",
        help="measure only the configurations whose label contains this text (repeatable; the "
        "bare routes run for the worker counts measured)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        help="leave out the configurations, bare routes included, whose label contains this "
        "text (repeatable)",
    )
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="skbench-"))
    results: list[tuple[str, dict[str, float]]] = []
    with servers.primary_cluster(max_connections=300, shared_buffers="'256MB'") as primary:
        with psycopg.connect(primary.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")  # type: ignore[arg-type]
        primary_url = f"postgresql://postgres@127.0.0.1:{primary.port}/{DATABASE}"
        upgrade(primary_url)
        seed(primary_url, args.users, args.projects)
        tokens = DevTokens.from_data_dir(home)
        script = home / "random_user.lua"
        lua_script(
            script, [tokens.mint(f"bench-{i}@example.com") for i in range(0, args.users, 10)]
        )

        redis = RedisProcess(home / "redis")
        redis.start()
        with (
            contextlib.closing(_Killer(redis)),
            servers.replica_of(primary) as replica,
            servers.pgbouncer(primary, server_pool=20) as bouncer,
        ):
            replica_url = f"postgresql://postgres@127.0.0.1:{replica.port}/{DATABASE}"
            base_env = {
                **os.environ,
                "SPACEKONTEXT_HOME": str(home),
                "LOG_LEVEL": "warning",
                # Every request still takes a token from its bucket (that cost is measured); the
                # limit is set out of reach so that the figures count served requests, not 429s.
                "RATE_LIMIT_READ_PER_S": "1000000",
                "RATE_LIMIT_READ_BURST": "1000000",
                "DB_POOL_SIZE": str(args.pool),
                "DB_MAX_OVERFLOW": "0",
                # The list and the user lookup run on the driver's own pool (db/driverpool.py):
                # the same size as the bare route's asyncpg pool, like for like.
                "DB_READ_POOL_SIZE": str(args.pool),
            }
            direct = {"DATABASE_URL": primary_url}
            # No cache: the list is a query per request, and the caller's user row comes from
            # the process's own copy (users/directory.py), kept while it hears the row's changes.
            off = direct | {"CACHE_ENABLED": "false"}
            # The list from PostgreSQL every time; the user record (and the rate-limit bucket)
            # from Redis, in one round trip: the like-for-like comparison with the bare route.
            uncached = direct | {"CACHE_RESPONSES": "false", "REDIS_URL": redis.url}
            bounced = {"DATABASE_URL": bouncer.url(DATABASE), "DATABASE_POOLER": "pgbouncer"}
            # (label, workers, env, extra arguments of `serve`)
            configs: list[tuple[str, int, dict[str, str], list[str]]] = [
                ("app, cache off, direct, 1 worker", 1, off, []),
                ("app, cache off, direct, 2 workers", 2, off, []),
                # Before the user directory: the user lookup and the list, two queries.
                ("app, cache off, direct, 2 workers, user directory off", 2,
                 off | {"USER_DIRECTORY": "false"}, []),
                # Every worker accepting from one socket, as before per-worker sockets (item 3
                # of issue 17): the comparison in the same run.
                ("app, cache off, direct, 2 workers, shared socket", 2, off, ["--shared-socket"]),
                ("app, list uncached, direct, 1 worker", 1, uncached, []),
                ("app, list uncached, direct, 2 workers", 2, uncached, []),
                ("app, list uncached, PgBouncer, 2 workers", 2, uncached | bounced, []),
                ("app, list uncached, direct + replica routing, 2 workers", 2,
                 uncached | {"DATABASE_READ_URLS": replica_url}, []),
                ("app, list cached in Redis, direct, 2 workers", 2,
                 direct | {"REDIS_URL": redis.url}, []),
                # Suspects of the uncached tail, one at a time (item 3 of issue 17).
                ("app, cache off, direct, 2 workers, no in-process job worker", 2,
                 off | {"JOBS_IN_PROCESS": "false"}, []),
            ]  # fmt: skip
            configs = [c for c in configs if any(text in c[0] for text in args.only or [""])]
            # (label, command, env, readiness probe, target, wrk script)
            jobs: list[tuple[str, list[str], dict[str, str], str, str, Path | None]] = []
            for name, workers, extra, serve_args in configs:
                port = servers.free_port()
                command = [sys.executable, "-m", "spacekontext.cli", "serve",
                           "--workers", str(workers), "--port", str(port), *serve_args]  # fmt: skip
                base = f"http://127.0.0.1:{port}"
                jobs.append((name, command, base_env | extra, f"{base}/healthz",
                             f"{base}/api/projects", script))  # fmt: skip
            # The yardsticks for the worker counts measured: uvicorn's own supervisor (one
            # socket shared by the workers), and with several workers also the supervisor of
            # `serve` (a socket per worker), so that both ways of accepting are compared.
            bare_env = base_env | {"BENCH_DSN": primary_url, "BENCH_USERS": str(args.users)}
            for workers in sorted({c[1] for c in configs}):
                for sockets in ("", ", reuse-port") if workers > 1 else ("",):
                    port = servers.free_port()
                    command = (
                        [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port",
                         str(port), "--workers", str(workers), "--no-access-log",
                         "--log-level", "warning"]
                        if not sockets
                        else [sys.executable, str(Path(__file__).parent / "reuseport_serve.py"),
                              "bench.bare_app:app", "--port", str(port), "--workers",
                              str(workers)]
                    )  # fmt: skip
                    base = f"http://127.0.0.1:{port}"
                    for route in ("projects", "user-then-projects", "fixed"):
                        label = (f"bare FastAPI {route}, {workers} "
                                 f"worker{'s' if workers > 1 else ''}{sockets}")  # fmt: skip
                        jobs.append((label, command, bare_env, f"{base}/bare/fixed",
                                     f"{base}/bare/{route}", None))  # fmt: skip
            jobs = [job for job in jobs if not any(text in job[0] for text in args.skip)]
            # Rounds interleave the configurations, so that a slow spell of the machine does
            # not land on one of them only; each figure is the median of its rounds.
            rounds: dict[str, list[dict[str, float]]] = {}
            for round_ in range(args.repeat):
                for label, command, env, probe, target, wrk_script in jobs:
                    measured = run(command, env, probe, target, args, wrk_script)
                    rounds.setdefault(label, []).append(measured)
                    print(f"round {round_ + 1}: {label} {measured}", flush=True)
            for label, measured_rounds in rounds.items():
                median = {
                    key: statistics.median(m[key] for m in measured_rounds)
                    for key in measured_rounds[0]
                }
                results.append((label, median))
    shutil.rmtree(home, ignore_errors=True)

    print(f"\n{args.projects:,} projects, {args.users:,} users; wrk -t2 -c100 -d{args.duration}s; "
          f"median of {args.repeat} rounds")  # fmt: skip
    # "vs bare" is against the bare asyncpg route as uvicorn serves it (`--workers N`, one
    # shared socket); "p99 vs bare, reuse-port" against the same route under per-worker sockets.
    bare = {
        1 if "1 worker" in name else 2: r
        for name, r in results
        if name.startswith("bare FastAPI projects") and not name.endswith("reuse-port")
    }
    bare_reuse = {
        1 if "1 worker" in name else 2: r
        for name, r in results
        if name.startswith("bare FastAPI projects") and name.endswith("reuse-port")
    }
    print("| configuration | req/s | p99 ms | p50 ms | non-2xx | req/s vs bare asyncpg route "
          "| p99 vs bare | p99 vs bare, reuse-port | busiest worker's connections |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results:
        workers = 1 if "1 worker" in name else 2
        ratio = r["rps"] / bare[workers]["rps"] if workers in bare else float("nan")
        tail = r["p99"] / bare[workers]["p99"] if workers in bare else float("nan")
        reuse_tail = (
            f"{r['p99'] / bare_reuse[workers]['p99']:.2f}x" if workers in bare_reuse else "-"
        )
        share = f"{r['busiest_share']:.0%}" if workers > 1 else "-"
        print(f"| {name} | {r['rps']:,.0f} | {r['p99']:.1f} | {r['p50']:.1f} | {r['non2xx']:.0f} "
              f"| {ratio:.0%} | {tail:.2f}x | {reuse_tail} | {share} |")  # fmt: skip


if __name__ == "__main__":
    main()
