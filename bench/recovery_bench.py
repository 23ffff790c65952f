"""How long the API takes to answer again after its database dies.

Two cases, each against a real `spacekontext serve` in a subprocess, several rounds:

* embedded: `kill -9` of the embedded postmaster; `serve` restarts it by itself. Measured from
  the kill to the first 200 of `/readyz` and of an authenticated `GET /api/projects` (from the
  database: response cache off).
* external: a private PostgreSQL 15 (DATABASE_URL) stopped (`pg_ctl stop -m fast`), left down
  for `--down-s`, then started again. Measured from the moment `pg_ctl start` returns (the
  server accepts connections) to the API's first 200: the app's own share of the outage.

Meanwhile every answer must be a 200 or a 503 `database_unavailable`; the script counts them.
Needs Debian's postgresql-15 for the external case (`scripts/ci-system-deps.sh`).

    .venv/bin/python bench/recovery_bench.py --rounds 5
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' PostgreSQL 15 cluster helper

from tests.db import servers  # noqa: E402
from tests.e2e.serving import cli, environment, free_port, postmaster_pid, serving  # noqa: E402


def wait_answering(
    base: str, headers: dict[str, str], counts: Counter[int], limit_s: float = 120
) -> tuple[float, float]:
    """Seconds until /readyz, then GET /api/projects, first answer 200 (from now)."""
    started = time.monotonic()
    ready_s = api_s = None
    while ready_s is None or api_s is None:
        if time.monotonic() - started > limit_s:
            raise SystemExit(f"no recovery within {limit_s} s")
        if ready_s is None and httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
            ready_s = time.monotonic() - started
        response = httpx.get(f"{base}/api/projects", headers=headers, timeout=5)
        counts[response.status_code] += 1
        if response.status_code not in (200, 503):
            raise SystemExit(f"unexpected {response.status_code}: {response.text}")
        if response.status_code == 503:
            assert response.json()["code"] == "database_unavailable", response.text
        if api_s is None and response.status_code == 200:
            api_s = time.monotonic() - started
        time.sleep(0.02)
    return ready_s, api_s


@contextlib.contextmanager
def api(env: dict[str, str], home: Path) -> Iterator[tuple[str, dict[str, str]]]:
    with serving(env, home / "serve.log") as running:
        token = cli("token", "create", "--email", "bench@example.com", env=env).stdout.strip()
        yield running.base, {"Authorization": f"Bearer {token}"}


def embedded(rounds: int) -> list[tuple[float, float]]:
    home = Path(tempfile.mkdtemp(prefix="sk-rec-"))
    env = environment(home, free_port(), CACHE_RESPONSES="false", RATE_LIMIT_ENABLED="false")
    results = []
    counts: Counter[int] = Counter()
    try:
        with api(env, home) as (base, headers):
            for _ in range(rounds):
                pid = postmaster_pid(home)
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
                results.append(wait_answering(base, headers, counts))
                time.sleep(2)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"  embedded answers: {dict(counts)}")
    return results


def external(rounds: int, down_s: float) -> list[tuple[float, float]]:
    home = Path(tempfile.mkdtemp(prefix="sk-rec-"))
    results = []
    counts: Counter[int] = Counter()
    try:
        with servers.primary_cluster() as cluster:
            env = environment(
                home,
                free_port(),
                DATABASE_URL=cluster.url,
                CACHE_RESPONSES="false",
                RATE_LIMIT_ENABLED="false",
            )
            with api(env, home) as (base, headers):
                for _ in range(rounds):
                    cluster.stop("fast")
                    deadline = time.monotonic() + down_s
                    while time.monotonic() < deadline:
                        counts[httpx.get(f"{base}/api/projects", headers=headers).status_code] += 1
                        time.sleep(0.05)
                    cluster.start()  # returns once the server accepts connections (-w)
                    results.append(wait_answering(base, headers, counts))
                    time.sleep(2)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"  external answers: {dict(counts)}")
    return results


def report(name: str, results: list[tuple[float, float]]) -> None:
    ready = [r for r, _ in results]
    served = [a for _, a in results]
    print(
        f"{name}: /readyz 200 after median {statistics.median(ready):.2f} s "
        f"(max {max(ready):.2f}); GET /api/projects 200 after median "
        f"{statistics.median(served):.2f} s (max {max(served):.2f}); {len(results)} rounds"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--down-s", type=float, default=3.0)
    parser.add_argument("--only", choices=("embedded", "external"))
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    if args.only != "external":
        report("embedded, after kill -9 of the postmaster", embedded(args.rounds))
    if args.only != "embedded":
        if not servers.available():
            raise SystemExit("needs postgresql-15 (scripts/ci-system-deps.sh)")
        report(
            "external, after the server is back (pg_ctl start returned)",
            external(args.rounds, args.down_s),
        )
    print(f"load average after: {os.getloadavg()}")
    print("command: .venv/bin/python bench/recovery_bench.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
