"""A connection that listens on a PostgreSQL channel for as long as the process runs.

`LISTEN` needs a session of its own on the primary: not a pooled connection (it would be handed to
other work), and not through PgBouncer in transaction mode (the session would change between
transactions and the notifications would be lost), so the connection goes to the primary
directly (`DATABASE_DIRECT_URL`, or `DATABASE_URL` when it is the primary itself).

Whoever keeps state in step with the notifications must know when it may have missed some. So
the listener says when it starts listening (`on_listening`: everything learnt before may be
stale) and when it stops (`on_lost`: the connection closed, a ping failed or timed out). It then
reconnects, after a pause that grows to `max_retry_s`. A notification is delivered after the
transaction that sent it commits, to every session listening at that moment."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg  # type: ignore[import-untyped]  # no stubs shipped

log = logging.getLogger(__name__)


class ChannelListener:
    def __init__(
        self,
        dsn: str,
        channel: str,
        *,
        on_message: Callable[[str], None],
        on_listening: Callable[[], None],
        on_lost: Callable[[], None],
        application_name: str = "spacekontext:listen",
        ping_interval_s: float = 5.0,
        timeout_s: float = 2.0,
        max_retry_s: float = 10.0,
    ) -> None:
        """`ping_interval_s`: how often the idle connection is checked with a `SELECT 1`
        answered within `timeout_s` (a server that hangs closes nothing, yet sends nothing)."""
        self._dsn = dsn
        self._channel = channel
        self._on_message = on_message
        self._on_listening = on_listening
        self._on_lost = on_lost
        self._application_name = application_name
        self._ping_interval_s = ping_interval_s
        self._timeout_s = timeout_s
        self._max_retry_s = max_retry_s
        self._task: asyncio.Task[None] | None = None
        self.listening = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"listen-{self._channel}")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        pause = 0.1
        while True:
            try:
                await self._listen_once()
                pause = 0.1  # it listened, then lost the connection: try again at once
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection refused, reset, timed out, …
                log.warning("listening on %s failed: %s", self._channel, exc)
            await asyncio.sleep(pause)
            pause = min(pause * 2, self._max_retry_s)

    async def _listen_once(self) -> None:
        connection = await asyncpg.connect(
            self._dsn,
            timeout=self._timeout_s,
            server_settings={"application_name": self._application_name},
        )
        closed = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _connection: closed.set())
            await connection.add_listener(self._channel, self._deliver)
            self.listening = True
            self._on_listening()
            while not closed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), self._ping_interval_s)
                if not closed.is_set():
                    await connection.fetchval("SELECT 1", timeout=self._timeout_s)
        finally:
            if self.listening:
                self.listening = False
                self._on_lost()
            connection.terminate()

    def _deliver(
        self, _connection: asyncpg.Connection, _pid: int, _channel: str, payload: str
    ) -> None:
        self._on_message(payload)
