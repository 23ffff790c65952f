"""A durable job queue in PostgreSQL.

`enqueue` adds a job inside the caller's transaction, so the job exists if and only if the
change that needs it was committed (no lost work, no work for a change that rolled back).
`JobWorker` claims due jobs with `FOR UPDATE SKIP LOCKED` (any number of workers share the queue
without taking the same job twice), runs them outside any transaction, and records the outcome:
done, retried later with exponential backoff, or failed after `max_attempts`. A job whose worker
died keeps `status = running`; once its lease expires another worker takes it again, so handlers
must be idempotent (deleting a prefix is)."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spacekontext.db.engine import Database
from spacekontext.errors import Unavailable
from spacekontext.ids import new_id
from spacekontext.jobs.models import Job
from spacekontext.observability import error_tracking

log = logging.getLogger("spacekontext.jobs")

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]
Periodic = tuple[float, Callable[[], Awaitable[object]]]

MAX_BACKOFF_S = 300.0
# Job kinds named here so that any service can enqueue them without importing their handlers.
DELETE_PREFIX_JOB = "storage.delete_prefix"


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    delay_s: float = 0.0,
    max_attempts: int = 5,
) -> str:
    """Add a job in the caller's transaction; it becomes visible when that commits."""
    job_id = new_id()
    await session.execute(
        insert(Job).values(
            id=job_id,
            kind=kind,
            payload=payload,
            max_attempts=max_attempts,
            run_after=func.now() + timedelta(seconds=delay_s),
        )
    )
    return job_id


def backoff_s(attempts: int) -> float:
    return float(min(2**attempts, MAX_BACKOFF_S))


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


class JobWorker:
    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler],
        *,
        poll_interval_s: float = 1.0,
        lease_s: float = 300.0,
        batch_size: int = 10,
        periodic: list[Periodic] | None = None,
        name: str | None = None,
    ) -> None:
        self._db = db
        self._handlers = dict(handlers)
        self._poll_interval_s = poll_interval_s
        self._lease_s = lease_s
        self._batch_size = batch_size
        self._periodic = periodic or []
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._wake = anyio.Event()

    def wake(self) -> None:
        """Ask a sleeping `run_forever` loop to poll now (e.g. right after an enqueue)."""
        self._wake.set()

    async def claim(self) -> list[ClaimedJob]:
        async with self._db.unit_of_work() as uow:
            # Jobs whose worker vanished (crash, kill -9) go back to the queue after the lease.
            await uow.session.execute(
                update(Job)
                .where(
                    Job.status == "running",
                    Job.locked_at < func.now() - timedelta(seconds=self._lease_s),
                )
                .values(status="queued", locked_at=None, locked_by=None, updated_at=func.now())
            )
            due = (
                select(Job.id)
                .where(Job.status == "queued", Job.run_after <= func.now())
                .order_by(Job.run_after)
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            rows = (
                await uow.session.execute(
                    update(Job)
                    .where(Job.id.in_(due))
                    .values(
                        status="running",
                        attempts=Job.attempts + 1,
                        locked_at=func.now(),
                        locked_by=self.name,
                        updated_at=func.now(),
                    )
                    .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts)
                )
            ).all()
            await uow.commit()
        return [ClaimedJob(*row) for row in rows]

    async def run_once(self) -> int:
        """Claim and run one batch of due jobs; return how many ran."""
        jobs = await self.claim()
        for job in jobs:
            await self._run(job)
        return len(jobs)

    async def run_until_idle(self, *, max_batches: int = 100) -> int:
        total = 0
        for _ in range(max_batches):
            ran = await self.run_once()
            if ran == 0:
                break
            total += ran
        return total

    async def _run(self, job: ClaimedJob) -> None:
        handler = self._handlers.get(job.kind)
        started = time.perf_counter()
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            result = await handler(job.payload)
        except Exception as exc:
            final = handler is None or job.attempts >= job.max_attempts
            log.warning(
                "job failed",
                extra={"job_id": job.id, "kind": job.kind, "attempt": job.attempts, "final": final},
            )
            values: dict[str, Any] = {
                "status": "failed" if final else "queued",
                "last_error": f"{type(exc).__name__}: {exc}"[:2000],
                "locked_at": None,
                "locked_by": None,
                "updated_at": func.now(),
            }
            if not final:
                values["run_after"] = func.now() + timedelta(seconds=backoff_s(job.attempts))
            await self._finish(job.id, values)
            if final:
                error_tracking.report_job_failure(
                    exc, kind=job.kind, job_id=job.id, attempts=job.attempts
                )
            return
        await self._finish(
            job.id,
            {
                "status": "done",
                "result": result,
                "last_error": None,
                "locked_at": None,
                "locked_by": None,
                "updated_at": func.now(),
            },
        )
        log.info(
            "job done",
            extra={"job_id": job.id, "kind": job.kind, "ms": (time.perf_counter() - started) * 1e3},
        )

    async def _finish(self, job_id: str, values: dict[str, Any]) -> None:
        async with self._db.unit_of_work() as uow:
            await uow.session.execute(
                update(Job).where(Job.id == job_id, Job.locked_by == self.name).values(**values)
            )
            await uow.commit()

    async def run_forever(self) -> None:
        """Poll until cancelled. Errors (database restarting…) are logged and retried: a worker
        must outlive the outages it is there to clean up after."""
        last_run: dict[int, float] = {}
        while True:
            try:
                ran = await self.run_once()
                now = time.monotonic()
                for index, (interval, task) in enumerate(self._periodic):
                    if now - last_run.get(index, float("-inf")) >= interval:
                        last_run[index] = now
                        await task()
            except Unavailable as exc:
                # An outage, not a bug: one line per poll, no traceback.
                log.warning("job worker waiting for the database: %s", exc.details)
                ran = 0
            except Exception:
                log.exception("job worker iteration failed")
                ran = 0
            if ran:
                continue
            with anyio.move_on_after(self._poll_interval_s):
                await self._wake.wait()
            self._wake = anyio.Event()


async def job_status(session: AsyncSession, job_id: str) -> tuple[str, int, datetime] | None:
    row = (
        await session.execute(
            select(Job.status, Job.attempts, Job.run_after).where(Job.id == job_id)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


@dataclass(frozen=True, slots=True)
class FailedJob:
    id: str
    kind: str
    attempts: int
    error: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class JobOverview:
    by_state: dict[str, int]
    failed: list[FailedJob]


async def job_overview(db: Database, *, failed_limit: int = 10) -> JobOverview:
    """The queue at a glance for operators: jobs by state, and the latest failures with the
    error each ended on. Read on the primary: the queue is its state, not a replica's."""
    async with db.read(primary=True) as session:
        counts = (
            await session.execute(select(Job.status, func.count()).group_by(Job.status))
        ).all()
        failed = (
            await session.execute(
                select(Job.id, Job.kind, Job.attempts, Job.last_error, Job.updated_at)
                .where(Job.status == "failed")
                .order_by(Job.updated_at.desc())
                .limit(failed_limit)
            )
        ).all()
    by_state = dict.fromkeys(("queued", "running", "done", "failed"), 0)
    by_state.update({str(state): int(count) for state, count in counts})
    return JobOverview(
        by_state=by_state,
        failed=[FailedJob(row[0], row[1], row[2], row[3], row[4]) for row in failed],
    )
