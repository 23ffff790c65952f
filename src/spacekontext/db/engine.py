"""Engines, sessions and the unit of work.

`Database` owns the primary engine (and, later, replica engines). Services open a
`UnitOfWork` for writes and commit once; read-only use cases open `read()` sessions, which the
router may send to a replica. Nothing here knows about HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from spacekontext.db.urls import async_url
from spacekontext.errors import Conflict
from spacekontext.settings import Settings


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def connect_args_for(settings: Settings, *, role: str = "primary") -> dict[str, Any]:
    server_settings = {"application_name": f"{settings.db_application_name}:{role}"}
    args: dict[str, Any] = {}
    if settings.database_pooler == "pgbouncer":
        # Transaction pooling: a server connection is shared between clients between
        # transactions, so no prepared statement may outlive one, and PgBouncer refuses
        # startup parameters it does not track (statement_timeout…); those are set per
        # transaction instead (see `Database._on_begin`).
        args["statement_cache_size"] = 0
        args["prepared_statement_cache_size"] = 0
    else:
        server_settings["statement_timeout"] = str(settings.db_statement_timeout_ms)
        server_settings["idle_in_transaction_session_timeout"] = str(
            settings.db_idle_in_transaction_timeout_ms
        )
    args["server_settings"] = server_settings
    return args


def create_engine_for(url: str, settings: Settings, *, role: str = "primary") -> AsyncEngine:
    from spacekontext.ops.profiles import engine_options

    return create_async_engine(
        async_url(url),
        # Pool size, overflow, timeout — or, in the naive profile, no pool at all.
        **engine_options(settings),
        pool_pre_ping=False,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args=connect_args_for(settings, role=role),
    )


class UnitOfWork:
    """One write use case: a session, committed once by the service, rolled back otherwise.

    Callbacks registered with `after_commit` run only once the commit has succeeded (cache
    invalidation, read-your-writes bookkeeping, enqueueing work for other processes)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        self._committed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                await self.session.rollback()
        finally:
            await self.session.close()

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(callback)

    async def flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise _conflict_from(exc) from exc

    async def commit(self) -> None:
        try:
            await self.session.commit()
        except IntegrityError as exc:
            raise _conflict_from(exc) from exc
        self._committed = True
        for callback in self._after_commit:
            await callback()


def _conflict_from(exc: IntegrityError) -> Conflict:
    constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
    return Conflict("the change conflicts with existing data", details={"constraint": constraint})


class Database:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        bind: AsyncConnection | None = None,
    ) -> None:
        self.engine = engine
        # Tests bind every session to one connection inside an outer transaction that is rolled
        # back at the end; service commits become savepoint releases.
        if bind is not None:
            self._sessions = async_sessionmaker(
                bind=bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
            )
        else:
            self._sessions = async_sessionmaker(bind=engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        if not settings.database_url:
            raise ValueError("DATABASE_URL is not set (the embedded server sets it at start)")
        return cls(create_engine_for(settings.database_url, settings))

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self._sessions())

    @asynccontextmanager
    async def read(self, *, user_id: str | None = None) -> AsyncIterator[AsyncSession]:
        """A session for a read-only use case. `user_id` lets the router keep a user who has
        just written on the primary (read-your-writes)."""
        del user_id  # replica routing is decided here once replicas are configured
        async with self._sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
