"""Capacity runs of issue 7, reproducible in one command: seeds the assessment's scale and runs
`spacekontext loadtest` through the step ladder against each configuration in turn.

    python bench/capacity_stack.py --configs naive,tuned-1,stack \\
        --users 100,250,500,1000,2000,3000,4000,5000 --step-seconds 30 --out docs/capacity

Everything runs on loopback on free ports and is torn down at the end (or on Ctrl-C, or when
`--max-minutes` is reached):
- a PostgreSQL 15 primary (max_connections 100, as the assessment's server; pg_stat_statements
  loaded) and, for `stack`, a streaming replica — the helpers of tests/db/servers.py;
- the data set: `spacekontext seed --users 1000` (5,000 projects, 10,000 floorplans, 25,000
  files with their objects in the local store);
- the server under test, one configuration at a time:
  - `naive`: `serve --profile naive`, one process, straight to the primary;
  - `tuned-1`: `serve`, one process, straight to the primary, in-process cache;
  - `stack`: `serve --workers 2`, DATABASE_URL through PgBouncer (transaction mode, server
    pool `--primary-pool`; the app's client pools 25 + 10 and 20 for the hot reads),
    DATABASE_POOLER=pgbouncer, DATABASE_READ_URLS to the replica
    (through its own PgBouncer with `--replica-pool` server connections; 0 = direct) and
    REDIS_URL to a private redis-server;
- a sampler (1 s) beside the load test: connections on the primary and on the replica, PgBouncer
  waiting clients and wait time, CPU of every process of the stack (server and workers, both
  PostgreSQL servers, PgBouncers, Redis, the load generator); pg_stat_statements per run, and a
  py-spy profile of the server (and its workers) for `--profile-seconds` of every step, at a
  low rate (25 samples/s) so that the profiler takes little of the CPU it measures.

This is a script under bench/ rather than a `loadtest --stack` option because it starts
PostgreSQL 15 from the system packages as the `postgres` user (tests/db/servers.py), PgBouncer
and redis-server: tooling of this repository's test machine, not something the product ships.
Outputs per configuration: `<out>/<label>.json|.md|.png` (the load test's own) with the sampler's
figures added to each step of the JSON, and `<out>/stack-summary.md` over all of them."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.db import servers  # noqa: E402

DATABASE = "spacekontext"
PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- processes ----------------------------------------------------------------------------------


def wait_for_port(port: int, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.05)


def stop_group(process: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    """SIGTERM to the process group we started (the server and its workers), then SIGKILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[str, int]]:
    port = servers.free_port()
    base = Path(tempfile.mkdtemp(prefix="skredis-"))
    command = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
               "--appendonly", "no", "--dir", str(base), "--maxmemory", "1gb",
               "--maxmemory-policy", "allkeys-lru"]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0", process.pid
    finally:
        stop_group(process, 10)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def api_server(
    home: Path, env: dict[str, str], *, workers: int, profile: str, label: str
) -> Iterator[tuple[str, int]]:
    port = servers.free_port()
    command = [sys.executable, "-m", "spacekontext.cli", "serve", "--port", str(port),
               "--workers", str(workers), "--profile", profile]  # fmt: skip
    with (home / f"serve-{label}.log").open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                if process.poll() is not None:
                    tail = (home / f"serve-{label}.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"server exited:\n{tail}")
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("server not ready after 180 s")
                time.sleep(0.5)
            yield base, process.pid
        finally:
            stop_group(process)


# --- the sampler --------------------------------------------------------------------------------

_CONNECTIONS = """
SELECT count(*), count(*) FILTER (WHERE state = 'active')
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND datname = %s
  AND application_name <> 'spacekontext-loadtest'
"""


@dataclass
class Sample:
    at: float
    cpu: dict[int, tuple[str, float, float]]  # pid -> (role, cpu seconds, born)
    connections: dict[str, tuple[int, int]]  # server -> (total, active)
    bouncers: dict[str, dict[str, float]]  # pool -> waiting clients, wait time, transactions


@dataclass
class Sampler:
    roots: dict[str, tuple[int, bool]]  # role -> (pid, with children)
    databases: dict[str, str]  # name -> DSN of its `postgres` database (we do not count)
    bouncers: dict[str, servers.Bouncer] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        conns = {
            name: psycopg.connect(dsn, autocommit=True, application_name="capacity-sampler")
            for name, dsn in self.databases.items()
        }
        try:
            while not self._stop.wait(1.0):
                self.samples.append(self._sample(conns))
        finally:
            for conn in conns.values():
                conn.close()

    def _sample(self, conns: dict[str, psycopg.Connection[Any]]) -> Sample:
        cpu: dict[int, tuple[str, float, float]] = {}
        for role, (pid, with_children) in self.roots.items():
            try:
                root = psutil.Process(pid)
                procs = [root, *(root.children(recursive=True) if with_children else [])]
            except psutil.Error:
                continue
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    cpu[proc.pid] = (role, times.user + times.system, proc.create_time())
        connections = {}
        for name, conn in conns.items():
            with contextlib.suppress(psycopg.Error):
                row = conn.execute(_CONNECTIONS, (DATABASE,)).fetchone()
                if row:
                    connections[name] = (int(row[0]), int(row[1]))
        pools: dict[str, dict[str, float]] = {}
        for name, bouncer in self.bouncers.items():
            with contextlib.suppress(psycopg.Error):
                pool = next(p for p in bouncer.show("POOLS") if p["database"] == DATABASE)
                stats = next(s for s in bouncer.show("STATS") if s["database"] == DATABASE)
                pools[name] = {
                    "clWaiting": float(pool["cl_waiting"]),  # type: ignore[arg-type]
                    "svActive": float(pool["sv_active"]),  # type: ignore[arg-type]
                    "maxWaitS": float(pool["maxwait"]) + float(pool["maxwait_us"]) / 1e6,  # type: ignore[arg-type]
                    "totalWaitUs": float(stats["total_wait_time"]),  # type: ignore[arg-type]
                    "totalXacts": float(stats["total_xact_count"]),  # type: ignore[arg-type]
                }
        return Sample(time.time(), cpu, connections, pools)

    def window(self, start: float, end: float) -> dict[str, Any]:
        """Figures over one step's measurement window."""
        inside = [s for s in self.samples if start <= s.at <= end]
        if len(inside) < 2:
            return {}
        first: dict[int, float] = {}
        last: dict[int, tuple[str, float]] = {}
        for sample in inside:
            for pid, (role, used, born) in sample.cpu.items():
                if pid not in first:
                    # Born inside the window: all of its CPU belongs to the window.
                    first[pid] = 0.0 if born >= start else used
                last[pid] = (role, used)
        elapsed = inside[-1].at - inside[0].at
        cpu: Counter[str] = Counter()
        for pid, (role, used) in last.items():
            cpu[role] += used - first[pid]
        result: dict[str, Any] = {
            "cpuPercent": {role: round(100 * used / elapsed, 1) for role, used in cpu.items()},
        }
        for name in self.databases:
            totals = [s.connections[name][0] for s in inside if name in s.connections]
            active = [s.connections[name][1] for s in inside if name in s.connections]
            result[f"{name}ConnectionsMax"] = max(totals, default=None)
            result[f"{name}ActiveMax"] = max(active, default=None)
        for name in self.bouncers:
            rows = [s.bouncers[name] for s in inside if name in s.bouncers]
            if len(rows) < 2:
                continue
            xacts = rows[-1]["totalXacts"] - rows[0]["totalXacts"]
            wait_us = rows[-1]["totalWaitUs"] - rows[0]["totalWaitUs"]
            result[f"pgbouncer_{name}"] = {
                "clientsWaitingMax": max(r["clWaiting"] for r in rows),
                "serverActiveMax": max(r["svActive"] for r in rows),
                "maxWaitMs": round(1000 * max(r["maxWaitS"] for r in rows), 1),
                "transactions": xacts,
                "waitMsPerTransaction": round(wait_us / 1000 / xacts, 3) if xacts else None,
            }
        return result


# --- evidence -----------------------------------------------------------------------------------


def top_statements(dsn: str, limit: int = 8) -> list[dict[str, Any]]:
    query = (
        "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 160), calls, "
        "round(total_exec_time::numeric, 1), round(mean_exec_time::numeric, 3) "
        "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
        "WHERE d.datname = %s ORDER BY total_exec_time DESC LIMIT %s"
    )
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute(query, (DATABASE, limit)).fetchall()
    except psycopg.Error as exc:
        return [{"error": str(exc).strip()}]
    return [
        {"query": q, "calls": c, "totalMs": float(t), "meanMs": float(m)} for q, c, t, m in rows
    ]


def reset_statements(dsn: str) -> None:
    with contextlib.suppress(psycopg.Error), psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")


def summarize_profile(raw: Path, limit: int = 15) -> dict[str, Any]:
    """py-spy's raw output (collapsed stacks) → the leaf functions and the project's own
    functions that hold most samples."""
    leaves: Counter[str] = Counter()
    own: Counter[str] = Counter()
    # Inclusive: a project function counted once per sample it is anywhere on the stack of,
    # so a route handler's figure is all the CPU spent serving that route.
    inclusive: Counter[str] = Counter()
    total = 0
    if not raw.exists():
        return {"error": "no profile written"}
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        # --subprocesses puts "process N: command line" at the root of every stack.
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        leaves[_short(frames[-1])] += count
        mine = [f for f in frames if "spacekontext" in f and "/site-packages/" not in f]
        if mine:
            own[_short(mine[-1])] += count
            for name in {_short(f) for f in mine}:
                inclusive[name] += count

    def share(counter: Counter[str], top: int = limit) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "leafPercent": share(leaves),
        "ownCodePercent": share(own),
        "inclusivePercent": share(inclusive, 2 * limit),
    }


def _short(frame: str) -> str:
    # "function (path/to/module.py:123)" → "function (module.py)"
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({'/'.join(Path(path).parts[-2:])})" if path else name


def profile_server(pid: int, seconds: float, out: Path, rate: int) -> subprocess.Popen[bytes]:
    command = [PY_SPY, "record", "--pid", str(pid), "--subprocesses", "--nonblocking",
               "--rate", str(rate), "--duration", str(int(seconds)), "--format", "raw",
               "--output", str(out)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --- one configuration --------------------------------------------------------------------------


def run_loadtest(
    args: argparse.Namespace,
    *,
    label: str,
    base_url: str,
    server_pid: int,
    sampler: Sampler,
    env: dict[str, str],
    out: Path,
    scratch: Path,
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    command = [sys.executable, "-m", "spacekontext.cli", "loadtest", "--target", base_url,
               "--users", args.users, "--step-seconds", str(args.step_seconds),
               "--ramp-seconds", str(args.ramp_seconds), "--timeout", str(args.request_timeout),
               "--label", label, "--out", str(out / label),
               "--max-minutes", str(args.max_minutes_per_config)]  # fmt: skip
    if args.continue_after_break:
        command.append("--continue-after-break")
    profilers: dict[int, tuple[subprocess.Popen[bytes], Path]] = {}
    timers: list[threading.Timer] = []
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    sampler.roots["loadtest"] = (process.pid, True)
    try:
        for line in iter(process.stdout.readline, b""):
            text = line.decode(errors="replace").rstrip()
            print(f"    {text}", flush=True)
            users_text, _, rest = text.partition(" users: ramping")
            if rest and users_text.isdigit() and args.profile_seconds > 0:
                users = int(users_text)

                def start(users: int = users) -> None:
                    raw = scratch / f"pyspy-{label}-{users}.txt"
                    profilers[users] = (
                        profile_server(server_pid, args.profile_seconds, raw, args.profile_rate),
                        raw,
                    )

                # Profile inside the measurement window (after the ramp and one think time).
                timer = threading.Timer(args.ramp_seconds + 2, start)
                timer.start()
                timers.append(timer)
        process.wait(timeout=60)
    finally:
        for timer in timers:
            timer.cancel()
        stop_group(process, 10)
        for profiler, _raw in profilers.values():
            try:
                profiler.wait(timeout=60)
            except subprocess.TimeoutExpired:
                profiler.kill()
    json_path = out / f"{label}.json"
    result = json.loads(json_path.read_text()) if json_path.exists() else None
    profile = {str(users): summarize_profile(raw) for users, (_p, raw) in sorted(profilers.items())}
    if args.keep_profiles:
        for _p, raw in profilers.values():
            if raw.exists():
                shutil.copy(raw, out / raw.name)
    return result, profile


def configuration(
    args: argparse.Namespace,
    name: str,
    *,
    home: Path,
    primary: servers.Cluster,
    stack: contextlib.ExitStack,
    replica_holder: dict[str, Any],
) -> dict[str, Any]:
    direct = f"postgresql://postgres@127.0.0.1:{primary.port}/{DATABASE}"
    env = {
        **os.environ,
        "SPACEKONTEXT_HOME": str(home),
        "LOG_LEVEL": "warning",
        "DATABASE_URL": direct,
        "PYTHONUNBUFFERED": "1",
    }
    roots: dict[str, tuple[int, bool]] = {}
    databases = {"primary": primary.url}
    bouncers: dict[str, servers.Bouncer] = {}
    workers, profile = 1, "tuned"
    described: dict[str, Any] = {"name": name}
    if name == "naive":
        profile = "naive"
        described["what"] = "one process, --profile naive, straight to the primary"
    elif name == "tuned-1":
        described["what"] = "one process, tuned profile, straight to the primary, memory cache"
    elif name == "stack":
        workers = 2
        if "replica" not in replica_holder:
            log("starting the streaming replica (pg_basebackup)")
            replica_holder["replica"] = stack.enter_context(servers.replica_of(primary))
        replica: servers.Cluster = replica_holder["replica"]
        databases["replica"] = replica.url
        bouncer = stack.enter_context(servers.pgbouncer(primary, server_pool=args.primary_pool))
        bouncers["primary"] = bouncer
        roots["pgbouncer"] = (_pid_of(bouncer), False)
        read_url = f"postgresql://postgres@127.0.0.1:{replica.port}/{DATABASE}"
        if args.replica_pool:
            read_bouncer = stack.enter_context(
                servers.pgbouncer(replica, server_pool=args.replica_pool)
            )
            bouncers["replica"] = read_bouncer
            roots["pgbouncer-replica"] = (_pid_of(read_bouncer), False)
            read_url = read_bouncer.url(DATABASE)
        redis_url, redis_pid = stack.enter_context(redis_server())
        roots["redis"] = (redis_pid, False)
        roots["replica"] = (_postmaster_pid(replica), True)
        env |= {
            "DATABASE_URL": bouncer.url(DATABASE),
            "DATABASE_POOLER": "pgbouncer",
            "DATABASE_READ_URLS": read_url,
            "REDIS_URL": redis_url,
            # Behind PgBouncer a client connection is cheap and the server connections are
            # what is bounded (`--primary-pool`, `--replica-pool`): the app's own pools are
            # sized so that requests queue in PgBouncer, which hands a server connection to
            # each transaction, not in the app, which holds one for a whole unit of work
            # (docs/database.md). The 20 server connections are unchanged.
            "DB_POOL_SIZE": "25",
            "DB_MAX_OVERFLOW": "10",
            "DB_READ_POOL_SIZE": "20",
        }
        described["what"] = (
            f"2 workers, PgBouncer (transaction mode, {args.primary_pool} server connections) "
            f"to the primary, replica reads through "
            + (f"a PgBouncer with {args.replica_pool}" if args.replica_pool else "direct")
            + ", Redis cache"
        )
    else:
        raise SystemExit(f"unknown configuration {name!r}")
    roots["primary"] = (_postmaster_pid(primary), True)
    # pg_stat_statements' functions live in the database that created the extension.
    statements = {"Primary": direct}
    if "replica" in replica_holder and name == "stack":
        statements["Replica"] = replica_holder["replica"].url.rsplit("/", 1)[0] + f"/{DATABASE}"
    for dsn in statements.values():
        reset_statements(dsn)
    scratch = home / "scratch"
    scratch.mkdir(exist_ok=True)
    log(f"{name}: {described['what']}")
    loadtest_env = {**env, "DATABASE_URL": direct}  # the load test watches the primary itself
    for key in ("DATABASE_POOLER", "DATABASE_READ_URLS", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR"):
        loadtest_env.pop(key, None)
    with api_server(home, env, workers=workers, profile=profile, label=name) as (base, pid):
        roots["server"] = (pid, True)
        with Sampler(roots, databases, bouncers) as sampler:
            result, profile_summary = run_loadtest(
                args, label=name, base_url=base, server_pid=pid, sampler=sampler,
                env=loadtest_env,
                out=args.out, scratch=scratch,
            )  # fmt: skip
            if result is None:
                return {**described, "error": "the load test wrote no result"}
            for step in result["steps"]:
                step["stack"] = sampler.window(step["windowStartUnix"], step["windowEndUnix"])
        outage_counters = scrape_counters(base, OUTAGE_COUNTERS)
    evidence: dict[str, Any] = {
        f"pgStatStatements{where}": top_statements(dsn) for where, dsn in statements.items()
    }
    evidence["pySpy"] = profile_summary
    # What the server itself reported during the run: a cache that fell back to the database,
    # a warning or an error; none of it shows in the load test's status codes.
    evidence["serverCounters"] = outage_counters
    evidence["serverLog"] = log_findings(home / f"serve-{name}.log")
    result["harness"] = {**described, **evidence, "seed": args.seed_report}
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


OUTAGE_COUNTERS = (
    "spacekontext_cache_errors_total",
    "spacekontext_rate_limit_errors_total",
    "spacekontext_db_pool_timeouts_total",
    "spacekontext_db_slow_statements_total",
)


def scrape_counters(base: str, names: tuple[str, ...]) -> dict[str, float]:
    """The server's own counters of degraded service (summed over labels and workers)."""
    try:
        text = httpx.get(base + "/metrics", timeout=10).text
    except httpx.HTTPError as exc:
        return {"error": str(exc)}  # type: ignore[dict-item]
    found = dict.fromkeys(names, 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in found:
            found[name] += float(line.rsplit(" ", 1)[1])
    return found


def log_findings(path: Path) -> list[list[Any]]:
    """Warnings and errors of the server's log (JSON lines), counted by level and message (its
    digits left out, so that counts and ids do not split one message into many)."""
    counts: Counter[tuple[str, str]] = Counter()
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            level = str(entry.get("level", "")) if isinstance(entry, dict) else ""
            if level in ("warning", "error", "critical"):
                event = "".join("#" if c.isdigit() else c for c in str(entry.get("event", "")))
                counts[level, event[:160]] += 1
    return [[level, event, n] for (level, event), n in counts.most_common(20)]


def _pid_of(bouncer: servers.Bouncer) -> int:
    return int((bouncer.admin_dir / "pgbouncer.pid").read_text().strip())


def _postmaster_pid(cluster: servers.Cluster) -> int:
    return int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0])


# --- the whole run ------------------------------------------------------------------------------


def seed(args: argparse.Namespace, home: Path, url: str) -> dict[str, Any]:
    env = {**os.environ, "SPACEKONTEXT_HOME": str(home), "DATABASE_URL": url}
    command = [sys.executable, "-m", "spacekontext.cli", "seed", "--users", str(args.seed_users),
               "--seed", "1"]  # fmt: skip
    log("seeding: " + " ".join(command[3:]))
    started = time.monotonic()
    with (home / "seed.log").open("wb") as out:
        done = subprocess.run(command, env=env, timeout=1800, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError((home / "seed.log").read_text(errors="replace")[-3000:])
    elapsed = time.monotonic() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("VACUUM ANALYZE")
        counts = {
            table: conn.execute(f"SELECT count(*) FROM app.{table}").fetchone()[0]  # type: ignore[index]
            for table in ("users", "projects", "floorplans", "files")
        }
    log(f"seeded in {elapsed:.0f} s: {counts}")
    return {"seconds": round(elapsed, 1), "rows": counts, "command": " ".join(command[3:])}


def machine_split(step: dict[str, Any]) -> str:
    """Whole-machine CPU, and the part of it this run's own processes do not explain (other work
    on a shared machine)."""
    system = step["cpuPercent"].get("system")
    if system is None:
        return "-"
    ours = sum(step.get("stack", {}).get("cpuPercent", {}).values()) / (os.cpu_count() or 1)
    return f"{system:.0f}% ({max(0.0, system - ours):.0f}% other)"


def step_row(step: dict[str, Any]) -> str:
    stack = step.get("stack", {})
    cpu = stack.get("cpuPercent", {})
    bouncer = stack.get("pgbouncer_primary", {})
    requests = step["requests"] or 1
    seconds = step["durationS"]

    def ms_per_request(role: str) -> str:
        return f"{cpu[role] / 100 * seconds * 1000 / requests:.1f}" if role in cpu else "-"

    def fmt(value: Any) -> str:
        return "-" if value is None else str(value)

    conns = fmt(stack.get("primaryConnectionsMax"))
    if "replicaConnectionsMax" in stack:
        conns += f" + {fmt(stack['replicaConnectionsMax'])}"
    cache = step.get("cacheHitRatio")
    return (
        f"| {step['users']:,} | {step['requestsPerS']} | {step['p50Ms']} | {step['p95Ms']} | "
        f"{step['p99Ms']} | {step['errorRate'] * 100:.2f}% | {conns} | "
        f"{fmt(step.get('poolWaitingMax'))} / {fmt(bouncer.get('clientsWaitingMax'))} | "
        f"{'-' if cache is None else f'{cache * 100:.0f}%'} | "
        f"{ms_per_request('server')} / {ms_per_request('primary')} / "
        f"{ms_per_request('replica')} / {ms_per_request('loadtest')} | "
        f"{machine_split(step)} | "
        f"{'breaks: ' + '; '.join(step['breakReasons']) if step['breaks'] else 'holds'} |"
    )


def summary(results: list[dict[str, Any]], load: str) -> str:
    lines = [f"Load average before the runs: {load}", ""]
    for result in results:
        harness = result.get("harness", {})
        lines += [
            f"### {result.get('label', harness.get('name'))}: {harness.get('what', '')}",
            "",
            "| users | req/s | p50 ms | p95 ms | p99 ms | errors | PG server connections "
            "(primary + replica, max) | app pool waiting / PgBouncer clients waiting (max) "
            "| cache hits | CPU ms per request: server / primary / replica / load generator "
            "| machine CPU (other work) | verdict |",
            "|---:|---:|---:|---:|---:|---:|---|---|---:|---|---:|---|",
            *(step_row(step) for step in result.get("steps", [])),
            "",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="naive,tuned-1,stack")
    parser.add_argument("--users", default="100,250,500,1000,2000,3000,4000,5000")
    parser.add_argument("--step-seconds", type=float, default=30)
    parser.add_argument("--ramp-seconds", type=float, default=10)
    parser.add_argument("--request-timeout", type=float, default=30)
    parser.add_argument("--seed-users", type=int, default=1000)
    parser.add_argument("--primary-pool", type=int, default=10)
    parser.add_argument("--replica-pool", type=int, default=10, help="0: replica reads direct")
    parser.add_argument(
        "--profile-seconds", type=float, default=10, help="py-spy in every step (0: off)"
    )
    parser.add_argument("--profile-rate", type=int, default=25, help="py-spy samples/s")
    parser.add_argument(
        "--keep-profiles", action="store_true", help="py-spy's raw stacks beside the results"
    )
    parser.add_argument("--continue-after-break", action="store_true")
    parser.add_argument("--max-minutes", type=float, default=60, help="whole run, hard limit")
    parser.add_argument("--out", type=Path, default=Path("capacity-results"))
    args = parser.parse_args()
    if args.primary_pool + args.replica_pool > 20:
        parser.error("the stack's budget is 20 PostgreSQL server connections in all")
    args.out.mkdir(parents=True, exist_ok=True)
    args.max_minutes_per_config = max(1.0, args.max_minutes / len(args.configs.split(",")))

    # The server and the load generator hold one socket per simulated user.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(hard, 65536), max(hard, 65536)))

    def out_of_time(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"--max-minutes {args.max_minutes} reached")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.alarm(int(args.max_minutes * 60))
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    home = Path(tempfile.mkdtemp(prefix="skcap-"))
    results: list[dict[str, Any]] = []
    try:
        with contextlib.ExitStack() as stack:
            primary = stack.enter_context(
                servers.primary_cluster(
                    max_connections=100,
                    shared_buffers="'512MB'",
                    shared_preload_libraries="'pg_stat_statements'",
                )
            )
            with psycopg.connect(primary.url, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {DATABASE}")  # type: ignore[arg-type]
            direct = f"postgresql://postgres@127.0.0.1:{primary.port}/{DATABASE}"
            args.seed_report = seed(args, home, direct)
            holder: dict[str, Any] = {}
            for name in args.configs.split(","):
                results.append(
                    configuration(
                        args, name.strip(), home=home, primary=primary, stack=stack,
                        replica_holder=holder,
                    )
                )  # fmt: skip
                (args.out / "stack-summary.md").write_text(summary(results, load))
    finally:
        signal.alarm(0)
        shutil.rmtree(home, ignore_errors=True)
    print(summary(results, load))


if __name__ == "__main__":
    main()
