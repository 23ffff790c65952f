"""The durable job queue: transactional enqueue, SKIP LOCKED claims, retries with backoff,
recovery of jobs whose worker died."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import delete, select, text

from spacekontext.db.engine import Database
from spacekontext.jobs.models import Job
from spacekontext.jobs.service import JobWorker, backoff_s, enqueue
from spacekontext.services import Services


async def jobs_of(services: Services, kind: str) -> list[Any]:
    async with services.db.read() as session:
        return list(
            (
                await session.execute(
                    select(Job.status, Job.attempts, Job.last_error, Job.result).where(
                        Job.kind == kind
                    )
                )
            ).all()
        )


async def test_a_job_exists_only_if_its_transaction_commits(services: Services) -> None:
    async with services.db.unit_of_work() as uow:
        await enqueue(uow.session, "test.noop", {})
        # no commit: rolled back
    assert await jobs_of(services, "test.noop") == []
    async with services.db.unit_of_work() as uow:
        await enqueue(uow.session, "test.noop", {"n": 1})
        await uow.commit()
    assert [row.status for row in await jobs_of(services, "test.noop")] == ["queued"]


async def test_failures_are_retried_with_backoff_then_marked_failed(services: Services) -> None:
    calls: list[dict[str, Any]] = []

    async def flaky(payload: dict[str, Any]) -> dict[str, Any]:
        calls.append(payload)
        if len(calls) < 2:
            raise RuntimeError("store down")
        return {"ok": True}

    async def broken(payload: dict[str, Any]) -> None:
        raise RuntimeError("always")

    worker = JobWorker(services.db, {"test.flaky": flaky, "test.broken": broken})
    async with services.db.unit_of_work() as uow:
        await enqueue(uow.session, "test.flaky", {"n": 1})
        await enqueue(uow.session, "test.broken", {}, max_attempts=2)
        await enqueue(uow.session, "test.unknown", {})
        await uow.commit()

    assert await worker.run_once() == 3
    flaky_job = (await jobs_of(services, "test.flaky"))[0]
    assert (flaky_job.status, flaky_job.attempts) == ("queued", 1)
    assert "store down" in flaky_job.last_error
    assert (await jobs_of(services, "test.unknown"))[0].status == "failed"  # no handler
    # Backing off: nothing is due right now.
    assert await worker.run_once() == 0

    async with services.db.unit_of_work() as uow:
        await uow.session.execute(
            text("UPDATE app.jobs SET run_after = now() WHERE kind LIKE 'test.%'")
        )
        await uow.commit()
    assert await worker.run_once() == 2
    flaky_job = (await jobs_of(services, "test.flaky"))[0]
    assert (flaky_job.status, flaky_job.attempts, flaky_job.result) == ("done", 2, {"ok": True})
    broken_job = (await jobs_of(services, "test.broken"))[0]
    assert (broken_job.status, broken_job.attempts) == ("failed", 2)
    assert [backoff_s(n) for n in (1, 2, 3, 10)] == [2, 4, 8, 300]


async def test_a_job_whose_worker_died_is_taken_again(services: Services) -> None:
    done: list[str] = []

    async def handler(payload: dict[str, Any]) -> None:
        done.append(payload["n"])

    async with services.db.unit_of_work() as uow:
        await enqueue(uow.session, "test.lease", {"n": "x"})
        await uow.commit()
    crashed = JobWorker(services.db, {"test.lease": handler}, name="crashed", lease_s=60)
    assert len(await crashed.claim()) == 1  # claimed, then the process "dies"
    survivor = JobWorker(services.db, {"test.lease": handler}, name="survivor", lease_s=60)
    assert await survivor.run_once() == 0  # still leased
    async with services.db.unit_of_work() as uow:
        await uow.session.execute(
            text(
                "UPDATE app.jobs SET locked_at = now() - interval '2 min' WHERE kind LIKE 'test.%'"
            )
        )
        await uow.commit()
    assert await survivor.run_once() == 1
    assert done == ["x"]


async def test_concurrent_workers_never_share_a_job(committed_services: Services) -> None:
    """Real commits: three workers with their own connections drain one queue."""
    db: Database = committed_services.db
    seen: list[int] = []

    async def handler(payload: dict[str, Any]) -> None:
        seen.append(payload["n"])
        await asyncio.sleep(0.005)

    async with db.unit_of_work() as uow:
        for n in range(60):
            await enqueue(uow.session, "test.concurrent", {"n": n})
        await uow.commit()
    try:
        workers = [
            JobWorker(db, {"test.concurrent": handler}, name=f"w{i}", batch_size=5)
            for i in range(3)
        ]
        counts = await asyncio.gather(*(w.run_until_idle() for w in workers))
        assert sorted(seen) == list(range(60))  # each exactly once
        assert sum(counts) == 60
        assert all(count > 0 for count in counts)  # the work was shared
    finally:
        async with db.unit_of_work() as uow:
            await uow.session.execute(delete(Job).where(Job.kind == "test.concurrent"))
            await uow.commit()
