"""Project-list throughput with wrk: cache off vs in-process vs Redis, next to a bare FastAPI
route returning fixed 1 KB JSON, all measured in the same run.

    .venv/bin/python bench/cache_bench.py --users 10000 --projects-per-user 100

Starts its own PostgreSQL (embedded, unless DATABASE_URL is set) and redis-server on loopback,
seeds users x projects, mints one dev token per user, then for each configuration starts
`spacekontext serve` (or uvicorn for the yardstick), warms up, and runs
`wrk -t2 -c100 -d<duration>s --latency` with a Lua script picking a random user per request."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg

from spacekontext.auth.tokens import DevTokens
from spacekontext.db.migrate import upgrade
from spacekontext.db.urls import libpq_dsn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
from tests.redisproc import RedisProcess, free_port  # noqa: E402


def seed(url: str, users: int, per_user: int) -> None:
    started = time.monotonic()
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        conn.execute("TRUNCATE app.users CASCADE")
        conn.execute(
            """
            INSERT INTO app.users (id, clerk_id, email)
            SELECT 'u' || lpad(g::text, 8, '0'), 'dev|bench' || g || '@example.com',
                   'bench' || g || '@example.com'
            FROM generate_series(1, %s) AS g
            """,
            (users,),
        )
        conn.execute(
            """
            INSERT INTO app.projects (id, user_id, name, description, created_at, updated_at)
            SELECT 'p' || lpad(u::text, 8, '0') || lpad(p::text, 5, '0'),
                   'u' || lpad(u::text, 8, '0'),
                   'Project ' || p, 'Seeded project ' || p || ' of user ' || u,
                   now() - make_interval(mins => p), now() - make_interval(mins => p)
            FROM generate_series(1, %s) AS u, generate_series(1, %s) AS p
            """,
            (users, per_user),
        )
        conn.execute("VACUUM ANALYZE app.projects")
        conn.execute("VACUUM ANALYZE app.users")
        count = conn.execute("SELECT count(*) FROM app.projects").fetchone()
    print(f"seeded {count[0] if count else '?'} projects in {time.monotonic() - started:.0f} s")


def wait_ready(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def server(args: list[str], env: dict[str, str], port: int, probe: str) -> Iterator[None]:
    process = subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}{probe}")
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wrk(url: str, duration_s: int, env: dict[str, str], script: Path | None) -> dict[str, float]:
    command = ["wrk", "-t2", "-c100", f"-d{duration_s}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run(
        [*command, url], env=env, capture_output=True, text=True, check=True
    ).stdout

    def latency_ms(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if match is None:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors:.*", output)
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50": latency_ms("50%"),
        "p99": latency_ms("99%"),
        "non2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": 1.0 if socket_errors else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--projects-per-user", type=int, default=100)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--workers", default="1,2", help="worker counts to measure")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")

    work = Path(tempfile.mkdtemp(prefix="skbench-"))
    home = work / "home"
    home.mkdir()
    redis = RedisProcess(work / "redis")
    redis.start()
    try:
        with contextlib.ExitStack() as stack:
            database_url = os.environ.get("DATABASE_URL")
            if not database_url:
                from spacekontext.db.embedded import attached

                database_url = stack.enter_context(attached(work, "bench"))
            upgrade(database_url)
            seed(database_url, args.users, args.projects_per_user)
            tokens = DevTokens.from_data_dir(home)
            tokens_file = work / "tokens.txt"
            tokens_file.write_text(
                "\n".join(tokens.mint(f"bench{u}@example.com") for u in range(1, args.users + 1))
            )
            run(args, work, home, database_url, redis.url, tokens_file)
    finally:
        redis.kill()
        shutil.rmtree(work, ignore_errors=True)


def run(
    args: argparse.Namespace,
    work: Path,
    home: Path,
    database_url: str,
    redis_url: str,
    tokens_file: Path,
) -> None:
    results: list[tuple[str, int, dict[str, float]]] = []
    wrk_env = os.environ | {"TOKENS_FILE": str(tokens_file)}
    script = HERE / "random_user.lua"
    for workers in [int(w) for w in args.workers.split(",")]:
        port = free_port()
        fixed_cmd = [
            str(VENV_BIN / "uvicorn"), "bench.fixed_json_app:app", "--port", str(port),
            "--workers", str(workers), "--log-level", "warning", "--no-access-log",
            "--no-server-header",
        ]  # fmt: skip
        with server(fixed_cmd, os.environ | {"PYTHONPATH": str(ROOT)}, port, "/fixed"):
            url = f"http://127.0.0.1:{port}/fixed"
            wrk(url, args.warmup, wrk_env, None)
            measured = wrk(url, args.duration, wrk_env, None)
            results.append(("fixed 1 KB JSON (bare FastAPI)", workers, measured))
        configs = [("cache off", {"CACHE_ENABLED": "false"})]
        if workers == 1:  # the in-process cache is turned off with several workers
            configs.append(("cache: memory", {"CACHE_ENABLED": "true"}))
        configs.append(("cache: redis", {"CACHE_ENABLED": "true", "REDIS_URL": redis_url}))
        for label, extra in configs:
            port = free_port()
            env = (
                os.environ
                | {
                    "DATABASE_URL": database_url,
                    "SPACEKONTEXT_HOME": str(home),
                    "LOG_LEVEL": "warning",
                    # Every request still takes a token from its bucket (that cost is measured); the
                    # limit is set out of reach so that the figures count served requests, not 429s.
                    "RATE_LIMIT_READ_PER_S": "1000000",
                    "RATE_LIMIT_READ_BURST": "1000000",
                    "CACHE_KEY_PREFIX": f"b{secrets.token_hex(3)}:",
                }
                | extra
            )
            if "REDIS_URL" not in extra:
                env.pop("REDIS_URL", None)
            command = [
                str(VENV_BIN / "spacekontext"), "serve", "--port", str(port),
                "--workers", str(workers),
            ]  # fmt: skip
            with server(command, env, port, "/healthz"):
                url = f"http://127.0.0.1:{port}/api/projects"
                wrk(url, args.warmup, wrk_env, script)
                results.append((label, workers, wrk(url, args.duration, wrk_env, script)))
        report(results)


def report(results: list[tuple[str, int, dict[str, float]]]) -> None:
    fixed = {w: r["rps"] for label, w, r in results if label.startswith("fixed")}
    print()
    print("| configuration | workers | req/s | p50 ms | p99 ms | non-2xx | vs fixed JSON |")
    print("|---|---|---|---|---|---|---|")
    for label, workers, r in results:
        ratio = r["rps"] / fixed[workers] if fixed.get(workers) else float("nan")
        print(
            f"| {label} | {workers} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} "
            f"| {int(r['non2xx'])} | {ratio:.0%} |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
