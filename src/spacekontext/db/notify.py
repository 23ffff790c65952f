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
from dataclasses import dataclass, field

import asyncpg  # type: ignore[import-untyped]  # no stubs shipped

from spacekontext.tasks import stop_task

log = logging.getLogger(__name__)


@dataclass(eq=False)
class ChannelListener:
    dsn: str
    channel: str
    on_message: Callable[[str], None]
    on_listening: Callable[[], None]
    on_lost: Callable[[], None]
    application_name: str = "spacekontext:listen"
    # How often the idle connection is checked with a `SELECT 1` answered within `timeout_s`
    # (a server that hangs closes nothing, yet sends nothing).
    ping_interval_s: float = 5.0
    timeout_s: float = 2.0
    max_retry_s: float = 10.0
    listening: bool = field(default=False, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"listen-{self.channel}")

    async def aclose(self) -> None:
        await stop_task(self._task)
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
                log.warning("listening on %s failed: %s", self.channel, exc)
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.max_retry_s)

    async def _listen_once(self) -> None:
        connection = await asyncpg.connect(
            self.dsn,
            timeout=self.timeout_s,
            server_settings={"application_name": self.application_name},
        )
        closed = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _connection: closed.set())
            await connection.add_listener(self.channel, self._deliver)
            self.listening = True
            self.on_listening()
            while not closed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), self.ping_interval_s)
                if not closed.is_set():
                    await connection.fetchval("SELECT 1", timeout=self.timeout_s)
        finally:
            if self.listening:
                self.listening = False
                self.on_lost()
            connection.terminate()

    def _deliver(
        self, _connection: asyncpg.Connection, _pid: int, _channel: str, payload: str
    ) -> None:
        self.on_message(payload)
