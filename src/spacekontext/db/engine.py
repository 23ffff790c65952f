"""Engines, sessions and the unit of work.

`Database` owns the primary engine and the replica engines. Services open a `UnitOfWork` for
writes and commit once; read-only use cases open `read()` sessions, which the router
(`db/routing.py`) may send to a replica. Connections are checked out when a session opens, so
pool exhaustion is turned into `Unavailable` (503 + Retry-After) here, in one place, instead of
surfacing from somewhere inside a service; so is a database that cannot be reached, wherever the
session notices it (db/outage.py). Nothing here knows about HTTP."""

from __future__ import annotations

import functools
import math
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from types import TracebackType
from typing import Any, Self, TypeVar

import asyncpg  # type: ignore[import-untyped]  # no stubs shipped
import orjson
import psycopg
from sqlalchemy import JSON, Select, Text, TextClause, cast, event, text
from sqlalchemy.dialects.postgresql import psycopg2
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from spacekontext.db.driverpool import BouncerPool, DriverPool, StatementPool
from spacekontext.db.jsontext import JSONText
from spacekontext.db.observe import instrument, record
from spacekontext.db.outage import as_unavailable, raise_if_outage
from spacekontext.db.routing import WAL_POSITION_SQL, ReadRouter, Replica
from spacekontext.db.urls import async_url
from spacekontext.errors import Conflict, Unavailable
from spacekontext.observability import metrics
from spacekontext.observability.request_context import acting_user
from spacekontext.settings import Settings

T = TypeVar("T")


def _json_dumps(value: Any) -> str:
    if type(value) is JSONText:
        return value
    return orjson.dumps(value).decode()


def connect_args_for(settings: Settings, *, role: str = "primary") -> dict[str, Any]:
    server_settings = {"application_name": f"{settings.db_application_name}:{role}"}
    args: dict[str, Any] = {}
    if settings.database_pooler == "pgbouncer":
        # Transaction pooling: a server connection is shared between clients between
        # transactions, so no prepared statement may outlive one. With both caches off, asyncpg
        # prepares every statement as the *unnamed* statement inside the transaction (verified
        # against PgBouncer 1.18 in tests/db/test_pgbouncer.py). PgBouncer also refuses startup
        # parameters it does not track ("unsupported startup parameter: statement_timeout"),
        # so the timeouts are set per transaction instead, by the BEGIN itself
        # (`_begin_with_timeouts`).
        args["statement_cache_size"] = 0
        args["prepared_statement_cache_size"] = 0
        # asyncpg announces its encoding as `'utf-8'` (quotes included); the server reports
        # `UTF8`. PgBouncer compares the two strings, finds them different, and sends `SET
        # client_encoding` to the server connection at every transaction it hands out (two per
        # transaction, measured with pg_stat_statements: an extra round trip on the server
        # side of every read). Naming the encoding as the server spells it (the later startup
        # parameter wins) makes the two agree.
        server_settings["client_encoding"] = "UTF8"
        args["connection_class"] = _begin_with_timeouts(_local_timeouts_sql(settings))
    else:
        server_settings["statement_timeout"] = str(settings.db_statement_timeout_ms)
        server_settings["idle_in_transaction_session_timeout"] = str(
            settings.db_idle_in_transaction_timeout_ms
        )
    args["server_settings"] = server_settings
    # Connecting counts against the checkout timeout, not asyncpg's 60 s default: a server gone
    # from the network (packets dropped) answers 503 `database_unavailable` after seconds,
    # instead of holding every request for a minute.
    args["timeout"] = max(settings.db_pool_timeout_s, 1.0)
    return args


def driver_pool_for(
    engine: AsyncEngine, settings: Settings, *, role: str, name: str | None = None
) -> StatementPool:
    """The driver's own pool (db/driverpool.py) for the server of `engine`: asyncpg's with
    its statement cache on a direct connection, psycopg's one-message statements behind
    PgBouncer in transaction mode."""
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    common: dict[str, Any] = {
        "role": role,
        "name": name or f"{role}-driver",
        "size": settings.db_read_pool_size,
        "timeout_s": settings.db_pool_timeout_s,
    }
    if settings.database_pooler == "pgbouncer":
        timeout_ms = settings.db_statement_timeout_ms
        return BouncerPool(
            dsn,
            **common,
            statement_timeout_s=timeout_ms / 1000 if timeout_ms else None,
            application_name=f"{settings.db_application_name}:{role}",
        )
    return DriverPool(
        dsn, **common, server_settings=connect_args_for(settings, role=role)["server_settings"]
    )


def pool_options(settings: Settings) -> dict[str, Any]:
    """Pool arguments of the engine for the run profile (tools/profiles.py): `naive` opens a
    connection per checkout, as the assessment's starting point did."""
    if settings.profile == "naive":
        from sqlalchemy.pool import NullPool

        return {"poolclass": NullPool}
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_s,
        "pool_recycle": 1800,
    }


def create_engine_for(
    url: str, settings: Settings, *, role: str = "primary", pool: str | None = None
) -> AsyncEngine:
    """`role` is primary or replica (statement metrics); `pool` names the pool in metrics."""
    engine = create_async_engine(
        async_url(url),
        # Pool size, overflow, timeout — or, in the naive profile, no pool at all.
        **pool_options(settings),
        pool_pre_ping=False,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args=connect_args_for(settings, role=role),
    )
    instrument(engine, role=role, slow_query_ms=settings.slow_query_ms)
    _track_pool(engine, pool or role, settings.db_pool_size)
    return engine


def _local_timeouts_sql(settings: Settings) -> str:
    """`set_config(..., true)` is SET LOCAL: it ends with the transaction, so the next client
    PgBouncer hands this server connection to starts from the server's defaults. One statement
    for both settings. The values are integers from validated settings, safe to inline, which
    lets the driver pool send it after BEGIN in one simple-protocol round trip."""
    return (
        "SELECT set_config('statement_timeout', "
        f"'{int(settings.db_statement_timeout_ms)}', true), "
        "set_config('idle_in_transaction_session_timeout', "
        f"'{int(settings.db_idle_in_transaction_timeout_ms)}', true)"
    )


@functools.cache
def _begin_with_timeouts(statement: str) -> type[asyncpg.Connection]:
    """The driver's connection class for the ORM's connections behind PgBouncer: the `BEGIN`
    that opens each transaction carries `statement` (the SET LOCAL of the timeouts) in the
    same simple-protocol message, one round trip. Sent as a statement of its own, as it was
    before, the ORM prepared and executed it (two more round trips through PgBouncer per
    transaction; the driver's statement cache is off there).

    Only the driver's own transaction start is extended (`Transaction.start` sends exactly
    `BEGIN…;`, with no arguments); savepoints and every other statement pass unchanged. One
    class per distinct statement, so that the pool's connections share it."""

    class TimeoutsInBegin(asyncpg.Connection):  # type: ignore[misc]  # untyped base
        async def execute(
            self,
            query: str,
            *args: Any,
            timeout: float | None = None,  # noqa: ASYNC109 - the driver's own signature
        ) -> str:
            if not args and query.startswith("BEGIN") and query.endswith(";"):
                query = f"{query} {statement}"
            result: str = await super().execute(query, *args, timeout=timeout)
            return result

    return TimeoutsInBegin


def _track_pool(engine: AsyncEngine, name: str, size: int) -> None:
    pool: Any = engine.sync_engine.pool
    if not hasattr(pool, "checkedout"):  # NullPool (the naive profile) keeps nothing to count
        return
    in_use = metrics.DB_POOL_IN_USE.labels(name)
    open_ = metrics.DB_POOL_OPEN.labels(name)
    metrics.DB_POOL_SIZE.labels(name).set(size)
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # One process: read the pool when /metrics is scraped, not on every checkout and
        # checkin (two gauge updates per statement on the hot path otherwise).
        in_use.set_function(pool.checkedout)
        open_.set_function(lambda: pool.checkedout() + pool.checkedin())
        return

    # Several workers: each writes its figures to the shared files (prometheus-client's
    # multiprocess mode has no scrape-time callbacks).
    def update(*_: Any) -> None:
        in_use.set(pool.checkedout())
        open_.set(pool.checkedout() + pool.checkedin())

    for name_ in ("checkout", "checkin", "connect", "close", "invalidate"):
        event.listen(pool, name_, update)


async def open_connection(session: AsyncSession, *, pool: str, retry_after_s: float) -> None:
    """Check the session's connection out now."""
    await checked_out(session.connection(), pool=pool, retry_after_s=retry_after_s)


async def checked_out(opening: Awaitable[T], *, pool: str, retry_after_s: float) -> T:
    """Await a connection checkout. The one place where an exhausted pool becomes
    `Unavailable` (503 with Retry-After) after DB_POOL_TIMEOUT_S, instead of a hang or a 500."""
    waiting = metrics.DB_POOL_WAITING.labels(pool)
    waiting.inc()
    try:
        return await opening
    except PoolTimeout as exc:
        metrics.DB_POOL_TIMEOUTS.labels(pool).inc()
        raise database_busy(retry_after_s) from exc
    except Exception as exc:
        raise_if_outage(exc)
        raise
    finally:
        waiting.dec()


def database_busy(retry_after_s: float) -> Unavailable:
    return Unavailable(
        "the database is saturated; retry shortly",
        code="database_busy",
        headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))},
    )


_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


class Statement:
    """One statement in plain SQL with `:name` parameters, prepared once at import in both
    forms: a `text()` clause for sessions, and the driver's `$n` form for the direct path of
    `Database.fetch` (reads) and `Database.write` (one-statement writes).

    `Statement.of(select)` builds one from a query written with SQLAlchemy (parameters as
    `bindparam`s): its JSON columns are selected as text, and `values(row)` decodes them, so
    that rows read the same on both paths (the driver alone has no JSON codec)."""

    def __init__(self, sql: str, *, json_keys: frozenset[str] = frozenset()) -> None:
        self.sql = sql
        self.clause: TextClause = text(sql)
        self.json_keys = json_keys
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        self.native = _NAMED.sub(number, sql)
        self.names = tuple(names)

    @classmethod
    def of(cls, query: Select[Any]) -> Statement:
        json_keys = frozenset(
            str(column.key) for column in query.selected_columns if isinstance(column.type, JSON)
        )
        if json_keys:
            query = query.with_only_columns(
                *(
                    cast(column, Text).label(column.key) if column.key in json_keys else column
                    for column in query.selected_columns
                )
            )
        return cls(str(query.compile(dialect=_PLAIN_SQL)), json_keys=json_keys)

    def values(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A row of this statement as a dict, its JSON columns decoded."""
        values = dict(row)
        for key in self.json_keys:
            if values[key] is not None:
                values[key] = orjson.loads(values[key])
        return values


# SQLAlchemy queries compiled with named parameters (`:user_id`), the form `Statement` takes,
# and without casts after them (psycopg 3's dialect would add `::VARCHAR`, which `text()` does
# not read as a parameter); the driver infers every parameter's type from the statement.
_PLAIN_SQL = psycopg2.dialect(paramstyle="named")  # type: ignore[no-untyped-call]

_WAL_POSITION = Statement(WAL_POSITION_SQL)


class UnitOfWork:
    """One write use case: a session, committed once by the service, rolled back otherwise.

    Callbacks registered with `after_commit` run only once the commit has succeeded (cache
    invalidation, read-your-writes bookkeeping, enqueueing work for other processes)."""

    def __init__(
        self, session: AsyncSession, *, opener: Callable[[AsyncSession], Awaitable[None]]
    ) -> None:
        self.session = session
        self._opener = opener
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        self._committed = False

    async def __aenter__(self) -> Self:
        try:
            await self._opener(self.session)
        except BaseException:
            await self.session.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            try:
                if not self._committed:
                    await self.session.rollback()
            finally:
                await self.session.close()
        except Exception as cleanup:
            if exc is None:
                raise_if_outage(cleanup)
                raise
            # The block's own error is the one to report: a connection that broke under it
            # cannot roll back either.
        if exc is not None:
            # The database went away under the use case (stopped, restarting, failed over):
            # an outage, a 503 to retry, not a 500.
            raise_if_outage(exc)

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
    return _conflict(getattr(exc.orig, "__cause__", None))


def _conflict(driver_error: BaseException | None) -> Conflict:
    """The one answer to a constraint violation, naming the constraint the driver reported
    (asyncpg's attribute, or psycopg's diagnostics)."""
    constraint = getattr(driver_error, "constraint_name", None) or getattr(
        getattr(driver_error, "diag", None), "constraint_name", None
    )
    return Conflict("the change conflicts with existing data", details={"constraint": constraint})


# SQLSTATEs after which a read may simply be run again on the primary: the replica shut down,
# is starting, or cancelled the query because replay needed the rows (conflict with recovery).
_RETRYABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "40001", "08000", "08003", "08006"})


_REPLICA_GONE = (
    "ConnectionDoesNotExistError",
    "InterfaceError",
    # asyncpg's state machine after the server vanished mid-operation.
    "InternalClientError",
)


def replica_failed(exc: BaseException) -> bool:
    """True when `exc` says the replica (not the query) is the problem. `exc` is SQLAlchemy's
    wrapper (sessions) or the driver's own error (`Database.fetch`'s direct path)."""
    if isinstance(exc, PoolTimeout | OSError | ConnectionError):
        return True
    driver_error: BaseException | None = exc
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        driver_error = getattr(exc.orig, "__cause__", None)
        if isinstance(driver_error, OSError | ConnectionError):
            return True
        if getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
            return True
    return (
        getattr(driver_error, "sqlstate", None) in _RETRYABLE_SQLSTATES
        or type(driver_error).__name__ in _REPLICA_GONE
    )


class ReadSession(AsyncSession):
    """A read-only session in autocommit. Server-side cursors (`stream`, `stream_scalars`) need
    a transaction, so those run on a companion transactional session on the same server, opened
    on first use and closed with this one."""

    transactional_bind: AsyncEngine | None = None
    _companion: AsyncSession | None = None

    def _transactional(self) -> AsyncSession:
        if self._companion is None:
            self._companion = AsyncSession(
                bind=self.transactional_bind or self.bind, expire_on_commit=False
            )
        return self._companion

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        return await self._transactional().stream(*args, **kwargs)

    async def stream_scalars(self, *args: Any, **kwargs: Any) -> Any:
        return await self._transactional().stream_scalars(*args, **kwargs)

    async def close(self) -> None:
        if self._companion is not None:
            companion, self._companion = self._companion, None
            await companion.close()
        await super().close()


class FailoverSession(ReadSession):
    """A read-only session on a replica that moves to the primary the moment the replica fails
    (stopped, restarting, conflict with recovery), re-running the failed statement there. Reads
    are idempotent, so the caller sees an answer, never the replica's failure."""

    primary_factory: Callable[[], Awaitable[AsyncSession]] | None = None
    on_replica_failure: Callable[[BaseException], None] | None = None
    _primary: AsyncSession | None = None

    async def _run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._primary is None:
            try:
                return await getattr(super(), name)(*args, **kwargs)
            except Exception as exc:
                if not replica_failed(exc) or self.primary_factory is None:
                    raise
                await self.fail_over(exc)
        assert self._primary is not None
        return await getattr(self._primary, name)(*args, **kwargs)

    async def fail_over(self, exc: BaseException) -> None:
        if self.on_replica_failure is not None:
            self.on_replica_failure(exc)
        with suppress(Exception):
            await super().close()
        with suppress(Exception):
            await super().invalidate()
        assert self.primary_factory is not None
        self._primary = await self.primary_factory()

    @property
    def on_primary(self) -> bool:
        return self._primary is not None

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run("execute", *args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run("scalar", *args, **kwargs)

    async def scalars(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run("scalars", *args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run("get", *args, **kwargs)

    async def close(self) -> None:
        if self._primary is not None:
            await self._primary.close()
        try:
            await super().close()
        except Exception as exc:
            # The answer has been read; the replica died before the closing rollback. Drop
            # the broken connection instead of returning it to the pool, and skip the replica.
            if not replica_failed(exc):
                raise
            if self.on_replica_failure is not None:
                self.on_replica_failure(exc)
            with suppress(Exception):
                await super().invalidate()


def _read_bind(engine: AsyncEngine, settings: Settings | None) -> AsyncEngine:
    """Reads run without BEGIN/ROLLBACK: two round trips fewer per read session. Nothing is
    lost: under READ COMMITTED every statement takes its own snapshot anyway. Behind PgBouncer
    (transaction mode) reads keep their transaction: the unnamed prepared statement and the
    SET LOCAL timeouts must stay on one server connection."""
    if settings is not None and settings.database_pooler == "pgbouncer":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


class Database:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        bind: AsyncConnection | None = None,
        replicas: list[Replica] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.engine = engine
        self._retry_after_s = settings.db_pool_timeout_s if settings else 1.0
        # The hot reads' shortcut (`fetch`): the driver's own pool, no SQLAlchemy session.
        self._driver_pool: StatementPool | None = None
        self._replica_pools: dict[str, StatementPool] = {}
        slow_query_ms = settings.slow_query_ms if settings else 200.0
        self._slow_s = slow_query_ms / 1000
        self._statement_metrics = {
            role: (
                metrics.DB_STATEMENT_DURATION.labels(role),
                metrics.DB_SLOW_STATEMENTS.labels(role),
            )
            for role in ("primary", "replica")
        }
        if bind is not None:
            # Tests bind every session to one connection inside an outer transaction that is
            # rolled back at the end; service commits become savepoint releases.
            self._sessions = async_sessionmaker(
                bind=bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
            )
            self._read_sessions = self._sessions
        else:
            self._sessions = async_sessionmaker(bind=engine, expire_on_commit=False)
            self._read_sessions = async_sessionmaker(
                bind=_read_bind(engine, settings), class_=ReadSession, expire_on_commit=False
            )
            # The naive profile opens a connection per unit of work: no shortcut there. Behind
            # PgBouncer the driver pool runs each read in its own transaction.
            if settings is not None and settings.profile == "tuned":
                self._driver_pool = driver_pool_for(engine, settings, role="primary")
                self._replica_pools = {
                    replica.name: driver_pool_for(
                        replica.engine, settings, role="replica", name=f"{replica.name}-driver"
                    )
                    for replica in replicas or []
                }
        self.router = ReadRouter(
            engine,
            replicas or [],
            max_lag_s=settings.max_replica_lag_s if settings else 5.0,
            check_interval_s=settings.replica_check_interval_s if settings else 0.5,
        )
        if self._driver_pool is not None:
            self.router.read_position = self._wal_position
        self._replica_sessions = {
            replica.name: async_sessionmaker(
                bind=_read_bind(replica.engine, settings),
                class_=FailoverSession,
                expire_on_commit=False,
            )
            for replica in self.router.replicas
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        if not settings.database_url:
            raise ValueError("DATABASE_URL is not set (the embedded server sets it at start)")
        replicas = [
            Replica(
                name=f"replica{index}",
                engine=create_engine_for(url, settings, role="replica", pool=f"replica{index}"),
            )
            for index, url in enumerate(settings.database_read_urls, start=1)
        ]
        return cls(
            create_engine_for(settings.database_url, settings),
            replicas=replicas,
            settings=settings,
        )

    async def start(self) -> None:
        """Check the replicas once (so that the first reads can use them) and keep watching."""
        await self.router.start()

    async def _open_primary(self, session: AsyncSession) -> None:
        await open_connection(session, pool="primary", retry_after_s=self._retry_after_s)

    def unit_of_work(self, *, user_id: str | None = None) -> UnitOfWork:
        """A write use case on the primary. After its commit, the WAL position is recorded for
        the acting user so that their next reads wait for a replica that has replayed it."""
        uow = UnitOfWork(self._sessions(), opener=self._open_primary)
        writer = user_id or acting_user.get()
        if writer is not None and self.router.replicas:

            async def remember_position() -> None:
                await self.router.record_write(writer)

            uow.after_commit(remember_position)
        return uow

    async def _primary_session(self) -> AsyncSession:
        session = self._read_sessions()
        if isinstance(session, ReadSession):
            session.transactional_bind = self.engine
        try:
            await self._open_primary(session)
        except BaseException:
            await session.close()
            raise
        return session

    @asynccontextmanager
    async def read(
        self, *, user_id: str | None = None, primary: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """A session for a read-only use case, on a replica when one is healthy and has
        replayed the user's last write (`user_id`, else the request's acting user); on the
        primary otherwise, or when `primary` is asked for (readiness, read-then-write)."""
        replica = None if primary else await self.router.choose(user_id or acting_user.get())
        if replica is None:
            session = await self._primary_session()
        else:
            replica_session = self._replica_sessions[replica.name]()
            assert isinstance(replica_session, FailoverSession)
            replica_session.primary_factory = self._primary_session
            replica_session.transactional_bind = replica.engine
            replica_session.on_replica_failure = lambda exc: self.router.mark_failed(replica, exc)
            try:
                await replica_session.connection()
            except Exception as exc:
                if not replica_failed(exc):
                    await replica_session.close()
                    raise
                await replica_session.fail_over(exc)
            session = replica_session
        outage = False
        try:
            yield session
        except Exception as exc:
            outage = as_unavailable(exc) is not None
            raise_if_outage(exc)
            raise
        finally:
            if outage:
                with suppress(Exception):  # the connection is already gone
                    await session.close()
            else:
                await session.close()

    async def fetch(
        self,
        query: Statement,
        params: dict[str, Any],
        *,
        user_id: str | None = None,
        primary: bool = False,
    ) -> list[Any]:
        """The rows (mappings: `row["column"]`) of one read-only statement.

        The statement goes straight to the driver, on a connection of the driver's own pool
        for the server it is routed to (db/driverpool.py: its size, the checkout timeout and
        the 503 apply): no SQLAlchemy execution context, result proxy or greenlet hop, one
        round trip, no BEGIN. Its timing is accounted like every other statement (histogram,
        Server-Timing, slow-query log). With replicas it goes where `read()` would send it (a
        healthy replica that has replayed the user's last write), and to the primary when that
        replica fails; `primary` asks for the primary's latest state. In tests (one bound
        connection) and in the naive profile it takes the `read()` path."""
        if self._driver_pool is None:
            async with self.read(user_id=user_id, primary=primary) as session:
                return list((await session.execute(query.clause, params)).mappings().all())
        args = tuple(params[name] for name in query.names)
        if self.router.replicas and not primary:
            replica = await self.router.choose(user_id or acting_user.get())
            if replica is not None:
                try:
                    return await self._fetch_on(self._replica_pools[replica.name], query, args)
                except Exception as exc:
                    if not replica_failed(exc):
                        raise
                    self.router.mark_failed(replica, exc)
        return await self._on_primary(self._driver_pool, query, args)

    async def write(
        self, statement: Statement, params: dict[str, Any], *, user_id: str | None = None
    ) -> list[Any]:
        """The rows (mappings) of one statement on the primary, in a transaction of its own:
        a write that is whole in one statement (a versioned save with its history row, as CTEs)
        or a read that must see the primary's latest state.

        Like `fetch`, it goes straight to the driver's pool on the tuned profile: one round
        trip, no BEGIN/COMMIT of its own (PostgreSQL commits a lone statement itself), none of
        the ORM session's cost. Behind PgBouncer it is one message on psycopg (`BouncerPool`),
        still one round trip; in tests (one bound connection) and in the naive profile it runs
        in a unit of work.
        Constraint violations become `Conflict`, outages 503 as everywhere; after it the
        acting user's reads wait for a replica that has replayed it (read-your-writes)."""
        writer = user_id or acting_user.get()
        if self._driver_pool is None:
            async with self.unit_of_work(user_id=writer) as uow:
                try:
                    result = await uow.session.execute(statement.clause, params)
                except IntegrityError as exc:
                    # As on the driver's path: a 409 naming the constraint.
                    raise _conflict_from(exc) from exc
                rows = list(result.mappings())
                await uow.commit()
            return rows
        args = tuple(params[name] for name in statement.names)
        rows = await self._on_primary(self._driver_pool, statement, args)
        if writer is not None and self.router.replicas:
            await self.router.record_write(writer)
        return rows

    async def _on_primary(
        self, pool: StatementPool, statement: Statement, args: tuple[Any, ...]
    ) -> list[Any]:
        """A statement on the primary's driver pool, its failures translated as everywhere: a
        saturated pool 503 `database_busy`, a constraint violation 409, an outage 503."""
        try:
            return await self._fetch_on(pool, statement, args)
        except PoolTimeout as exc:
            raise database_busy(self._retry_after_s) from exc
        except (asyncpg.IntegrityConstraintViolationError, psycopg.errors.IntegrityError) as exc:
            raise _conflict(exc) from exc
        except Exception as exc:
            raise_if_outage(exc)
            raise

    async def _fetch_on(
        self, pool: StatementPool, query: Statement, args: tuple[Any, ...]
    ) -> list[Any]:
        histogram, slow_counter = self._statement_metrics[pool.role]
        started = time.perf_counter()
        try:
            return list(await pool.fetch(query, args))
        finally:
            record(
                time.perf_counter() - started,
                query.sql,
                pool.role,
                histogram,
                slow_counter,
                self._slow_s,
            )

    async def _wal_position(self) -> str:
        """The primary's WAL position in one statement on the driver's pool (one message, one
        round trip, also behind PgBouncer)."""
        assert self._driver_pool is not None
        rows = await self._fetch_on(self._driver_pool, _WAL_POSITION, ())
        return str(rows[0]["lsn"])

    async def dispose(self) -> None:
        await self.router.stop()
        for pool in (self._driver_pool, *self._replica_pools.values()):
            if pool is not None:
                await pool.close()
        for replica in self.router.replicas:
            await replica.engine.dispose()
        await self.engine.dispose()
