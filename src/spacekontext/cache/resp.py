"""A lean asyncio Redis client for the request path: one pipelined connection per process,
replies parsed by hiredis.

Why not redis-py's asyncio client: on this API's hot read (token subject → user, rate-limit
bucket, cached page) every request makes one to three Redis round trips, and redis-py spends
about 100 µs of CPU on each (connection-pool checkout, asyncio streams, a timeout wrapper, its
parser), against about 11 µs for the same MGET over a bare `asyncio.Protocol`
(docs/benchmarks.md, "Redis client"). With three round trips per request that was most of a
cached request's CPU. This client does only what the API needs — commands as argument lists,
pipelines (several commands, one write, one wait), Lua scripts by SHA with a fallback to EVAL,
AUTH and SELECT from the URL, TLS for `rediss://`, per-call timeouts, reconnect after a lost
connection — and nothing else (no cluster, no pub/sub, no RESP3). redis-py stays the client of
the tests and tools.

Many requests share the one connection: commands are written in the order they are issued and
Redis answers in that order, so each waiter is a future in a FIFO. Commands issued in one turn
of the event loop are written together, in one system call. A caller that times out
leaves its future in the queue; its reply, when it comes, is dropped, and the stream stays in
step. Errors that mean "Redis is not there" are `OSError`s (`ConnectionError`, `TimeoutError`),
as the callers' circuit breakers expect; an error reply is a `RespError`."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections import deque
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis

from spacekontext.observability.request_context import current_request

Arg = str | bytes | int | float


class RespError(Exception):
    """Redis answered with an error (a bug or a wrong command, not an outage)."""


class _Connection(asyncio.Protocol):
    def __init__(self, timeout_s: float) -> None:
        self._reader = hiredis.Reader()
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._transport: asyncio.WriteTransport | None = None
        self._outgoing: list[bytes] = []
        self._unsent: list[asyncio.Future[Any]] = []
        self._timeout_s = timeout_s
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a stream transport (TCP/TLS)

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a caller that timed out is gone; its reply is dropped
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionError("connection closed by the server")
        while self._waiting:
            _fail(self._waiting.popleft(), ConnectionError(f"redis connection lost: {self.lost}"))

    def send(self, payload: bytes, count: int) -> list[asyncio.Future[Any]]:
        if self.lost is not None or self._transport is None:
            raise ConnectionError("redis connection is closed")
        loop = asyncio.get_running_loop()
        waiters = [loop.create_future() for _ in range(count)]
        self._waiting.extend(waiters)
        # Written once per turn of the event loop: the commands of every request that runs in
        # this turn go out in one system call (about 30 µs each on this machine, the largest
        # single cost of a cached request). Order is kept: the buffer is in issue order, as
        # the waiters are.
        if not self._outgoing:
            loop.call_soon(self._flush)
        self._outgoing.append(payload)
        self._unsent.extend(waiters)
        return waiters

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        sent, self._unsent = self._unsent, []
        if self._transport is not None and self.lost is None and outgoing:
            self._transport.write(b"".join(outgoing) if len(outgoing) > 1 else outgoing[0])
            # The deadline runs from here, when the commands leave, not from when they were
            # queued: a long turn of the event loop in between (other requests' CPU, on a busy
            # worker) is not Redis being slow, and counted as such it opened the circuit
            # breaker and sent every request to the database for a second. One timer for the
            # whole write; it is left to fire (a no-op on answered waiters), which costs less
            # than cancelling it from the reply.
            asyncio.get_running_loop().call_later(self._timeout_s, _expire, sent, self._timeout_s)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class Script:
    """A Lua script run by SHA (`EVALSHA`), loaded with `EVAL` when the server lacks it (after
    a restart or `SCRIPT FLUSH`)."""

    def __init__(self, client: RespClient, source: str) -> None:
        self._client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis' script id

    async def __call__(self, keys: Sequence[Arg], args: Sequence[Arg] = ()) -> Any:
        try:
            return await self._client.execute("EVALSHA", self.sha, len(keys), *keys, *args)
        except RespError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return await self._client.execute("EVAL", self.source, len(keys), *keys, *args)


class RespClient:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6379,
        *,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        timeout_s: float = 0.5,
        connect_timeout_s: float | None = None,
    ) -> None:
        self.host, self.port, self.db = host, port, db
        self._username, self._password = username, password
        self._tls = tls
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s or timeout_s
        self._connection: _Connection | None = None
        self._connecting: asyncio.Future[_Connection] | None = None

    @classmethod
    def from_url(cls, url: str, *, timeout_s: float = 0.5) -> RespClient:
        """`redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS."""
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r}")
        path = parts.path.strip("/")
        return cls(
            parts.hostname or "127.0.0.1",
            parts.port or 6379,
            db=int(path) if path else 0,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=parts.scheme == "rediss",
            timeout_s=timeout_s,
        )

    # --- commands ----------------------------------------------------------------------------
    async def execute(self, *args: Arg) -> Any:
        """One command; its reply (bytes, int, list or None)."""
        connection = self._connection
        if connection is None or connection.lost is not None:
            connection = await self._connect()
        (reply,) = await self._wait(connection.send(_pack(args), 1))
        return _checked(reply)

    async def pipeline(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        """Several commands in one write and one round trip; their replies in order. An error
        reply comes back in place as a `RespError` instance (not raised), so that one failing
        command does not hide the others' results."""
        if not commands:
            return []
        connection = self._connection
        if connection is None or connection.lost is not None:
            connection = await self._connect()
        payload = b"".join(_pack(tuple(command)) for command in commands)
        replies = await self._wait(connection.send(payload, len(commands)))
        return [
            RespError(str(reply)) if isinstance(reply, hiredis.ReplyError) else reply
            for reply in replies
        ]

    def register_script(self, source: str) -> Script:
        return Script(self, source)

    async def get(self, key: str) -> bytes | None:
        value: bytes | None = await self.execute("GET", key)
        return value

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        values: list[bytes | None] = await self.execute("MGET", *keys)
        return values

    async def set(self, key: str, value: Arg, *, ex: int | None = None) -> None:
        if ex is None:
            await self.execute("SET", key, value)
        else:
            await self.execute("SET", key, value, "EX", ex)

    async def delete(self, *keys: str) -> int:
        removed: int = await self.execute("DEL", *keys)
        return removed

    async def incr(self, key: str) -> int:
        value: int = await self.execute("INCR", key)
        return value

    async def ping(self) -> bool:
        return bool(await self.execute("PING") == b"PONG")

    async def aclose(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # --- internals ---------------------------------------------------------------------------
    async def _wait(self, waiters: list[asyncio.Future[Any]]) -> list[Any]:
        # The connection's write times the waiters out (`_Connection._flush`). A waiter that
        # expires or is cancelled is done: its reply, when it comes, is dropped.
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            return [await waiter for waiter in waiters]
        finally:
            stats = current_request.get()
            if stats is not None:  # for Server-Timing
                stats.redis_round_trips += 1
                stats.redis_time_s += loop.time() - started

    async def _connect(self) -> _Connection:
        # Concurrent callers share one connect attempt.
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.ensure_future(self._open())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if connecting.done() and not connecting.cancelled():
                connecting.exception()  # retrieved: a failure is raised to every waiter above

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        context = ssl.create_default_context() if self._tls else None
        async with asyncio.timeout(self.connect_timeout_s):
            _, connection = await loop.create_connection(
                lambda: _Connection(self.timeout_s), self.host, self.port, ssl=context
            )
            setup: list[tuple[Arg, ...]] = []
            if self._password is not None:
                auth: tuple[Arg, ...] = ("AUTH", self._password)
                if self._username is not None:
                    auth = ("AUTH", self._username, self._password)
                setup.append(auth)
            if self.db:
                setup.append(("SELECT", self.db))
            if setup:
                payload = b"".join(_pack(command) for command in setup)
                try:
                    for reply in await self._wait(connection.send(payload, len(setup))):
                        _checked(reply)
                except BaseException:
                    connection.close()
                    raise
        self._connection = connection
        return connection


def _pack(args: tuple[Arg, ...]) -> bytes:
    # hiredis' stub types the argument as a 1-tuple; it takes any number of arguments.
    packed: bytes = hiredis.pack_command(args)  # type: ignore[arg-type]
    return packed


def _expire(waiters: list[asyncio.Future[Any]], timeout_s: float) -> None:
    for waiter in waiters:
        _fail(waiter, TimeoutError(f"redis did not answer within {timeout_s} s"))


def _fail(waiter: asyncio.Future[Any], error: BaseException) -> None:
    if not waiter.done():
        waiter.set_exception(error)
        # Marked as retrieved: the caller may stop at an earlier waiter of its batch.
        waiter.exception()


def _checked(reply: Any) -> Any:
    if isinstance(reply, hiredis.ReplyError):
        raise RespError(str(reply))
    return reply
