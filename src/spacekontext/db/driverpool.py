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
transaction (there is none) would still be rolled back by the driver."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs shipped
from sqlalchemy.exc import TimeoutError as PoolTimeout

from spacekontext.observability import metrics


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    return None


class DriverPool:
    def __init__(
        self,
        dsn: str,
        *,
        role: str,
        name: str,
        size: int,
        timeout_s: float,
        server_settings: dict[str, str],
        transaction_prefix: str | None = None,
    ) -> None:
        """`role` (primary or replica) labels the statement metrics, `name` the pool's.

        `transaction_prefix` is for PgBouncer in transaction mode: each statement then runs in
        its own transaction, opened by this simple-protocol text (`BEGIN; SET LOCAL …`, one
        round trip), and no prepared statement outlives it (the driver's statement cache is
        off, so statements are prepared unnamed inside the transaction). Four round trips
        instead of one, but none of the ORM session's cost (docs/database.md)."""
        self.role = role
        self.name = name
        self.size = size
        self.timeout_s = timeout_s
        self._dsn = dsn
        self._server_settings = server_settings
        self._transaction_prefix = transaction_prefix
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Future[asyncpg.Pool] | None = None
        self._waiting = metrics.DB_POOL_WAITING.labels(name)
        self._timeouts = metrics.DB_POOL_TIMEOUTS.labels(name)
        metrics.DB_POOL_SIZE.labels(name).set(size)

    async def fetch(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        """The rows of one statement. A checkout that waits longer than the timeout raises
        SQLAlchemy's pool `TimeoutError`, as the main pool does (the caller makes it a 503, or
        skips a replica); connection errors propagate as the driver raises them
        (`replica_failed` reads them)."""
        pool = self._pool or await self._open()
        self._waiting.inc()
        try:
            connection = await pool.acquire(timeout=self.timeout_s)
        except TimeoutError as exc:
            if pool.get_size() < self.size:
                # A slot was free, yet no connection came: connecting timed out (a server
                # gone from the network), an outage rather than a saturated pool.
                raise TimeoutError(f"connecting for pool {self.name} timed out") from exc
            self._timeouts.inc()
            raise PoolTimeout(
                f"no connection of pool {self.name} within {self.timeout_s} s"
            ) from exc
        finally:
            self._waiting.dec()
        try:
            if self._transaction_prefix is None:
                return list(await connection.fetch(sql, *args))
            await connection.execute(self._transaction_prefix)
            try:
                rows = list(await connection.fetch(sql, *args))
            except BaseException:
                # The original error is the one to report; a connection the rollback cannot
                # reach is closed, and the pool drops it on release.
                with contextlib.suppress(Exception):
                    await connection.execute("ROLLBACK")
                raise
            await connection.execute("COMMIT")
            return rows
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
            # Behind PgBouncer a named statement could outlive its server connection.
            statement_cache_size=0 if self._transaction_prefix is not None else 100,
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
