"""CPU of the load generator per request (`spacekontext loadtest`'s client side).

Seeds a small data set (DATABASE_URL, or an embedded PostgreSQL in a temporary directory),
starts `spacekontext serve` in a subprocess on a free loopback port, runs one load-test step
in this process and prints the CPU the generator itself spent per request in the step's window,
as every run reports it (`cpuMsPerRequest.loadtest`: this process's user + system CPU over the
requests started in the window, so it holds on a shared machine), beside the server's.

    .venv/bin/python bench/loadgen_bench.py --users 150 --seconds 20
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
from pathlib import Path

from documents_bench import database_url  # type: ignore[import-not-found]

from spacekontext.auth.tokens import DevTokens
from spacekontext.db.migrate import upgrade
from spacekontext.db.urls import libpq_dsn
from spacekontext.tools.loadtest.runner import LoadTestConfig, run_loadtest, run_on_fast_loop
from spacekontext.tools.seed.writer import SeedPlan, run_seed, seed_email

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.serving import free_port, serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed-users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--profile", action="store_true", help="cProfile the generator")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="skloadgen-home-"))
    with database_url() as url:
        upgrade(url)
        run_seed(
            libpq_dsn(url),
            SeedPlan(users=args.seed_users, projects_per_user=3, files_per_project=1, seed=9),
            objects=None,
            workers=0,
            reset_first=True,
        )
        env = {**os.environ, "DATABASE_URL": url, "SPACEKONTEXT_HOME": str(home)}
        env |= {"LOG_LEVEL": "warning", "RATE_LIMIT_ENABLED": "false", "PORT": str(free_port())}
        with serving(env, home / "serve.log", "--workers", str(args.workers)) as server:
            tokens = DevTokens.from_data_dir(home)
            config = LoadTestConfig(
                base_url=server.base,
                steps=(args.users,),
                step_s=args.seconds,
                ramp_s=2.0,
                request_timeout_s=30,
                seed=9,
                label="loadgen",
            )
            minted = [tokens.mint(seed_email(9, k)) for k in range(args.seed_users)]
            load0 = os.getloadavg()[0]
            profiler = cProfile.Profile() if args.profile else None
            if profiler:
                profiler.enable()
            result = run_on_fast_loop(run_loadtest(config, minted, dsn=libpq_dsn(url)))
            if profiler:
                profiler.disable()
            load1 = os.getloadavg()[0]
    shutil.rmtree(home, ignore_errors=True)
    step = result["steps"][0]
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    print(f"load average before / after: {load0:.2f} / {load1:.2f}")
    print(
        f"{args.users} users, {args.seconds:.0f} s step: {step['requestsPerS']} req/s, "
        f"p50 {step['p50Ms']} ms, p99 {step['p99Ms']} ms, errors {step['errors']} "
        f"(statuses {step['statuses']})"
    )
    print(
        f"generator CPU in the step window (the run's own figure): "
        f"{step['cpuMsPerRequest'].get('loadtest')} ms/request; server: "
        f"{step['cpuMsPerRequest'].get('server')} ms/request"
    )


if __name__ == "__main__":
    main()
