"""The user rows this process has read, by token subject, kept in step with the database.

Every authenticated request needs its caller's row (id and e-mail) before anything else. With
Redis that row comes with the rate-limit bucket in one round trip; without it, and with several
workers (whose in-process caches could not see each other's writes), it was a second statement
per request: a third of an uncached list's throughput (docs/benchmarks.md, "The tail closed").

Here the rows are kept in process, and coherence comes from PostgreSQL: a trigger announces
every UPDATE or DELETE of a user row (whatever made it: webhook, upsert, operator, restore) on
the `app_users` channel once its transaction commits (migration 0008), and each process listens
on that channel (db/notify.py) and drops the row named.

The rules that make a kept row never older than the notification latency:
- rows are served only while the listener is listening; when it stops, everything is dropped
  and lookups go to the database (and the shared cache) as before, until it listens again;
- when it starts listening, everything is dropped again (changes made while it was not
  listening were not heard);
- a row read from the database is kept only if no notification arrived and the listener did
  not stop or start while it was read (`epoch`): a read that raced a change is not kept, since
  its row may predate the change;
- a kept row also expires after `ttl_s`, a bound on anything unforeseen.
A deleted user may so be served for the time a notification takes to arrive (about a
millisecond on one host), as a Redis-cached row was until its generation was bumped."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from spacekontext.db.notify import ChannelListener
from spacekontext.observability import metrics

CHANNEL = "app_users"

# Kept rows per process (about 300 bytes each).
MAX_ROWS = 100_000

# Every authenticated request counts one: the labelled children are looked up once.
_HIT = metrics.USER_DIRECTORY_LOOKUPS.labels("hit")
_MISS = metrics.USER_DIRECTORY_LOOKUPS.labels("miss")

Row = TypeVar("Row")


class UserDirectory(Generic[Row]):
    def __init__(
        self,
        dsn: str,
        *,
        ttl_s: float = 300.0,
        max_rows: int = MAX_ROWS,
        clock: Callable[[], float] = time.monotonic,
        ping_interval_s: float = 5.0,
    ) -> None:
        """`dsn`: the primary itself (not a pooler in transaction mode: see db/notify.py)."""
        self._ttl_s = ttl_s
        self._max_rows = max_rows
        self._clock = clock
        self._rows: dict[str, tuple[Row, float]] = {}
        self.epoch = 0
        self._listener = ChannelListener(
            dsn,
            CHANNEL,
            on_message=self.forget,
            on_listening=self._start_serving,
            on_lost=self._stop_serving,
            ping_interval_s=ping_interval_s,
        )

    def start(self) -> None:
        """Start listening (in the running event loop); rows are served once it listens."""
        self._listener.start()

    async def aclose(self) -> None:
        await self._listener.aclose()

    @property
    def serving(self) -> bool:
        """Rows are served while the listener listens, and only then."""
        listening: bool = self._listener.listening
        return listening

    def get(self, subject: str) -> Row | None:
        if not self.serving:
            return None
        kept = self._rows.get(subject)
        if kept is None:
            _MISS.inc()
            return None
        row, expires = kept
        if self._clock() >= expires:
            del self._rows[subject]
            _MISS.inc()
            return None
        _HIT.inc()
        return row

    def keep(self, subject: str, row: Row, epoch: int) -> None:
        """Keep `row`, read from the database after `epoch` was taken, unless something was
        heard (or the listener stopped or started) since."""
        if not self.serving or epoch != self.epoch:
            return
        if subject not in self._rows and len(self._rows) >= self._max_rows:
            self._rows.pop(next(iter(self._rows)))  # the oldest kept: a plain bound
        self._rows[subject] = (row, self._clock() + self._ttl_s)

    def forget(self, subject: str) -> None:
        """A notification: the row of `subject` changed or went ('' : every row)."""
        self.epoch += 1
        if subject:
            self._rows.pop(subject, None)
        else:
            self._rows.clear()

    # The listener calls these right after it starts or stops listening (`serving` follows it):
    # whatever was kept before may have missed a change.
    def _start_serving(self) -> None:
        self.forget("")
        metrics.USER_DIRECTORY_LISTENING.set(1)

    def _stop_serving(self) -> None:
        self.forget("")
        metrics.USER_DIRECTORY_LISTENING.set(0)
