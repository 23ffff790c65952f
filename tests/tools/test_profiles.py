"""The naive profile: a connection per unit of work, no cache, whole unbounded lists, and the
assessment's missing indexes dropped (and restored) without a migration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spacekontext.app import create_app
from spacekontext.db.engine import Database, create_engine_for
from spacekontext.db.migrate import head_revision, upgrade
from spacekontext.db.urls import libpq_dsn
from spacekontext.services import build_services
from spacekontext.settings import Settings
from spacekontext.tools.profiles import (
    NAIVE_DROPPED_INDEXES,
    apply_index_profile,
    index_status,
    profile_settings,
)

LIST_QUERY = (
    "EXPLAIN SELECT id FROM app.projects WHERE user_id = 'u1'"
    " ORDER BY created_at DESC, id DESC LIMIT 51"
)


def test_indexes_are_dropped_and_restored_without_a_migration(
    create_database: Callable[[], str],
) -> None:
    url = create_database()
    upgrade(url)
    dsn = libpq_dsn(url)
    assert all(index_status(dsn).values())
    with psycopg.connect(dsn) as conn:
        conn.execute("SET enable_seqscan = off")
        assert "ix_projects_user_id_created_at" in _plan(conn)

    assert apply_index_profile(dsn, "naive") == [i.name for i in NAIVE_DROPPED_INDEXES]
    assert not any(index_status(dsn).values())
    assert apply_index_profile(dsn, "naive") == []  # idempotent
    with psycopg.connect(dsn) as conn:
        conn.execute("SET enable_seqscan = off")
        assert "ix_projects_user_id_created_at" not in _plan(conn)
        version = conn.execute("SELECT version_num FROM app.alembic_version").fetchone()
    assert version == (head_revision(),)  # no migration involved: the schema version stays

    assert len(apply_index_profile(dsn, "tuned")) == len(NAIVE_DROPPED_INDEXES)
    assert all(index_status(dsn).values())
    assert apply_index_profile(dsn, "tuned") == []


def _plan(conn: psycopg.Connection) -> str:
    return "\n".join(row[0] for row in conn.execute(LIST_QUERY).fetchall())


async def _backend_pids(settings: Settings) -> set[int]:
    assert settings.database_url is not None
    engine = create_engine_for(settings.database_url, settings)
    db = Database(engine)
    pids = set()
    try:
        for _ in range(3):
            async with db.read() as session:
                pids.add(int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
    finally:
        await db.dispose()
    return pids


async def test_naive_opens_a_connection_per_unit_of_work(settings: Settings) -> None:
    assert len(await _backend_pids(settings)) == 1
    naive = settings.model_copy(update={"profile": "naive"})
    assert len(await _backend_pids(naive)) == 3


def test_naive_runs_without_a_cache_and_never_in_production(settings: Settings) -> None:
    assert profile_settings(settings.model_copy(update={"profile": "naive"})).cache_enabled is False
    assert profile_settings(settings).cache_enabled is settings.cache_enabled
    with pytest.raises(ValueError, match="naive"):
        Settings(
            env="production",
            profile="naive",
            dev_tokens_enabled=False,
            auth_jwks_url="https://issuer.example/jwks",
            auth_issuer="https://issuer.example",
            database_url="postgresql://db/app",
        )


@pytest.fixture
async def naive_client(
    settings: Settings, engine: AsyncEngine, connection: AsyncConnection
) -> AsyncIterator[httpx.AsyncClient]:
    naive = settings.model_copy(update={"profile": "naive"})
    services = build_services(naive, Database(engine, bind=connection))
    app = create_app(naive, services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await services.aclose()


async def test_naive_lists_return_whole_rows_unbounded(
    naive_client: httpx.AsyncClient, auth: Callable[[str], dict[str, str]]
) -> None:
    headers = auth("naive@example.com")
    for k in range(3):
        response = await naive_client.post(
            "/api/projects",
            json={"name": f"P{k}", "settings": {"floorToFloorHeight": 3.0 + k}},
            headers=headers,
        )
        assert response.status_code == 201
    listed = await naive_client.get("/api/projects?limit=1", headers=headers)
    assert listed.status_code == 200
    projects = listed.json()["projects"]
    assert [p["name"] for p in projects] == ["P2", "P1", "P0"]  # the limit is not honoured
    assert projects[0]["settings"] == {"floorToFloorHeight": 5.0}  # whole rows
    assert listed.json()["nextCursor"] is None
