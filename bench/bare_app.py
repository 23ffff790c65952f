"""The yardsticks measured in the same run as the app: a bare FastAPI route running the
project-list query through an asyncpg pool, the same route after reading the caller's user row
by token subject (the app's second statement when nothing is cached), and a bare route
returning a fixed 1 KB JSON body.

    BENCH_DSN=postgresql://… uvicorn bench.bare_app:app --workers 2
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson
from fastapi import FastAPI
from starlette.responses import Response

USERS = int(os.environ.get("BENCH_USERS", "10000"))
FIXED = orjson.dumps({"success": True, "data": "x" * 990})
QUERY = (
    "SELECT id, name, description, created_at, updated_at FROM app.projects "
    "WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 21"
)
USER_QUERY = "SELECT id, clerk_id, email FROM app.users WHERE clerk_id = $1"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=10, max_size=20)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/bare/projects")
async def bare_projects() -> Response:
    user_id = f"u{random.randrange(USERS):025d}"
    async with app.state.pool.acquire() as conn:
        rows = await conn.fetch(QUERY, user_id)
    return _listing(rows)


@app.get("/bare/user-then-projects")
async def bare_user_then_projects() -> Response:
    """As the app reads when nothing is cached: the user row of the token's subject, then the
    list, each statement on a connection of its own from the pool."""
    subject = f"dev|bench-{random.randrange(USERS)}@example.com"
    async with app.state.pool.acquire() as conn:
        user = await conn.fetchrow(USER_QUERY, subject)
    async with app.state.pool.acquire() as conn:
        rows = await conn.fetch(QUERY, user["id"])
    return _listing(rows)


def _listing(rows: list[asyncpg.Record]) -> Response:
    body = orjson.dumps(
        {
            "success": True,
            "projects": [
                {
                    "id": r["id"],
                    "name": r["name"],
                    "description": r["description"],
                    "createdAt": r["created_at"],
                    "updatedAt": r["updated_at"],
                }
                for r in rows[:20]
            ],
        }
    )
    return Response(body, media_type="application/json")


@app.get("/bare/fixed")
async def bare_fixed() -> Response:
    return Response(FIXED, media_type="application/json")
