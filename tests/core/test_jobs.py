"""Background jobs: one claim per job however many workers ask, leases that expire when a worker
dies, retries for surprises, and a failure kept with its reason; a quota per school and per
trust, one job per exclusive key, and trusts served in turn."""

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func
from sqlmodel import col, select, update

from app.core import db, jobs
from app.core.jobs import Job, JobAlreadyQueued, JobContext, JobFailed, JobStatus, TooManyJobs
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.synthetic.generator import World
from tests.conftest import all_rows

RAN: list[str] = []


async def _echo(context: JobContext) -> dict[str, Any]:
    RAN.append(context.payload["name"])
    await context.progress(1, 1)
    return {"echo": context.payload["name"]}


async def _refuse(context: JobContext) -> dict[str, Any]:
    raise JobFailed("the file is not a roster", result={"why": "test"})


async def _crash(context: JobContext) -> dict[str, Any]:
    raise RuntimeError("boom")


@pytest.fixture(autouse=True, scope="module")
def _test_handlers() -> None:
    """The kinds these tests run, registered as app/registry.py registers the app's own."""
    for kind, run in {"test.echo": _echo, "test.refuse": _refuse, "test.crash": _crash}.items():
        jobs.register_handler(kind, run)


async def _enqueue(
    world: World,
    kind: str,
    *,
    trust: int = 0,
    school: int | None = None,
    key: str | None = None,
    **payload: Any,
) -> Job:
    trust_world = world.trusts[trust]
    async with db.open_session(system_scope("test enqueue")) as session:
        job = await jobs.enqueue(
            session,
            kind,
            payload,
            trust_id=trust_world.trust.id,
            school_id=None if school is None else trust_world.schools[school].id,
            exclusive_key=key,
        )
    return job


async def _job_count() -> int:
    async with db.open_session(system_scope("test count")) as session:
        return await session.scalar(select(func.count()).select_from(Job)) or 0


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


async def test_a_school_gets_its_allowance_and_no_more(world: World) -> None:
    allowance = get_settings().jobs_max_per_school
    for i in range(allowance):
        await _enqueue(world, "test.echo", school=0, name=f"job-{i}")
    before = await all_rows()
    with pytest.raises(TooManyJobs) as refused:
        await _enqueue(world, "test.echo", school=0, name="one too many")
    assert refused.value.status == 429
    assert int(refused.value.headers["Retry-After"]) > 0
    assert f"The school already has {allowance} background jobs" in refused.value.detail
    assert f"({allowance} test.echo)" in refused.value.detail
    assert await all_rows() == before
    await _enqueue(world, "test.echo", school=1, name="another school")  # its own allowance
    assert await jobs.run_pending() == allowance + 1
    await _enqueue(world, "test.echo", school=0, name="once the others have run")


async def test_a_trust_gets_its_allowance_across_its_schools(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "jobs_max_per_trust", 4)
    for school in (0, 0, 1, 2):
        await _enqueue(world, "test.echo", school=school, name=f"at {school}")
    before = await all_rows()
    for elsewhere in (2, None):  # another school, and the trust itself
        with pytest.raises(TooManyJobs) as refused:
            await _enqueue(world, "test.echo", school=elsewhere, name="one too many")
        assert "The trust already has 4 background jobs" in refused.value.detail
        assert refused.value.extra == {"limit": 4, "under_way": {"test.echo": 4}}
    assert await all_rows() == before
    await _enqueue(world, "test.echo", trust=1, school=0, name="another trust")


async def test_a_job_with_the_key_of_one_under_way_is_refused(world: World) -> None:
    first = await _enqueue(world, "test.echo", key="programme-1", name="first")
    with pytest.raises(JobAlreadyQueued) as refused:
        await _enqueue(world, "test.echo", key="programme-1", name="second")
    assert refused.value.status == 409
    assert refused.value.job_id == first.id
    assert str(first.id) in refused.value.detail
    assert await _job_count() == 1
    await _enqueue(world, "test.echo", key="programme-2", name="another key")
    assert await jobs.run_pending() == 2
    await _enqueue(world, "test.echo", key="programme-1", name="after the first finished")


async def test_concurrent_requests_cannot_squeeze_past_the_allowance(world: World) -> None:
    allowance = get_settings().jobs_max_per_school
    outcomes = await asyncio.gather(
        *(_enqueue(world, "test.echo", school=0, name=f"rush-{i}") for i in range(6)),
        return_exceptions=True,
    )
    made = [o for o in outcomes if isinstance(o, Job)]
    refused = [o for o in outcomes if isinstance(o, TooManyJobs)]
    assert (len(made), len(refused)) == (allowance, 6 - allowance), outcomes
    assert await _job_count() == allowance


async def _flood(world: World, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Job], Job]:
    """Trust A queues twenty jobs, then trust B one."""
    monkeypatch.setattr(get_settings(), "jobs_max_per_trust", 20)
    flood = [await _enqueue(world, "test.echo", trust=0, name=f"a-{i}") for i in range(20)]
    return flood, await _enqueue(world, "test.echo", trust=1, name="b")


async def test_another_trust_need_not_wait_behind_a_flood(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    flood, late = await _flood(world, monkeypatch)
    first, second = await jobs.claim("worker-1"), await jobs.claim("worker-2")
    assert first is not None
    assert second is not None
    assert first.id == flood[0].id  # oldest first while neither trust has anything running
    assert second.id == late.id


async def test_one_worker_serves_trusts_in_turn(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _flood(world, monkeypatch)
    RAN.clear()
    assert await jobs.run_pending("the only worker") == 21
    assert RAN[:3] == ["a-0", "b", "a-1"]
    assert RAN[3:] == [f"a-{i}" for i in range(2, 20)]


async def test_workers_claiming_at_once_never_take_the_same_job(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "jobs_max_per_trust", 20)
    made = [await _enqueue(world, "test.echo", trust=i % 2, name=f"job-{i}") for i in range(24)]

    async def claim_all(worker: str) -> list[UUID]:
        taken = []
        while (job := await jobs.claim(worker, attempts=50)) is not None:
            taken.append(job.id)
        return taken

    claimed = await asyncio.gather(*(claim_all(f"worker-{w}") for w in range(4)))
    every = [job_id for taken in claimed for job_id in taken]
    assert sorted(every) == sorted(job.id for job in made)  # each once, none twice
