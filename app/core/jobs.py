"""Background work: a job table that any number of workers, on any number of machines, share.

A worker claims one job at a time with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite serialises
writers, so the same UPDATE is atomic there too) and holds a lease on it. A worker that dies
mid-job leaves the lease to expire, and another worker takes the job up again: handlers must be
safe to run twice (they write in one transaction at the end, or are idempotent).

The workers are shared by every trust, so no school or trust may fill the queue for the others:
`enqueue` refuses a school's or a trust's job beyond its allowance of queued-or-running jobs
(429), and a job whose `exclusive_key` is already queued or running (409). `claim` serves trusts
in turn rather than first come, first served: see `_fairest`.

Each kind of job has one handler, registered with `register_handler` by app/registry.py (the one
place every area's handlers are named, for the API and the worker alike); the payload is JSON. A
job belongs to a trust (and often a school), and its handler's session is scoped to exactly those.
"""

import asyncio
import contextlib
import logging
import os
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Index, Row, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import Field, col, select, update

from app.core.db import open_session
from app.core.errors import Conflict, ThresholdError, TooManyRequests
from app.core.logs import failure
from app.core.models import Identified, Timestamped, TrustScoped
from app.core.settings import get_settings
from app.core.tenancy import Scope, system_scope
from app.core.types import UTCDateTime, enum_type, utcnow

log = logging.getLogger("threshold.jobs")

LEASE = timedelta(minutes=5)
# Jobs take seconds to minutes; a client told to come back after this asks a few times at most.
QUOTA_RETRY_SECONDS = 30


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


UNDER_WAY = (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(Identified, Timestamped, TrustScoped, table=True):
    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_claimable", "status", "run_after"),
        Index("ix_job_trust_open", "trust_id", "status"),  # quotas; jobs running per trust
        Index("ix_job_trust_claimed", "trust_id", "claimed_at"),  # the trust served last
    )

    kind: str = Field(max_length=64)
    school_id: UUID | None = Field(default=None, foreign_key="school.id")
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: JobStatus = Field(default=JobStatus.QUEUED, sa_type=enum_type(JobStatus, 10))
    attempts: int = 0
    max_attempts: int = 3
    run_after: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_by: str | None = Field(default=None, max_length=100)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    progress_done: int = 0
    progress_total: int | None = None
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    error: str | None = Field(default=None, max_length=2000)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Jobs sharing a key never wait or run side by side (one schedule run per programme).
    exclusive_key: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TooManyJobs(TooManyRequests):
    type, title = "too-many-jobs", "Too many background jobs queued"


class JobAlreadyQueued(Conflict):
    type, title = "job-already-queued", "The same work is already queued or running"

    def __init__(self, detail: str, *, job_id: UUID) -> None:
        super().__init__(detail, extra={"job_id": str(job_id)})
        self.job_id = job_id


class JobFailed(Exception):
    """A handler's verdict that retrying cannot help; its message is shown to the user, and its
    result (details such as rejected rows) is kept on the job."""

    def __init__(self, message: str, *, result: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class JobContext:
    job_id: UUID
    trust_id: UUID
    school_id: UUID | None
    payload: dict[str, Any]

    @property
    def scope(self) -> Scope:
        """The tenancy the job works in: its trust, narrowed to its school when it has one."""
        schools = frozenset({self.school_id}) if self.school_id else None
        return Scope(trust_id=self.trust_id, school_ids=schools)

    async def progress(self, done: int, total: int | None = None) -> None:
        """Record progress in its own transaction, so readers see it while the job runs."""
        values: dict[str, Any] = {"progress_done": done}
        if total is not None:
            values["progress_total"] = total
        async with open_session(system_scope("job progress")) as session:
            # tenancy: system scope, the job's own row by id
            await session.execute(update(Job).where(col(Job.id) == self.job_id).values(**values))


Handler = Callable[[JobContext], Awaitable[dict[str, Any]]]
_HANDLERS: dict[str, Handler] = {}


def register_handler(kind: str, run: Handler) -> None:
    """Name the handler of one kind of job. Registering the same one again changes nothing; a
    second handler for a kind is a wiring mistake, refused rather than silently replacing."""
    if _HANDLERS.setdefault(kind, run) is not run:
        raise ValueError(f"jobs of kind {kind} already have a handler")


def handlers() -> dict[str, Handler]:
    """The registered handlers by kind (a copy)."""
    return dict(_HANDLERS)


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    trust_id: UUID,
    school_id: UUID | None = None,
    total: int | None = None,
    exclusive_key: str | None = None,
) -> Job:
    """Add a job in the caller's transaction: it exists only if the request that asked commits.

    Refused, adding nothing, with `JobAlreadyQueued` (409) while a job of the trust with the same
    `exclusive_key` is queued or running, and with `TooManyJobs` (429) when the school or the
    trust already has its allowance of queued-or-running jobs (THRESHOLD_JOBS_MAX_PER_SCHOOL,
    THRESHOLD_JOBS_MAX_PER_TRUST).
    """
    job = Job(
        kind=kind,
        payload=payload,
        trust_id=trust_id,
        school_id=school_id,
        progress_total=total,
        exclusive_key=exclusive_key,
    )
    session.add(job)
    # Written before it is counted: on SQLite the write takes the database's one write lock, so
    # a concurrent enqueue counts only after this transaction has ended. And on PostgreSQL the
    # insert's foreign-key locks (school, trust) come before the trust's lock, in the order
    # every enqueuing request takes them, so two of them cannot deadlock.
    await session.flush()
    await _lock_trust(session, trust_id)
    refusal = _refusal(job, await _others_under_way(session, job))
    if refusal is not None:
        await session.delete(job)
        await session.flush()
        raise refusal
    return job


async def _lock_trust(session: AsyncSession, trust_id: UUID) -> None:
    """Serialise the trust's enqueues until the transaction ends, so two requests at once
    cannot both take the last place. Without it each would count only the other's committed
    jobs, not the one being written beside it."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: the write lock taken by the flush already serialises
    key = func.hashtextextended(f"threshold.jobs:{trust_id}", 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


async def _others_under_way(session: AsyncSession, job: Job) -> Sequence[Row[Any]]:
    rows = await session.execute(
        select(Job.id, Job.kind, Job.school_id, Job.exclusive_key)  # tenancy: the job's trust
        .where(
            col(Job.trust_id) == job.trust_id,
            col(Job.status).in_(UNDER_WAY),
            col(Job.id) != job.id,
        )
        .order_by(col(Job.created_at))
    )
    return rows.all()


def _refusal(job: Job, others: Sequence[Row[Any]]) -> ThresholdError | None:
    if job.exclusive_key is not None:
        for other in others:
            if other.exclusive_key == job.exclusive_key:
                return JobAlreadyQueued(
                    f"Job {other.id} ({other.kind}) is already queued or running for the same "
                    "thing; wait for it to finish.",
                    job_id=other.id,
                )
    settings = get_settings()
    if job.school_id is not None:
        at_school = [other for other in others if other.school_id == job.school_id]
        if len(at_school) >= settings.jobs_max_per_school:
            return _too_many("The school", at_school, settings.jobs_max_per_school)
    if len(others) >= settings.jobs_max_per_trust:
        return _too_many("The trust", others, settings.jobs_max_per_trust)
    return None


def _too_many(holder: str, under_way: Sequence[Row[Any]], limit: int) -> TooManyJobs:
    kinds = dict(sorted(Counter(str(row.kind) for row in under_way).items()))
    listed = ", ".join(f"{count} {kind}" for kind, count in kinds.items())
    return TooManyJobs(
        f"{holder} already has {len(under_way)} background jobs queued or running ({listed}), "
        f"and at most {limit} may be at once; try again when one of them has finished.",
        retry_after=QUOTA_RETRY_SECONDS,
        extra={"limit": limit, "under_way": kinds},
    )


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _runnable(now: datetime, job: Any = Job) -> Any:
    return or_(
        (job.status == JobStatus.QUEUED) & (job.run_after <= now),
        (job.status == JobStatus.RUNNING) & (job.locked_until < now),
    )


def _fairest(now: datetime) -> Any:
    """The runnable job to take next: trust by trust, not first come, first served.

    The trust with the fewest jobs running goes first, then the one served longest ago (one
    never served before all), then the one whose runnable job is oldest; within the trust, its
    oldest job. So when one trust has queued twenty jobs, another trust's job is taken next but
    one, even by a single worker that finishes each job before it claims the next.
    """
    trusts = _trusts_waiting(now)
    return (
        select(Job.id)  # tenancy: system scope (the worker claims across trusts)
        .join(trusts, trusts.c.trust_id == col(Job.trust_id))
        .where(_runnable(now))
        .order_by(
            trusts.c.running,
            trusts.c.served.nulls_first(),
            trusts.c.oldest,
            col(Job.run_after),
        )
        .limit(1)
        .with_for_update(skip_locked=True, of=Job)
    )


def _trusts_waiting(now: datetime) -> Any:
    """Each trust with a runnable job: its jobs running (live leases), its last claim, and
    its oldest runnable job."""
    other = aliased(Job)
    running = (
        select(func.count())  # tenancy: system scope (the worker claims across trusts)
        .select_from(other)
        .where(
            other.trust_id == Job.trust_id,
            other.status == JobStatus.RUNNING,
            col(other.locked_until) >= now,
        )
        .scalar_subquery()
    )
    # tenancy: system scope (the worker claims across trusts)
    served = select(func.max(other.claimed_at)).where(other.trust_id == Job.trust_id)
    return (
        select(  # tenancy: system scope (the worker claims across trusts)
            Job.trust_id,
            running.label("running"),
            served.scalar_subquery().label("served"),
            func.min(Job.run_after).label("oldest"),
        )
        .where(_runnable(now))
        .group_by(col(Job.trust_id))
        .subquery("trusts")
    )


async def claim(worker: str, *, attempts: int = 5) -> Job | None:
    """Take the fairest runnable job (queued, or running with an expired lease), or None.

    On PostgreSQL, SKIP LOCKED keeps workers off each other's candidates; the UPDATE repeats
    the condition, so on SQLite (no row locks) a worker that loses a race sees no row changed
    and looks again.
    """
    for _ in range(attempts):
        now = utcnow()
        async with open_session(system_scope("claim a job")) as session:
            job_id = (await session.execute(_fairest(now))).scalar_one_or_none()
            if job_id is None:
                return None
            taken = await session.execute(
                update(Job)  # tenancy: system scope, the job just chosen, by id
                .where(col(Job.id) == job_id, _runnable(now))
                .values(
                    status=JobStatus.RUNNING,
                    locked_by=worker,
                    locked_until=now + LEASE,
                    attempts=col(Job.attempts) + 1,
                    claimed_at=now,
                )
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue
            # tenancy: system scope (the worker claims across trusts)
            job = await session.get(Job, job_id)
            assert job is not None
            return job
    return None


async def run_one(worker: str) -> bool:
    """Claim and run one job; False when there was nothing to do."""
    job = await claim(worker)
    if job is None:
        return False
    context = JobContext(job.id, job.trust_id, job.school_id, job.payload)
    run = _HANDLERS.get(job.kind)
    try:
        if run is None:
            raise JobFailed(f"no handler for jobs of kind {job.kind}")
        result = await run(context)
    except JobFailed as refusal:
        await _finish(job.id, JobStatus.FAILED, error=str(refusal)[:2000], result=refusal.result)
    except Exception as exc:
        log.error("job failed", extra={"job_id": str(job.id), "kind": job.kind, **failure(exc)})
        retry = job.attempts < job.max_attempts
        await _finish(
            job.id,
            JobStatus.QUEUED if retry else JobStatus.FAILED,
            error="The job failed unexpectedly." + (" It will be retried." if retry else ""),
            run_after=utcnow() + timedelta(seconds=10 * job.attempts),
        )
    else:
        await _finish(job.id, JobStatus.SUCCEEDED, result=result)
    return True


async def _finish(
    job_id: UUID,
    status: JobStatus,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    run_after: datetime | None = None,
) -> None:
    values: dict[str, Any] = {
        "status": status,
        "locked_by": None,
        "locked_until": None,
        "result": result,
        "error": error,
    }
    if status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        values["finished_at"] = utcnow()
    if run_after is not None:
        values["run_after"] = run_after
    async with open_session(system_scope("finish a job")) as session:
        # tenancy: system scope, the job's own row by id
        await session.execute(update(Job).where(col(Job.id) == job_id).values(**values))


async def run_pending(worker: str | None = None) -> int:
    """Run jobs until none is runnable; returns how many ran (tests and the embedded default)."""
    name = worker or worker_name()
    ran = 0
    while await run_one(name):
        ran += 1
    return ran


async def work_forever(stop: asyncio.Event, *, idle_seconds: float = 1.0) -> None:
    name = worker_name()
    log.info("worker started", extra={"worker": name})
    failing = False
    while not stop.is_set():
        try:
            busy = await run_one(name)
            failing = False
        except Exception as exc:
            # The database may be restarting: wait and try again rather than die, and say so
            # once per outage rather than every second.
            if not failing:
                log.error("worker could not claim a job; retrying", extra=failure(exc))
            failing, busy = True, False
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=idle_seconds)
