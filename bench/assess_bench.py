"""How long `spacekontext assess` takes on our schema with data in it.

    .venv/bin/python bench/assess_bench.py [--users 2000] [--runs 5]

Starts a private embedded PostgreSQL in a temporary directory, migrates it, loads USERS users
with 5 projects and 2 floorplans (~20 KB of JSON) per project, then times the whole
assessment (every check plus the projections) RUNS times."""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import psycopg

from spacekontext.db.embedded import attached
from spacekontext.db.migrate import upgrade
from spacekontext.settings import Settings
from spacekontext.tools.assess import app_shape, assess
from spacekontext.tools.assess.runner import psycopg_dsn

SEED = """
INSERT INTO app.users (id, clerk_id, email)
  SELECT 'u' || g, 'clerk_' || g, 'user' || g || '@example.com' FROM generate_series(1, %(n)s) g;
INSERT INTO app.projects (id, user_id, name)
  SELECT 'p' || u || '_' || k, 'u' || u, 'Project ' || k
  FROM generate_series(1, %(n)s) u, generate_series(1, 5) k;
INSERT INTO app.floorplans (id, project_id, name, data)
  SELECT 'f' || p.id || '_' || l, p.id, 'Level ' || l,
         (SELECT jsonb_build_object('walls', jsonb_agg(jsonb_build_object(
             'id', md5(p.id || l || i), 'x', i, 'y', i * 2, 'thickness', 0.2)))
          FROM generate_series(1, 200) i)
  FROM app.projects p, generate_series(0, 1) l;
ANALYZE;
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="skbench-"))
    try:
        with attached(base, "bench") as url:
            upgrade(url)
            started = time.perf_counter()
            with psycopg.connect(psycopg_dsn(url), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                # A multi-statement script: literal values, no server-side parameters.
                conn.execute(SEED.replace("%(n)s", str(int(args.users))))  # type: ignore[arg-type]
            print(f"seeded {args.users} users in {time.perf_counter() - started:.1f} s")
            shape = app_shape(Settings(env="test", database_url=url), database_url=None)
            timings = []
            for _ in range(args.runs):
                started = time.perf_counter()
                report = assess(url, shape, schema="app")
                timings.append(time.perf_counter() - started)
            print(
                f"assess: {len(report.findings)} findings; "
                f"median {statistics.median(timings):.3f} s,"
                f" min {min(timings):.3f} s, max {max(timings):.3f} s over {args.runs} runs"
            )
            for finding in report.problems():
                print(f"  {finding.severity.icon} {finding.check}: {finding.title}")
            for row in report.projections[:6]:
                print(f"  {row.metric}: {row.current} | {row.safe_limit} | {row.breaking_point}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
