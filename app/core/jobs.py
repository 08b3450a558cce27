"""Background work: a job table that any number of workers, on any number of machines, share.

A worker claims one job at a time with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite serialises
writers, so the same UPDATE is atomic there too) and holds a lease on it. A worker that dies
mid-job leaves the lease to expire, and another worker takes the job up again: handlers must be
safe to run twice (they write in one transaction at the end, or are idempotent).

Handlers register by kind with `@handler("roster.import")`; the payload is JSON. A job belongs to a
trust (and often a school), and its handler's session is scoped to exactly those.
"""

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Index, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, col, select, update

from app.core.db import open_session
from app.core.logs import failure
from app.core.models import Identified, Timestamped, TrustScoped
from app.core.tenancy import Scope, system_scope
from app.core.types import UTCDateTime, enum_type, utcnow

log = logging.getLogger("threshold.jobs")

LEASE = timedelta(minutes=5)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Job(Identified, Timestamped, TrustScoped, table=True):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_claimable", "status", "run_after"),)

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
            await session.execute(update(Job).where(col(Job.id) == self.job_id).values(**values))


Handler = Callable[[JobContext], Awaitable[dict[str, Any]]]
_HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    trust_id: UUID,
    school_id: UUID | None = None,
    total: int | None = None,
) -> Job:
    """Add a job in the caller's transaction: it exists only if the request that asked commits."""
    job = Job(
        kind=kind, payload=payload, trust_id=trust_id, school_id=school_id, progress_total=total
    )
    session.add(job)
    return job


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _runnable(now: datetime) -> Any:
    return or_(
        (col(Job.status) == JobStatus.QUEUED) & (col(Job.run_after) <= now),
        (col(Job.status) == JobStatus.RUNNING) & (col(Job.locked_until) < now),
    )


async def claim(worker: str, *, attempts: int = 5) -> Job | None:
    """Take the oldest runnable job (queued, or running with an expired lease), or None.

    On PostgreSQL, SKIP LOCKED keeps workers off each other's candidates; the UPDATE repeats
    the condition, so on SQLite (no row locks) a worker that loses a race sees no row changed
    and looks again.
    """
    for _ in range(attempts):
        now = utcnow()
        async with open_session(system_scope("claim a job")) as session:
            candidate = (
                select(Job.id)  # tenancy: system scope (the worker claims across trusts)
                .where(_runnable(now))
                .order_by(col(Job.run_after))
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            job_id = (await session.execute(candidate)).scalar_one_or_none()
            if job_id is None:
                return None
            taken = await session.execute(
                update(Job)
                .where(col(Job.id) == job_id, _runnable(now))
                .values(
                    status=JobStatus.RUNNING,
                    locked_by=worker,
                    locked_until=now + LEASE,
                    attempts=col(Job.attempts) + 1,
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
