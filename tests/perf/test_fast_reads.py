"""The hot read path: the project list served from rows on a Core connection (no ORM session,
no Pydantic per row) must say exactly what the Pydantic page says, paginate the same, and turn
an exhausted pool into 503 like every other read."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from spacekontext.auth.tokens import Identity
from spacekontext.db.engine import Database
from spacekontext.errors import Unavailable
from spacekontext.projects.schemas import ProjectCreate
from spacekontext.services import Services
from spacekontext.settings import Settings


async def test_list_bytes_equal_the_pydantic_page(committed_services: Services) -> None:
    services = committed_services
    user = (await services.users.resolve(Identity(subject="dev|fastlist@example.com"))).id
    try:
        for n in range(5):
            await services.projects.create(
                user, ProjectCreate(name=f"P{n}", description="d" if n % 2 else None)
            )
        cursor = None
        seen = 0
        while True:
            page = await services.projects.list(user, limit=2, cursor=cursor)
            expected = orjson.loads(orjson.dumps(page.model_dump(mode="json", by_alias=True)))
            raw = await services.projects.list_json(user, limit=2, cursor=cursor)
            assert orjson.loads(raw) == expected
            seen += len(expected["projects"])
            cursor = expected["nextCursor"]
            if cursor is None:
                break
        assert seen == 5
    finally:
        async with services.db.unit_of_work() as uow:
            await uow.session.execute(text("DELETE FROM app.users WHERE id = :id"), {"id": user})
            await uow.commit()


async def _select_one(db: Database) -> list[tuple[Any, ...]]:
    async with db.read() as session:
        return [tuple(row) for row in (await session.execute(text("SELECT 1"))).all()]


async def test_exhausted_pool_is_unavailable_on_the_read_path(settings: Settings) -> None:
    assert settings.database_url
    tight = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_s": 0.2}
    )
    db = Database.from_settings(tight)
    try:
        holder = await db.engine.connect()
        try:
            with pytest.raises(Unavailable) as raised:
                await asyncio.wait_for(_select_one(db), 5)
            assert raised.value.headers["Retry-After"] == "1"
        finally:
            await holder.close()
        assert await _select_one(db) == [(1,)]
    finally:
        await db.dispose()
