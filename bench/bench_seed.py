"""Seed throughput: `python bench/bench_seed.py --users 1000` seeds a fresh embedded PostgreSQL
(in a temporary directory) at the given scale and prints wall time, rows, document megabytes and
the CPU seconds spent by the generator processes and by PostgreSQL. CPU seconds say what the run
costs on an idle machine when the wall time is inflated by other work sharing the cores."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import psutil

from spacekontext.db.embedded import EmbeddedServer, attached, running_postmaster
from spacekontext.db.migrate import upgrade
from spacekontext.db.urls import libpq_dsn
from spacekontext.tools.seed.writer import SeedPlan, run_seed


def cpu_of(process: psutil.Process) -> float:
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--projects-per-user", type=float, default=5.0)
    parser.add_argument("--floorplans-per-project", type=int, default=2)
    parser.add_argument("--files-per-project", type=int, default=5)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="skbench-"))
    try:
        with attached(base, "bench") as uri:
            upgrade(uri)
            # The attached server's postmaster, as the embedded module itself reads it.
            running = running_postmaster(EmbeddedServer(base).pgdata)
            postmaster = running.process() if running is not None else None
            if postmaster is None:
                raise SystemExit("the embedded PostgreSQL is not running")
            me = psutil.Process()
            plan = SeedPlan(
                users=args.users,
                projects_per_user=args.projects_per_user,
                floorplans_per_project=args.floorplans_per_project,
                files_per_project=args.files_per_project,
            )
            pg_before, me_before = cpu_of(postmaster), cpu_of(me)
            load_before = os.getloadavg()
            started = time.perf_counter()
            report = run_seed(libpq_dsn(uri), plan, objects=None, workers=args.workers)
            wall = time.perf_counter() - started
            # Backends exit with their connection; their CPU is in the postmaster's children_*.
            pg_cpu, me_cpu = cpu_of(postmaster) - pg_before, cpu_of(me) - me_before
            print(
                json.dumps(
                    {
                        "users": args.users,
                        "rows": report.rows,
                        "documentMB": round(report.document_bytes / 1e6, 1),
                        "wallS": round(wall, 1),
                        "generatorCpuS": round(me_cpu, 1),
                        "postgresCpuS": round(pg_cpu, 1),
                        "idealWallOn2CoresS": round((me_cpu + pg_cpu) / 2, 1),
                        "loadAverageBefore": [round(v, 2) for v in load_before],
                        "loadAverageAfter": [round(v, 2) for v in os.getloadavg()],
                    },
                    indent=2,
                )
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
