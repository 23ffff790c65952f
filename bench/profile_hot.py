"""Where a `GET /api/projects` spends its CPU, in process (no sockets, no HTTP client).

Starts an embedded PostgreSQL (or uses DATABASE_URL), seeds `--users` x 20 projects, builds the
app with the cache off or in memory, and drives the ASGI app directly with a minimal
receive/send pair, one request at a time, a random user per request. Prints µs per request and,
with `--profile`, the top of a cProfile sorted by cumulative or own time.

    .venv/bin/python bench/profile_hot.py --cache off --requests 3000 --profile
    .venv/bin/python bench/profile_hot.py --cache memory --requests 20000
    .venv/bin/python bench/profile_hot.py --cache redis --requests 20000  # Redis on :6379
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from documents_bench import database_url  # type: ignore[import-not-found]

from spacekontext.app import create_app
from spacekontext.auth.tokens import DevTokens
from spacekontext.db.engine import Database
from spacekontext.db.migrate import upgrade
from spacekontext.db.urls import libpq_dsn
from spacekontext.services import build_services
from spacekontext.settings import Settings


def seed(url: str, users: int) -> None:
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        conn.execute("TRUNCATE app.users CASCADE")
        conn.execute(
            "INSERT INTO app.users (id, clerk_id, email) SELECT 'u' || g, "
            "'dev|hot' || g || '@example.com', 'hot' || g || '@example.com' "
            "FROM generate_series(1, %s) AS g",
            (users,),
        )
        conn.execute(
            "INSERT INTO app.projects (id, user_id, name, description, created_at, updated_at) "
            "SELECT 'p' || u || '_' || p, 'u' || u, 'Project ' || p, 'Seeded', "
            "now() - make_interval(mins => p), now() - make_interval(mins => p) "
            "FROM generate_series(1, %s) AS u, generate_series(1, 20) AS p",
            (users,),
        )


async def call(app: Any, path: str, token: str) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"limit=20",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", b"Bearer " + token.encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("bench", 80),
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def run(url: str, args: argparse.Namespace) -> None:
    home = Path(tempfile.mkdtemp(prefix="skprof-home-"))
    settings = Settings(
        env="test",
        SPACEKONTEXT_HOME=home,
        database_url=url,
        cache_enabled=args.cache != "off",
        redis_url=args.redis_url if args.cache == "redis" else None,
        cache_key_prefix=f"prof{random.randrange(1 << 30)}:",
        cache_responses=not args.no_response_cache,
        rate_limit_enabled=True,
        rate_limit_read_per_s=1e6,
        rate_limit_read_burst=1_000_000,
    )
    services = build_services(settings, Database.from_settings(settings))
    app = create_app(settings, services=services)
    dev = DevTokens.from_data_dir(settings.data_dir)
    tokens = [dev.mint(f"hot{u}@example.com") for u in range(1, args.users + 1)]
    rng = random.Random(1)
    for token in tokens:  # warm: users resolved, pool open, caches filled
        assert await call(app, "/api/projects", token) == 200
    profiler = cProfile.Profile() if args.profile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in range(args.requests):
        status = await call(app, "/api/projects", rng.choice(tokens))
        assert status == 200, status
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(
        f"cache={args.cache}{' (responses not cached)' if args.no_response_cache else ''}: "
        f"{args.requests} requests, "
        f"{cpu / args.requests * 1e6:.0f} µs CPU and {wall / args.requests * 1e6:.0f} µs wall "
        "per request (this process; PostgreSQL's CPU not included)"
    )
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats(args.sort).print_stats(args.top)
    await services.aclose()
    await services.db.dispose()
    shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", choices=["off", "memory", "redis"], default="off")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop, as uvicorn does")
    parser.add_argument(
        "--no-response-cache",
        action="store_true",
        help="CACHE_RESPONSES=false: the list query runs",
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    with database_url() as url:
        upgrade(url)
        seed(url, args.users)
        if args.uvloop:  # as uvicorn runs the app
            import uvloop

            uvloop.run(run(url, args))
        else:
            asyncio.run(run(url, args))


if __name__ == "__main__":
    main()
