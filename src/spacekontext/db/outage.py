"""When the database cannot be reached: one classification of the driver's errors, and the one
domain error they become (`Unavailable`, code `database_unavailable`: a 503 with Retry-After).

A database that is stopped, restarting, shutting down or gone from the network is an outage,
not a bug: the client is told to retry, the operator sees why in `/readyz`, and the connection
pools recover by themselves once the server answers again (SQLAlchemy invalidates a pool whose
connection reported a disconnect; the driver's pool replaces closed connections)."""

from __future__ import annotations

import errno

from spacekontext.errors import Unavailable

# Seconds a client should wait: an embedded server is restarted within a second or two of dying;
# a managed server's failover takes longer, and clients retry again after this anyway.
RETRY_AFTER_S = 2

# SQLSTATEs that say the server, not the statement, is the problem: admin/crash shutdown,
# "cannot connect now" (starting up, shutting down, in recovery), and the connection exceptions.
_SERVER_GONE_SQLSTATES = frozenset(
    {"57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006"}
)
# asyncpg's errors once the socket is gone (by class name: the driver is imported lazily).
_DRIVER_GONE = frozenset({"ConnectionDoesNotExistError", "InternalClientError"})
_CONNECTION_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ENOENT,
     errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}
)  # fmt: skip


class StatementTimedOut(TimeoutError):
    """A statement the client cancelled after DB_STATEMENT_TIMEOUT_MS (the driver pool behind
    PgBouncer, where the server's own timeout cannot be set without a transaction): the
    server is too busy or the statement too slow, answered as an outage (503, Retry-After)
    like a server that cannot be reached, never as a bug."""


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc`, the driver error SQLAlchemy wraps (`.orig`), and their causes."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending and len(seen) < 12:
        current = pending.pop(0)
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return seen


def unreachable_reason(exc: BaseException, *, from_database: bool = True) -> str | None:
    """Why the database cannot be reached, in a few words, when `exc` says so; else None.

    `from_database` says that `exc` came out of a database call (the db layer's own paths):
    there a bare connection error or a connect timeout is the database's. Elsewhere (the last
    safety net in the HTTP layer) only errors that carry the driver's mark count."""
    for error in _chain(exc):
        sqlstate = getattr(error, "sqlstate", None) or getattr(
            getattr(error, "orig", None), "sqlstate", None
        )
        if sqlstate in _SERVER_GONE_SQLSTATES:
            message = str(getattr(error, "orig", None) or error).strip()
            # SQLAlchemy prefixes the driver's class; keep the server's own words.
            return message.rsplit(") ", 1)[-1].splitlines()[0] or f"SQLSTATE {sqlstate}"
        if type(error).__name__ in _DRIVER_GONE:
            return "connection to the database lost"
        if type(error).__name__ == "InterfaceError" and "closed" in str(error):
            return "connection to the database lost"
        if getattr(error, "connection_invalidated", False):
            return "connection to the database lost"
        if not from_database:
            continue
        if isinstance(error, ConnectionRefusedError) or (
            isinstance(error, FileNotFoundError) and ".s.PGSQL." in str(error)
        ):
            return "connection refused (the database server is not running)"
        if isinstance(error, OSError) and error.errno in _CONNECTION_ERRNOS:
            return f"connection failed: {error.strerror or type(error).__name__}"
        if isinstance(error, ConnectionError):
            return f"connection failed: {type(error).__name__}"
        if isinstance(error, StatementTimedOut):
            return str(error)
        if isinstance(error, TimeoutError):
            return "connecting to the database timed out"
    return None


def database_unavailable(reason: str) -> Unavailable:
    return Unavailable(
        "the database is unavailable; retry shortly",
        code="database_unavailable",
        details={"reason": reason},
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def as_unavailable(exc: BaseException) -> Unavailable | None:
    """The `Unavailable` that `exc` amounts to, or None when it is not an outage."""
    if isinstance(exc, Unavailable):
        return None
    reason = unreachable_reason(exc)
    return database_unavailable(reason) if reason is not None else None


def raise_if_outage(exc: BaseException) -> None:
    """Raise the `Unavailable` that `exc` amounts to (chained to it), if it is an outage."""
    unavailable = as_unavailable(exc)
    if unavailable is not None:
        raise unavailable from exc
