"""The driver's own connection pool, for `Database.fetch`: the few one-statement reads that
nearly every request runs (token subject → user on a cache miss, the project list page).

Why a second pool beside SQLAlchemy's: profiled, checking a connection out of SQLAlchemy's
async pool and back costs three greenlet switches, a connection fairy and an execution wrapper
— about 100 µs of CPU per read on this machine, as much as the indexed query itself. asyncpg's
pool hands out its connection with one queue operation. Statements run on it exactly as before
(the driver's `fetch`, prepared once per connection and cached), timed by the same `record`.

What is kept from the main pool: the size (`DB_READ_POOL_SIZE` per process and server, counted
in the connection budget), the checkout timeout (`DB_POOL_TIMEOUT_S`) that becomes a 503 with
Retry-After, the per-connection settings (application name, statement and idle-in-transaction
timeouts), the pool metrics. What is left out: asyncpg's reset query on release (`RESET ALL`,
`UNLISTEN *`, … — one round trip per read): these reads change no session state, and an open
transaction (there is none) would still be rolled back by the driver.

Behind PgBouncer in transaction mode the same reads go through `BouncerPool` instead: psycopg,
each statement sent as one message (parse, bind, execute) in autocommit, so that it is one
round trip and one PgBouncer transaction of its own. asyncpg cannot do that there: without a
statement cache it prepares in one round trip and executes in a second, which PgBouncer may
route to another server connection, so each read needed a transaction around it (BEGIN with
the SET LOCAL of the timeouts, parse, execute, COMMIT: four round trips through two hops).
Measured on this kind of machine, a one-row read through PgBouncer cost 0.9-1.1 ms of CPU over
all processes that way, and 0.29-0.34 ms as one message (docs/database.md)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]  # no stubs shipped
import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.datetime import TimestamptzLoader
from psycopg.types.string import TextLoader
from sqlalchemy.exc import TimeoutError as PoolTimeout

from spacekontext.db.outage import StatementTimedOut
from spacekontext.observability import metrics


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    return None


class PooledStatement(Protocol):
    """What a pool needs of a statement (`db.engine.Statement`): its text with numbered
    parameters (`$1`), which both drivers take as they are (psycopg through its raw cursor)."""

    native: str


class StatementPool(Protocol):
    role: str
    name: str
    size: int

    async def fetch(self, statement: PooledStatement, args: tuple[Any, ...]) -> Sequence[Any]: ...

    async def close(self) -> None: ...


class _Pool:
    """What both pools hold: `role` (primary or replica) labels the statement metrics, `name`
    the pool's; its size and checkout timeout; the waiting and timeout metrics."""

    def __init__(self, dsn: str, *, role: str, name: str, size: int, timeout_s: float) -> None:
        self.role = role
        self.name = name
        self.size = size
        self.timeout_s = timeout_s
        self._dsn = dsn
        self._waiting = metrics.DB_POOL_WAITING.labels(name)
        self._timeouts = metrics.DB_POOL_TIMEOUTS.labels(name)
        metrics.DB_POOL_SIZE.labels(name).set(size)

    def _timed_out(self) -> PoolTimeout:
        self._timeouts.inc()
        return PoolTimeout(f"no connection of pool {self.name} within {self.timeout_s} s")


class DriverPool(_Pool):
    def __init__(
        self,
        dsn: str,
        *,
        role: str,
        name: str,
        size: int,
        timeout_s: float,
        server_settings: dict[str, str],
    ) -> None:
        super().__init__(dsn, role=role, name=name, size=size, timeout_s=timeout_s)
        self._server_settings = server_settings
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Future[asyncpg.Pool] | None = None

    async def fetch(self, statement: PooledStatement, args: tuple[Any, ...]) -> list[Any]:
        """The rows of one statement. A checkout that waits longer than the timeout raises
        SQLAlchemy's pool `TimeoutError`, as the main pool does (the caller makes it a 503, or
        skips a replica); connection errors propagate as the driver raises them
        (`replica_failed` reads them)."""
        sql = statement.native
        pool = self._pool or await self._open()
        self._waiting.inc()
        try:
            connection = await pool.acquire(timeout=self.timeout_s)
        except TimeoutError as exc:
            if pool.get_size() < self.size:
                # A slot was free, yet no connection came: connecting timed out (a server
                # gone from the network), an outage rather than a saturated pool.
                raise TimeoutError(f"connecting for pool {self.name} timed out") from exc
            raise self._timed_out() from exc
        finally:
            self._waiting.dec()
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await pool.release(connection)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _open(self) -> asyncpg.Pool:
        # Concurrent first reads share one pool.
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._create())
        opening = self._opening
        try:
            return await asyncio.shield(opening)
        except BaseException:
            if opening.done():
                self._opening = None  # a failed start is retried by the next read
            raise

    async def _create(self) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(
            self._dsn,
            min_size=0,
            max_size=self.size,
            server_settings=self._server_settings,
            reset=_nothing_to_reset,
            # Connecting counts against the checkout timeout, not asyncpg's 60 s default: a
            # replica that drops packets must not hold a read for a minute.
            timeout=max(self.timeout_s, 1.0),
        )
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            # Read when /metrics is scraped (multiprocess mode has no such callbacks; the size
            # gauge is all it gets).
            metrics.DB_POOL_IN_USE.labels(self.name).set_function(
                lambda: pool.get_size() - pool.get_idle_size()
            )
            metrics.DB_POOL_OPEN.labels(self.name).set_function(pool.get_size)
        self._pool = pool
        return pool


class _UTCTimestamptzLoader(TimestamptzLoader):
    """`timestamptz` as asyncpg gives it: in UTC, whatever the server connection's TimeZone
    (PgBouncer hands out server connections whose session settings this client did not
    choose)."""

    def load(self, data: Any) -> datetime:
        return super().load(data).astimezone(UTC)


class BouncerPool(_Pool):
    """The driver pool behind PgBouncer in transaction mode (module docstring): psycopg
    connections in autocommit, every statement sent unprepared in one message.

    What the asyncpg pool gives, kept: the size, the checkout timeout that becomes
    SQLAlchemy's `PoolTimeout` (a 503 with Retry-After), the pool metrics, rows read by column
    name, JSON columns as text and timestamps in UTC. The statement timeout is the client's
    here: PgBouncer refuses it as a startup parameter and a SET LOCAL needs a transaction, the
    round trips this pool exists to save. A statement that runs past `statement_timeout_s` is
    cancelled on the server (psycopg sends the cancel request and waits for the server to
    stop) and raises `StatementTimedOut`, which the callers turn into a 503. Driver errors come out
    as the asyncpg pool's do for the callers' classification (db/outage.py): a connection that
    failed or was lost as `ConnectionError`, server errors as psycopg's, which carry their
    SQLSTATE."""

    def __init__(
        self,
        dsn: str,
        *,
        role: str,
        name: str,
        size: int,
        timeout_s: float,
        statement_timeout_s: float | None,
        application_name: str,
    ) -> None:
        super().__init__(dsn, role=role, name=name, size=size, timeout_s=timeout_s)
        self._statement_timeout_s = statement_timeout_s
        self._application_name = application_name
        self._idle: asyncio.LifoQueue[psycopg.AsyncConnection[dict[str, Any]]] = asyncio.LifoQueue()
        self._open_count = 0
        self._closed = False
        self._closing: set[asyncio.Task[None]] = set()
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            metrics.DB_POOL_IN_USE.labels(name).set_function(
                lambda: self._open_count - self._idle.qsize()
            )
            metrics.DB_POOL_OPEN.labels(name).set_function(lambda: self._open_count)

    async def fetch(
        self, statement: PooledStatement, args: tuple[Any, ...]
    ) -> list[dict[str, Any]]:
        connection = await self._acquire()
        try:
            try:
                async with asyncio.timeout(self._statement_timeout_s):
                    cursor = await connection.execute(statement.native, args, prepare=False)
                    rows = await cursor.fetchall() if cursor.description is not None else []
            except TimeoutError as exc:
                raise StatementTimedOut(
                    f"statement cancelled after {self._statement_timeout_s:g} s "
                    "(DB_STATEMENT_TIMEOUT_MS)"
                ) from exc
            except psycopg.OperationalError as exc:
                if exc.sqlstate is None:
                    # Refused, reset, closed: no SQLSTATE, the connection itself failed.
                    raise ConnectionError(str(exc).strip() or "connection lost") from exc
                raise
            return rows
        finally:
            self._release(connection)

    async def _acquire(self) -> psycopg.AsyncConnection[dict[str, Any]]:
        if not self._idle.empty():
            return self._idle.get_nowait()
        if self._open_count < self.size:
            self._open_count += 1
            try:
                return await self._connect()
            except BaseException:
                self._open_count -= 1
                raise
        self._waiting.inc()
        try:
            return await asyncio.wait_for(self._idle.get(), self.timeout_s)
        except TimeoutError as exc:
            raise self._timed_out() from exc
        finally:
            self._waiting.dec()

    async def _connect(self) -> psycopg.AsyncConnection[dict[str, Any]]:
        try:
            async with asyncio.timeout(max(self.timeout_s, 1.0)):
                connection = await psycopg.AsyncConnection.connect(
                    self._dsn,
                    autocommit=True,
                    prepare_threshold=None,
                    row_factory=dict_row,
                    # `$1` parameters as the server takes them: no conversion from `%s` per
                    # statement, and a `%` in the text is only a `%`.
                    cursor_factory=psycopg.AsyncRawCursor,
                    application_name=self._application_name,
                    # Spelled as the server reports it: PgBouncer compares the strings and
                    # would SET it on the server connection at every transaction otherwise.
                    client_encoding="UTF8",
                )
        except TimeoutError as exc:
            raise TimeoutError(f"connecting for pool {self.name} timed out") from exc
        except psycopg.OperationalError as exc:
            if exc.sqlstate is None:
                raise ConnectionError(str(exc).strip() or "connection failed") from exc
            raise
        for json_type in ("json", "jsonb"):
            # As asyncpg returns them: text, decoded by the statement (`Statement.values`).
            connection.adapters.register_loader(json_type, TextLoader)
        connection.adapters.register_loader("timestamptz", _UTCTimestamptzLoader)
        return connection

    def _release(self, connection: psycopg.AsyncConnection[dict[str, Any]]) -> None:
        healthy = (
            not self._closed
            and not connection.closed
            and connection.info.transaction_status == TransactionStatus.IDLE
        )
        if healthy and not connection.broken:
            self._idle.put_nowait(connection)
            return
        self._open_count -= 1
        # Closing a psycopg connection sends Terminate and closes the socket: no wait. The task
        # is kept until it ends (the event loop holds only a weak reference to it).
        with contextlib.suppress(Exception):
            closing = asyncio.get_running_loop().create_task(connection.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        self._closed = True
        while not self._idle.empty():
            connection = self._idle.get_nowait()
            self._open_count -= 1
            with contextlib.suppress(Exception):
                await connection.close()
