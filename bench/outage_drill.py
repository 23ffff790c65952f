"""Outage drills against a real `spacekontext serve`, under mixed traffic.

1. PostgreSQL stopped and started again: a private PostgreSQL 15 cluster (tests/db/servers.py:
   Debian's binaries as the postgres user, a free loopback port, fsync and synchronous commit
   on), `pg_ctl stop -m fast` while readers and writers run, down for `--pg-down` seconds,
   started again. Counted: answers by status, connection resets (any transport error on a
   keep-alive connection), the recovery time (from the start command to the first 2xx write),
   and lost writes (every project answered 201 must be in the database afterwards).
2. Redis hung: a private redis-server SIGSTOPped for `--redis-hang` seconds: throughput of the
   same traffic before, during and after.

    python bench/outage_drill.py --clients 16 --pg-down 5 --redis-hang 6

Loops stop by themselves; everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.db import servers
from tests.redisproc import RedisProcess

BIN = Path(sys.executable).parent


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    resets: Counter[str] = field(default_factory=Counter)
    created: list[str] = field(default_factory=list)
    first_write_after: float | None = None
    done: int = 0
    latencies: list[float] = field(default_factory=list)


async def traffic(base: str, token: str, clients: int, seconds: float, tally: Tally,
                  watch_from: list[float]) -> None:  # fmt: skip
    """`clients` keep-alive clients, 70% list reads, 30% creates, for `seconds`."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + seconds

    async def one(n: int) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits,
                                     timeout=15) as http:  # fmt: skip
            rng = random.Random(n)
            while time.monotonic() < deadline:
                write = rng.random() < 0.3
                sent = time.monotonic()
                try:
                    if write:
                        response = await http.post(
                            "/api/projects", json={"name": f"drill {n} {time.time_ns()}"}
                        )
                    else:
                        response = await http.get("/api/projects?limit=20")
                except httpx.TransportError as exc:
                    tally.resets[type(exc).__name__] += 1
                    await asyncio.sleep(0.05)
                    continue
                tally.statuses[response.status_code] += 1
                tally.done += 1
                tally.latencies.append(time.monotonic() - sent)
                if write and response.status_code == 201:
                    tally.created.append(response.json()["project"]["id"])
                    if watch_from and tally.first_write_after is None:
                        tally.first_write_after = time.monotonic() - watch_from[0]
                if response.status_code == 503:
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(one(n) for n in range(clients)))


def start_serve(home: Path, port: int, env_extra: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"SPACEKONTEXT_HOME": str(home), "PORT": str(port), "LOG_LEVEL": "warning",
            "RATE_LIMIT_ENABLED": "false", **env_extra}  # fmt: skip
    log = (home / "serve.log").open("wb")
    return subprocess.Popen([str(BIN / "spacekontext"), "serve"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("serve did not become ready")


def token_for(home: Path, env_extra: dict[str, str]) -> str:
    env = os.environ | {"SPACEKONTEXT_HOME": str(home), **env_extra}
    done = subprocess.run([str(BIN / "spacekontext"), "token", "create", "--email",
                           "drill@example.com"], env=env, check=True, capture_output=True,
                          text=True)  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


async def drill(args: argparse.Namespace) -> None:
    print(f"load average before: {os.getloadavg()}")
    with servers.primary_cluster(fsync="on", synchronous_commit="on") as cluster:
        database = cluster.url
        redis = RedisProcess(Path(tempfile.mkdtemp(prefix="sk-drill-redis-")))
        redis.start()
        home = Path(tempfile.mkdtemp(prefix="sk-drill-"))
        port = servers.free_port()
        base = f"http://127.0.0.1:{port}"
        env_extra = {"DATABASE_URL": database, "REDIS_URL": redis.url}
        await asyncio.to_thread(
            subprocess.run,
            [str(BIN / "spacekontext"), "migrate"],
            env=os.environ | env_extra,
            check=True,
            capture_output=True,
        )
        serve = start_serve(home, port, env_extra)
        try:
            wait_ready(base)
            token = token_for(home, env_extra)

            # --- PostgreSQL stopped and started --------------------------------------------
            tally = Tally()
            watch_from: list[float] = []

            async def outage() -> None:
                await asyncio.sleep(args.warm)
                stopped = time.monotonic()
                await asyncio.to_thread(cluster.stop, "fast")
                print(f"postgres stopped in {time.monotonic() - stopped:.2f} s")
                await asyncio.sleep(args.pg_down)
                started = time.monotonic()
                tally.first_write_after = None
                watch_from.append(started)
                await asyncio.to_thread(cluster.start)
                print(f"postgres started in {time.monotonic() - started:.2f} s")

            total = args.warm + args.pg_down + args.after
            await asyncio.gather(
                traffic(base, token, args.clients, total, tally, watch_from), outage()
            )
            with psycopg.connect(database) as conn:
                stored = {
                    row[0]
                    for row in conn.execute(
                        "SELECT id FROM app.projects WHERE id = ANY(%s)", (tally.created,)
                    )
                }
            lost = len(set(tally.created) - stored)
            print("\n== PostgreSQL stop/start under mixed traffic ==")
            print(f"clients {args.clients}, warm {args.warm} s, down {args.pg_down} s, "
                  f"after {args.after} s")  # fmt: skip
            print(f"answers by status: {dict(sorted(tally.statuses.items()))}")
            print(f"500s: {tally.statuses.get(500, 0)}; 503s: {tally.statuses.get(503, 0)}")
            print(f"connection resets: {sum(tally.resets.values())} {dict(tally.resets)}")
            recovery = tally.first_write_after
            print(f"recovery (start command -> first 201): "
                  f"{'n/a' if recovery is None else f'{recovery:.2f} s'}")  # fmt: skip
            print(f"writes acknowledged: {len(tally.created)}, lost: {lost}")

            # --- Redis hung --------------------------------------------------------------------
            print("\n== Redis SIGSTOPped under the same traffic ==")
            assert redis.process is not None
            for phase in ("before", "hung", "after"):
                if phase == "hung":
                    os.kill(redis.process.pid, signal.SIGSTOP)
                phase_tally = Tally()
                started = time.monotonic()
                try:
                    await traffic(base, token, args.clients, args.redis_hang, phase_tally, [])
                finally:
                    if phase == "hung":
                        os.kill(redis.process.pid, signal.SIGCONT)
                elapsed = time.monotonic() - started
                lat = sorted(phase_tally.latencies) or [0.0]
                p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99)]
                print(f"{phase:>6}: {phase_tally.done / elapsed:7.1f} req/s "
                      f"p50 {p50 * 1000:.0f} ms p99 {p99 * 1000:.0f} ms "
                      f"statuses {dict(sorted(phase_tally.statuses.items()))} "
                      f"resets {sum(phase_tally.resets.values())}")  # fmt: skip
        finally:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                serve.kill()
            redis.kill()
            shutil.rmtree(home, ignore_errors=True)
            shutil.rmtree(redis.data_dir, ignore_errors=True)
    print(f"load average after: {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--warm", type=float, default=4.0)
    parser.add_argument("--pg-down", type=float, default=5.0)
    parser.add_argument("--after", type=float, default=6.0)
    parser.add_argument("--redis-hang", type=float, default=6.0)
    asyncio.run(drill(parser.parse_args()))


if __name__ == "__main__":
    main()
