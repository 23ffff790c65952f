"""A lean HTTP/1.1 client for the load generator: one keep-alive connection per simulated user.

The generator shares the machine's cores with the server it measures, so what it spends per
request is taken from the server. A general client (aiohttp) spends about a millisecond of CPU
per request on things a simulated user does not need: a connection pool and its bookkeeping,
header objects, cookie jars, redirects, per-request timeout machinery. A user here sends one
request at a time to one loopback server, so it owns one connection; requests are written as
prebuilt bytes and the answer is read by a small parser that keeps only the status, the
headers the scenario reads (ETag), and the body.

A connection the server has closed while the user was thinking (uvicorn's keep-alive timeout)
is reopened, and a request that met such a closed connection before any byte of an answer came
back is sent once more on a new one: the server never read it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import cast

_MAX_HEAD = 64 * 1024


class ConnectionClosed(Exception):
    """The server closed the connection before a whole answer came back."""


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    etag: str | None


class _Protocol(asyncio.Protocol):
    """Reads one answer at a time into a future."""

    __slots__ = (
        "_body_left",
        "_buffer",
        "_chunked",
        "_etag",
        "_keep_alive",
        "_status",
        "_waiter",
        "closed",
        "got_bytes",
        "transport",
    )

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.got_bytes = False
        self._waiter: asyncio.Future[Answer] | None = None
        self._buffer = bytearray()
        self._status = 0
        self._etag: str | None = None
        self._body_left = -1  # -1: still reading the head
        self._chunked = False
        self._keep_alive = True

    # --- asyncio callbacks ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP transport (uvloop's is not a subclass of asyncio.Transport).
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionClosed(str(exc) if exc else "closed by the server"))

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        self._buffer += data
        try:
            self._advance()
        except ValueError as exc:  # not HTTP we understand: fail this request, drop the socket
            self._fail(exc)

    # --- one exchange ---------------------------------------------------------------------------

    def send(self, request: bytes, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Answer]:
        assert self.transport is not None
        self._waiter = loop.create_future()
        self.got_bytes = False
        self._buffer.clear()
        self._body_left = -1
        self._chunked = False
        self._keep_alive = True
        self._etag = None
        self.transport.write(request)
        return self._waiter

    def _advance(self) -> None:
        buffer = self._buffer
        if self._body_left < 0:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    raise ValueError("answer head too large")
                return
            self._head(bytes(buffer[:end]))
            del buffer[: end + 4]
        if self._chunked:
            body = _dechunk(buffer)
            if body is None:
                return
        else:
            if len(buffer) < self._body_left:
                return
            body = bytes(buffer[: self._body_left])
        self._done(Answer(self._status, body, self._etag))

    def _head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        status_line = lines[0]
        if not status_line.startswith(b"HTTP/1.") or len(status_line) < 12:
            raise ValueError(f"not an HTTP/1.x answer: {status_line[:40]!r}")
        self._status = int(status_line[9:12])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"etag":
                self._etag = value.strip().decode("latin-1")
            elif key == b"transfer-encoding":
                self._chunked = b"chunked" in value.lower()
            elif key == b"connection":
                self._keep_alive = b"close" not in value.lower()
        # HEAD requests and 1xx/204/304 answers carry no body.
        self._body_left = 0 if self._status in (204, 304) or self._status < 200 else length

    def _done(self, answer: Answer) -> None:
        waiter, self._waiter = self._waiter, None
        self._buffer.clear()
        if not self._keep_alive and self.transport is not None:
            self.closed = True
            self.transport.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionClosed(str(exc)))


def _dechunk(buffer: bytearray) -> bytes | None:
    """The body of a complete chunked message in `buffer`, or None while it is incomplete."""
    body = bytearray()
    at = 0
    while True:
        end = buffer.find(b"\r\n", at)
        if end < 0:
            return None
        size = int(bytes(buffer[at:end]).split(b";", 1)[0], 16)
        at = end + 2
        if size == 0:
            # Trailers (none expected) end with an empty line.
            return bytes(body) if buffer.find(b"\r\n", at) >= 0 else None
        if len(buffer) < at + size + 2:
            return None
        body += buffer[at : at + size]
        at += size + 2


class UserConnection:
    """One simulated user's connection to the server (host and port on loopback)."""

    __slots__ = ("_host", "_loop", "_port", "_protocol", "_timeout_s")

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self._host = host
        self._port = port
        self._timeout_s = timeout_s
        self._protocol: _Protocol | None = None
        self._loop = asyncio.get_running_loop()

    async def exchange(self, request: bytes) -> Answer:
        """Send prebuilt request bytes, return the answer; raises ConnectionClosed, OSError or
        TimeoutError (and then drops the connection, whose state is unknown)."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._exchange(request)
        except BaseException:
            self.close()
            raise

    async def _exchange(self, request: bytes) -> Answer:
        for attempt in (0, 1):
            reused = self._protocol is not None and not self._protocol.closed
            protocol = self._protocol if reused else await self._connect()
            assert protocol is not None
            try:
                return await protocol.send(request, self._loop)
            except ConnectionClosed:
                # A kept-alive connection closed under a request that got nothing back: the
                # server never read it, so it goes once more on a fresh connection.
                if attempt or not reused or protocol.got_bytes:
                    raise
        raise ConnectionClosed("closed twice")  # pragma: no cover

    async def _connect(self) -> _Protocol:
        _transport, protocol = await self._loop.create_connection(_Protocol, self._host, self._port)
        self._protocol = protocol
        return protocol

    def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None
