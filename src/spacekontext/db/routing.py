"""Read routing: read-only use cases go to a healthy replica; a user who has just written reads
from the primary until a replica has replayed that write's WAL position.

Health and lag come from a watcher that samples the primary's WAL position and each replica's
replay position every REPLICA_CHECK_INTERVAL_S. A replica's lag is the time since the primary
was last seen at a position the replica has replayed — so an idle primary does not make a
replica look stale (unlike `now() - pg_last_xact_replay_timestamp()`), and a paused or stuck
replica shows a lag that grows with the wall clock. Down, promoted, or lagging more than
MAX_REPLICA_LAG_S → skipped until a later check finds it well again. A check that only runs past
its deadline is not a verdict on its own: the deadline also counts this process's own stalls (a
long garbage collection, a busy event loop, a starved CPU), so the replica is skipped when two
checks in a row time out (a request that meets a broken replica still fails over at once).

Read-your-writes is by WAL position, not by a guessed delay: after a user's commit the
primary's insert position is recorded for that user; their reads may use a replica only once
its replay position has passed it. The record expires after MAX_REPLICA_LAG_S plus two check
intervals: by then any replica still short of it shows a lag above the limit and is skipped
anyway, so the map stays small.

Where the records live: in this process (`LocalPositions`, exact with one worker), or in Redis
when `REDIS_URL` is set (`cache/positions.py:RedisPositions`, handed in by the service container
through `use_positions`), so that with `serve --workers N` a read landing on another worker than
the write still sees the write's position. This module knows only the `WritePositions`
interface: the database layer does not import the cache or a Redis client. See
docs/database.md."""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spacekontext.observability import metrics
from spacekontext.tasks import stop_task

log = logging.getLogger(__name__)

# A position no replica reaches: the user's reads go to the primary.
UNREACHABLE_LSN = 1 << 64

# Checks in a row that must time out before a replica is skipped for being slow (see above).
TIMEOUTS_TO_SKIP = 2


WAL_POSITION_SQL = "SELECT pg_current_wal_insert_lsn()::text AS lsn"


def parse_lsn(value: str) -> int:
    """'16/B374D848' → a comparable integer."""
    high, _, low = value.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


class WritePositions(Protocol):
    """The WAL position of each user's last write, kept for `ttl_s`."""

    async def record(self, user_id: str, lsn: int) -> None: ...

    async def get(self, user_id: str) -> int | None:
        """The user's last write position; None when there is none; `UNREACHABLE_LSN` when the
        store cannot tell (the read then goes to the primary)."""
        ...

    def read_ahead_key(self, user_id: str) -> str | None:
        """The cache key `get` would read, to be read ahead with the request's other Redis
        reads (cache/readahead.py); None when `get` reads nothing remote."""
        ...

    def peek(self, user_id: str) -> int | None:
        """This process's own record, without a round trip."""
        ...

    def expire(self, now: float) -> None:
        """Drop this process's records older than the TTL (`now` from time.monotonic())."""
        ...


class LocalPositions:
    """In-process records: exact with one worker; with several, a worker does not see the
    writes made through the others."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._written: OrderedDict[str, tuple[int, float]] = OrderedDict()

    async def record(self, user_id: str, lsn: int) -> None:
        self.expire(time.monotonic())
        previous = self.peek(user_id)
        # Two concurrent writes of one user may record out of order: keep the higher position.
        self._written[user_id] = (max(lsn, previous or 0), time.monotonic())
        self._written.move_to_end(user_id)

    async def get(self, user_id: str) -> int | None:
        return self.peek(user_id)

    def read_ahead_key(self, user_id: str) -> str | None:
        return None

    def peek(self, user_id: str) -> int | None:
        entry = self._written.get(user_id)
        if entry is None:
            return None
        if time.monotonic() - entry[1] > self.ttl_s:
            self._written.pop(user_id, None)
            return None
        return entry[0]

    def expire(self, now: float) -> None:
        while self._written:
            _user, (_, recorded_at) = next(iter(self._written.items()))
            if now - recorded_at <= self.ttl_s:
                break
            self._written.popitem(last=False)


@dataclass(eq=False)
class Replica:
    name: str
    engine: AsyncEngine
    healthy: bool = False
    replay_lsn: int = 0
    lag_s: float = math.inf
    last_error: str | None = None
    timeouts_in_a_row: int = 0


class ReadRouter:
    def __init__(
        self,
        primary: AsyncEngine,
        replicas: list[Replica],
        *,
        max_lag_s: float,
        check_interval_s: float,
    ) -> None:
        self.primary = primary
        self.replicas = replicas
        self.max_lag_s = max_lag_s
        self.check_interval_s = check_interval_s
        self.positions: WritePositions = LocalPositions(self.position_ttl_s)
        # Where the primary's WAL is now, as text. `Database` replaces this with one statement
        # on its driver pool where it has one: on an engine connection it is a transaction
        # (BEGIN, the timeouts, the SELECT, ROLLBACK), four round trips, and after every write.
        self.read_position: Callable[[], Awaitable[str]] = self._position_on_engine
        self._samples: deque[tuple[float, int]] = deque()
        self._turn = itertools.count()
        self._task: asyncio.Task[None] | None = None

    # --- routing -----------------------------------------------------------------------------
    async def choose(self, user_id: str | None) -> Replica | None:
        """The replica for this read, or None for the primary."""
        if not self.replicas:
            return None
        healthy = [replica for replica in self.replicas if replica.healthy]
        if not healthy:
            metrics.DB_READ_ROUTING.labels("primary", "no_healthy_replica").inc()
            return None
        # The positions lookup (a Redis GET when shared) happens only when a replica could
        # take the read: without replicas, or with none healthy, reads cost nothing extra.
        pending = await self.positions.get(user_id) if user_id else None
        if pending is not None:
            healthy = [replica for replica in healthy if replica.replay_lsn >= pending]
            if not healthy:
                metrics.DB_READ_ROUTING.labels("primary", "read_your_writes").inc()
                return None
        metrics.DB_READ_ROUTING.labels("replica", "healthy").inc()
        return healthy[next(self._turn) % len(healthy)]

    def read_ahead_keys(self, user_id: str) -> list[str]:
        """What a read of this user will ask Redis for, to be read ahead with the request's
        other Redis reads: the user's last write position, when positions are shared and a
        replica could take the read."""
        key = self.positions.read_ahead_key(user_id)
        if key is not None and any(replica.healthy for replica in self.replicas):
            return [key]
        return []

    def use_positions(self, positions: WritePositions) -> None:
        """Keep the read-your-writes records in `positions` (shared by every worker when they
        live in Redis); its records must live `position_ttl_s`."""
        self.positions = positions

    def replayed_for(self, user_id: str) -> bool:
        """True once every healthy replica has replayed the user's last write recorded by this
        process."""
        pending = self.positions.peek(user_id)
        return pending is None or all(
            replica.replay_lsn >= pending for replica in self.replicas if replica.healthy
        )

    @property
    def position_ttl_s(self) -> float:
        return self.max_lag_s + 2 * self.check_interval_s

    async def record_write(self, user_id: str) -> None:
        """Called after a commit: remember where the primary's WAL was for this user."""
        try:
            lsn = parse_lsn(await self.read_position())
        except Exception as exc:
            # The commit has happened; the request must not fail now. Without the position,
            # keep the user on the primary until the record expires.
            log.warning("could not read the WAL position after a commit: %s", exc)
            lsn = UNREACHABLE_LSN
        await self.positions.record(user_id, lsn)

    async def _position_on_engine(self) -> str:
        async with self.primary.connect() as conn:
            return str(await conn.scalar(text(WAL_POSITION_SQL)))

    def mark_failed(self, replica: Replica, exc: BaseException) -> None:
        """A request found the replica broken: stop using it until the next good check."""
        if replica.healthy:
            log.warning("replica %s failed a read, skipping it: %s", replica.name, exc)
        replica.healthy = False
        replica.last_error = type(exc).__name__
        metrics.DB_REPLICA_HEALTHY.labels(replica.name).set(0)
        metrics.DB_READ_ROUTING.labels("primary", "replica_failed").inc()

    # --- watching ----------------------------------------------------------------------------
    async def start(self) -> None:
        if not self.replicas or self._task is not None:
            return
        await self.check()
        self._task = asyncio.create_task(self._watch(), name="replica-watcher")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval_s)
            try:
                await self.check()
            except Exception:  # the watcher must outlive any one failed check
                log.exception("replica check failed")

    async def check(self) -> None:
        now = time.monotonic()
        try:
            async with asyncio.timeout(max(1.0, self.check_interval_s * 4)):
                primary_lsn = parse_lsn(await self.read_position())
        except Exception as exc:
            # Without the primary's position lag cannot be judged; keep the last verdicts.
            log.warning("replica check: primary unreachable: %s", exc)
            return
        self._samples.append((now, primary_lsn))
        horizon = now - 2 * self.max_lag_s - 4 * self.check_interval_s
        while len(self._samples) > 2 and self._samples[1][0] < horizon:
            self._samples.popleft()
        await asyncio.gather(*(self._check_replica(replica, now) for replica in self.replicas))
        self.positions.expire(now)

    async def _check_replica(self, replica: Replica, now: float) -> None:
        try:
            async with asyncio.timeout(max(1.0, self.check_interval_s * 4)):
                async with replica.engine.connect() as conn:
                    row = (
                        await conn.execute(
                            text("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
                        )
                    ).one()
        except TimeoutError as exc:
            replica.timeouts_in_a_row += 1
            if replica.healthy and replica.timeouts_in_a_row < TIMEOUTS_TO_SKIP:
                # Possibly our own stall, not the replica's: keep the verdict, judged by the
                # last replay position seen (a lag that grows while the primary moves on).
                self._judge(replica, replica.replay_lsn, now)
                return
            self._skip(replica, type(exc).__name__)
            return
        except Exception as exc:
            self._skip(replica, type(exc).__name__)
            return
        replica.timeouts_in_a_row = 0
        in_recovery, replay = row
        if not in_recovery or replay is None:
            # Promoted (a diverging primary now) or not a streaming standby: never read from it.
            self._skip(replica, "not_a_standby")
            return
        self._judge(replica, parse_lsn(replay), now)

    def _judge(self, replica: Replica, replay_lsn: int, now: float) -> None:
        replica.replay_lsn = replay_lsn
        replica.lag_s = self._lag_of(replay_lsn, now)
        replica.healthy = replica.lag_s <= self.max_lag_s
        replica.last_error = None if replica.healthy else "lagging"
        metrics.DB_REPLICA_LAG.labels(replica.name).set(replica.lag_s)
        metrics.DB_REPLICA_HEALTHY.labels(replica.name).set(1 if replica.healthy else 0)

    @staticmethod
    def _skip(replica: Replica, error: str) -> None:
        replica.healthy = False
        replica.lag_s = math.inf
        replica.last_error = error
        metrics.DB_REPLICA_HEALTHY.labels(replica.name).set(0)

    def _lag_of(self, replay_lsn: int, now: float) -> float:
        """Time since the newest primary sample the replica has fully replayed."""
        caught_up_at: float | None = None
        for sampled_at, lsn in self._samples:
            if lsn <= replay_lsn:
                caught_up_at = sampled_at
            else:
                break
        if caught_up_at is None:
            # Behind every sample we still hold: at least as old as the oldest one.
            return now - self._samples[0][0] if self._samples else math.inf
        if caught_up_at == self._samples[-1][0]:
            return 0.0
        return max(0.0, now - caught_up_at)

    def status(self) -> dict[str, dict[str, object]]:
        return {
            replica.name: {
                "healthy": replica.healthy,
                "lagSeconds": None if math.isinf(replica.lag_s) else round(replica.lag_s, 3),
                "error": replica.last_error,
            }
            for replica in self.replicas
        }
