"""The console's pages on the seeded data set: time to the whole HTML of each page, p50/p95.

Seeds a fresh embedded PostgreSQL (in a temporary directory) with `spacekontext seed`'s writer
at the given scale, starts the app in process (its lifespan: engine, pools, caches), signs in as
the seeded user who owns the most projects (an administrator, so /app/ops is measured too),
installs the starter block library and requests each page sequentially. In process means
without uvicorn and the socket: what is measured is the app's own work for a page (queries,
rendering), which is what grows with data.

    .venv/bin/python bench/console_bench.py [--users 1000] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

from spacekontext.app import create_app
from spacekontext.auth.tokens import DevTokens
from spacekontext.db.embedded import attached
from spacekontext.db.migrate import upgrade
from spacekontext.db.urls import libpq_dsn
from spacekontext.settings import Settings
from spacekontext.tools.seed.writer import SeedPlan, run_seed


def busiest_user(dsn: str) -> tuple[str, str, str, str]:
    """(e-mail, a project with floorplans and a site if any, its first floorplan, a search
    word from the user's project names) of the user with the most projects."""
    with psycopg.connect(dsn) as conn:
        email, user_id = conn.execute(
            "SELECT u.email, u.id FROM app.users u JOIN app.projects p ON p.user_id = u.id "
            "GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        project_id, floorplan_id = conn.execute(
            "SELECT p.id, f.id FROM app.projects p JOIN app.floorplans f ON f.project_id = p.id "
            "LEFT JOIN app.site_analyses s ON s.project_id = p.id WHERE p.user_id = %s "
            "ORDER BY (s.id IS NOT NULL) DESC, p.id LIMIT 1",
            (user_id,),
        ).fetchone()  # type: ignore[misc]
        name = conn.execute(
            "SELECT name FROM app.projects WHERE user_id = %s ORDER BY id LIMIT 1", (user_id,)
        ).fetchone()[0]  # type: ignore[index]
    word = name.split()[0]
    return email, project_id, floorplan_id, word


async def measure(settings: Settings, email: str, pages: dict[str, str], n: int) -> dict:
    app = create_app(settings)
    token = DevTokens.from_data_dir(settings.data_dir).mint(email)
    results: dict[str, dict[str, float]] = {}
    async with app.router.lifespan_context(app):
        # The starter block library (public blocks; the seed's own blocks are private to its
        # demo owner), as an operator installs it with `spacekontext library seed`.
        await app.state.services.cadblocks.seed()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", cookies={"__session": token}
        ) as http:
            for label, path in pages.items():
                for _ in range(5):  # warm: first renders, caches, prepared statements
                    response = await http.get(path)
                    assert response.status_code == 200, (path, response.status_code)
                times = []
                for _ in range(n):
                    started = time.perf_counter()
                    response = await http.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                times.sort()
                results[label] = {
                    "p50Ms": round(statistics.median(times), 2),
                    "p95Ms": round(times[int(len(times) * 0.95) - 1], 2),
                    "bytes": len(response.content),
                }
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="skbench-console-"))
    try:
        with attached(base / "pg", "console-bench") as uri:
            upgrade(uri)
            plan = SeedPlan(users=args.users)
            report = run_seed(libpq_dsn(uri), plan, objects=None)
            email, project, floorplan, word = busiest_user(libpq_dsn(uri))
            settings = Settings(
                SPACEKONTEXT_HOME=base / "home",
                database_url=uri,
                admin_emails=[email],
                rate_limit_enabled=False,
                jobs_in_process=False,
            )
            pages = {
                "sign-in": "/app/sign-in",
                "my projects": "/app",
                "search": f"/app?q={word[:-1]}",
                "project": f"/app/projects/{project}",
                "floorplan preview (SVG)": f"/app/previews/{floorplan}.svg",
                "block library": "/app/blocks",
                "ops": "/app/ops",
            }
            load_before = os.getloadavg()
            results = asyncio.run(measure(settings, email, pages, args.requests))
            print(
                json.dumps(
                    {
                        "users": args.users,
                        "projects": report.rows.get("projects"),
                        "floorplans": report.rows.get("floorplans"),
                        "cadBlocks": report.rows.get("cad_blocks"),
                        "requestsPerPage": args.requests,
                        "pages": results,
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
