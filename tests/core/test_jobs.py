"""Background jobs: one claim per job however many workers ask, leases that expire when a worker
dies, retries for surprises, and a failure kept with its reason."""

import asyncio
from datetime import timedelta
from typing import Any

from sqlmodel import col, update

from app.core import db, jobs
from app.core.jobs import Job, JobContext, JobFailed, JobStatus
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.synthetic.generator import World

RAN: list[str] = []


@jobs.handler("test.echo")
async def _echo(context: JobContext) -> dict[str, Any]:
    RAN.append(context.payload["name"])
    await context.progress(1, 1)
    return {"echo": context.payload["name"]}


@jobs.handler("test.refuse")
async def _refuse(context: JobContext) -> dict[str, Any]:
    raise JobFailed("the file is not a roster", result={"why": "test"})


@jobs.handler("test.crash")
async def _crash(context: JobContext) -> dict[str, Any]:
    raise RuntimeError("boom")


async def _enqueue(world: World, kind: str, **payload: Any) -> Job:
    async with db.open_session(system_scope("test enqueue")) as session:
        job = jobs.enqueue(session, kind, payload, trust_id=world.trusts[0].trust.id)
    return job


async def _job(job_id: Any) -> Job:
    async with db.open_session(system_scope("test read")) as session:
        found = await session.get(Job, job_id)
    assert found is not None
    return found


async def test_each_job_is_claimed_by_exactly_one_worker(world: World) -> None:
    RAN.clear()
    made = [await _enqueue(world, "test.echo", name=f"job-{i}") for i in range(6)]
    counts = await asyncio.gather(*(jobs.run_pending(f"worker-{w}") for w in range(3)))
    assert sum(counts) == 6
    assert sorted(RAN) == sorted(f"job-{i}" for i in range(6))
    for job in made:
        done = await _job(job.id)
        assert done.status is JobStatus.SUCCEEDED
        assert done.result == {"echo": job.payload["name"]}
        assert done.progress_done == done.progress_total == 1


async def test_a_dead_workers_job_is_taken_up_after_its_lease(world: World) -> None:
    RAN.clear()
    job = await _enqueue(world, "test.echo", name="orphan")
    claimed = await jobs.claim("worker-that-dies")
    assert claimed is not None
    assert await jobs.run_pending("survivor") == 0  # the lease still holds
    async with db.open_session(system_scope("test expire")) as session:
        await session.execute(
            update(Job)
            .where(col(Job.id) == job.id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    assert await jobs.run_pending("survivor") == 1
    assert RAN == ["orphan"]
    assert (await _job(job.id)).attempts == 2


async def test_a_refusal_fails_at_once_and_a_crash_is_retried(world: World) -> None:
    refused = await _enqueue(world, "test.refuse")
    crashed = await _enqueue(world, "test.crash")
    await jobs.run_pending()
    failed = await _job(refused.id)
    assert failed.status is JobStatus.FAILED
    assert failed.error == "the file is not a roster"
    assert failed.result == {"why": "test"}
    retried = await _job(crashed.id)
    assert retried.status is JobStatus.QUEUED  # back in the queue, later
    assert retried.run_after > utcnow()
    assert retried.error is not None
    assert "boom" not in retried.error  # internals stay in the logs
