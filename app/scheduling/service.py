"""Schedule runs: asked for through the API, solved in a worker, their visits written back as
`proposed` for the school to inspect; publishing the programme confirms them. A published
programme can be re-run: its new and moved visits are `scheduled` at once, and each move of a
visit a family already holds is recorded in the visit's history."""

import asyncio
import contextlib
import uuid
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, jobs
from app.core.db import open_session
from app.core.jobs import Job, JobAlreadyQueued, JobContext, JobStatus
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import utcnow
from app.programmes.exceptions import ScheduleIncomplete, ScheduleMissing
from app.programmes.households import family_labels
from app.programmes.models import ProgrammeStatus, VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.programmes.transitions import TransitionContext
from app.scheduling import instance
from app.scheduling.capacity import class_capacities
from app.scheduling.exceptions import NotScheduling, RunUnderWay
from app.scheduling.models import ScheduleRun
from app.scheduling.repository import ScheduleRunRepository, SchedulingRepository
from app.scheduling.schemas import HouseholdReason, RootCause, ScheduleRunCreate, ScheduleRunRead
from app.scheduling.solver import problem, validator
from app.visits.models import VisitLocation, VisitRole, VisitStatus
from app.visits.repository import RunVisitRepository

if TYPE_CHECKING:
    from app.scheduling.solver import solve as solver

JOB_KIND = "scheduling.run"
PROGRESS_SCALE = 1000  # the job records progress in thousandths of the solver's work
PROGRESS_WRITE_SECONDS = 5.0
# Plans change after publishing: a published programme is re-run too (locked visits stay).
PLANNABLE = frozenset({ProgrammeStatus.SCHEDULING, ProgrammeStatus.PUBLISHED})


async def start_run(
    session: AsyncSession, who: Principal, programme_id: UUID, body: ScheduleRunCreate
) -> ScheduleRunRead:
    # Locked, as manual changes lock it: a run starts either before a change (which is then
    # refused) or after it (and solves with it), and two runs never start at once.
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_MANAGE, for_update=True
    )
    if programme.status not in PLANNABLE:
        raise NotScheduling(
            "Schedules are made while a programme is scheduling, and remade once published; "
            f"this one is {programme.status}."
        )
    runs = ScheduleRunRepository(session, who)
    try:
        job = await jobs.enqueue(
            session,
            JOB_KIND,
            {},
            trust_id=programme.trust_id,
            school_id=programme.school_id,
            exclusive_key=f"{JOB_KIND}:{programme.id}",  # one run of a programme at a time
        )
    except JobAlreadyQueued as taken:
        raise await _under_way(runs, taken.job_id) from None
    run = ScheduleRun(
        trust_id=programme.trust_id,
        school_id=programme.school_id,
        programme_id=programme.id,
        job_id=job.id,
        requested_by=who.id,
        seed=body.seed,
        time_limit_seconds=body.time_limit_seconds,
    )
    session.add(run)
    await session.flush()
    job.payload = {"run_id": str(run.id)}
    await audit.record(
        session,
        who,
        "schedule.run",
        subject_type="visit_programme",
        subject_id=programme.id,
        school_id=programme.school_id,
    )
    return describe(run, job)


async def _under_way(runs: ScheduleRunRepository, job_id: UUID) -> RunUnderWay:
    run = await runs.of_job(job_id)
    status = (await runs.job_of(run)).status
    return RunUnderWay(
        f"Schedule run {run.id} for this programme is still {status}; wait for it to finish "
        "before starting another.",
        extra={"run_id": str(run.id)},
    )


async def get_run(session: AsyncSession, who: Principal, run_id: UUID) -> ScheduleRunRead:
    runs = ScheduleRunRepository(session, who)
    run = await runs.get_permitted(run_id, Permission.PROGRAMMES_READ)
    return describe(run, await runs.job_of(run))


async def list_runs(
    session: AsyncSession, who: Principal, programme_id: UUID, page: PageParams
) -> tuple[list[ScheduleRunRead], str | None]:
    """A programme's runs, the newest first."""
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_READ
    )
    runs = ScheduleRunRepository(session, who)
    rows, cursor = await paginate(
        session,
        runs.of_programme(programme.id),
        page,
        [
            SortKey(ScheduleRun.created_at, descending=True),
            SortKey(ScheduleRun.id, descending=True),
        ],
    )
    found = await runs.jobs_of(rows)
    return [describe(run, found[run.job_id]) for run in rows], cursor


def _progress(job: Job) -> float:
    if job.status is JobStatus.SUCCEEDED:
        return 1.0
    return round(job.progress_done / job.progress_total, 3) if job.progress_total else 0.0


def describe(run: ScheduleRun, job: Job) -> ScheduleRunRead:
    finished = job.finished_at
    elapsed = (
        run.wall_seconds
        if run.wall_seconds is not None
        else (((finished or utcnow()) - run.created_at).total_seconds())
    )
    return ScheduleRunRead(
        id=run.id,
        programme_id=run.programme_id,
        status=job.status,
        progress=_progress(job),
        error=job.error,
        seed=run.seed,
        time_limit_seconds=run.time_limit_seconds,
        created_at=run.created_at,
        finished_at=finished,
        elapsed_seconds=round(elapsed, 3),
        households=run.households,
        placed=run.placed,
        moved=run.moved,
        objective=run.objective,
        best_bound=run.best_bound,
        gap=run.gap,
        quality=quality(run.gap),
        unplaced_count=None if run.placed is None else (run.households or 0) - run.placed,
        unplaced_minimum=run.unplaced_minimum,
        unplaced_unavoidable=(
            None
            if run.placed is None or run.unplaced_minimum is None
            else run.unplaced_minimum >= (run.households or 0) - run.placed
        ),
        objective_parts=run.objective_parts,
        unplaced=[HouseholdReason.model_validate(u) for u in run.unplaced],
        root_causes=[RootCause.model_validate(c) for c in run.root_causes],
        unmet_preferences=[HouseholdReason.model_validate(u) for u in run.unmet_preferences],
    )


async def run_schedule(context: JobContext) -> dict[str, Any]:
    async with open_session(context.scope) as session:
        repository = SchedulingRepository(session)
        run = await repository.run(UUID(context.payload["run_id"]))
        assert run is not None, "the run is written with its job"
        programme = await repository.programme(run.programme_id)
        loaded = await instance.load(
            session, programme, seed=run.seed, time_limit_seconds=run.time_limit_seconds
        )
        await context.progress(0, PROGRESS_SCALE)
        # Imported here: OR-Tools (with numpy and pandas) is ~80 MB that API processes never use.
        from app.scheduling.solver import solve as solver

        # In a thread, so the worker's loop keeps its lease alive and records progress.
        schedule = await asyncio.to_thread(
            solver.solve, loaded.instance, _progress_reporter(context)
        )
        await _write(session, programme, run, loaded, schedule)
    await context.progress(PROGRESS_SCALE)
    return {"placed": len(schedule.visits), "unplaced": len(schedule.unplaced)}


def _progress_reporter(context: JobContext) -> "solver.Progress":
    """Progress from the solver's thread, written through the worker's event loop; a failed
    write only costs a progress figure, never the run."""
    loop = asyncio.get_running_loop()

    def report(share: float) -> None:
        done = min(PROGRESS_SCALE - 1, int(share * PROGRESS_SCALE))  # complete once written
        future = asyncio.run_coroutine_threadsafe(context.progress(done), loop)
        with contextlib.suppress(Exception):
            future.result(timeout=PROGRESS_WRITE_SECONDS)

    return report


async def _write(
    session: AsyncSession,
    programme: VisitProgramme,
    run: ScheduleRun,
    loaded: instance.Loaded,
    schedule: problem.Schedule,
) -> None:
    """The run's visits onto the programme's (see RunVisitRepository.giving_way). Locked
    visits stay; a family keeps its visit's id. A new visit is `proposed` while the programme is
    scheduling and `scheduled` at once on a published programme, whose families already hold
    their times; a visit a family was given stays `scheduled` when it moves, and the move is
    recorded in its history so the family can be told."""
    locked = {h.id for h in loaded.instance.households if h.locked is not None}
    repository = RunVisitRepository(session)
    old = await repository.giving_way(programme.id)
    visits: list[dict[str, Any]] = []
    adults: list[dict[str, Any]] = []
    pupils: list[dict[str, Any]] = []
    teachers = {t.class_id: set(t.teacher_ids) for t in loaded.instance.teams}
    classes = {h.id: h.classes for h in loaded.instance.households}
    for visit in schedule.visits:
        if visit.household_id in locked:
            continue
        row = _visit_row(programme, run, loaded, visit)
        kept = old.get(row["household_id"])
        if kept is not None:  # the family keeps its visit's identity
            row["id"] = kept.id
            if kept.status is VisitStatus.SCHEDULED:
                row["status"] = VisitStatus.SCHEDULED
        visits.append(row)
        visiting_teachers = set().union(
            *(teachers.get(c, set()) for c in classes[visit.household_id])
        )
        adults.extend(
            _child_row(row, staff_id=UUID(a), role=_role(a, visiting_teachers))
            for a in visit.adult_ids
        )
        pupils.extend(_child_row(row, pupil_id=p) for p in loaded.pupils[visit.household_id])
    await repository.replace_unlocked_visits(old, visits, adults, pupils, run.requested_by)
    _record_figures(run, loaded, schedule)


def _role(adult_id: str, teachers: set[str]) -> VisitRole:
    return VisitRole.TEACHER if adult_id in teachers else VisitRole.SECOND_ADULT


def _visit_row(
    programme: VisitProgramme, run: ScheduleRun, loaded: instance.Loaded, visit: problem.Visit
) -> dict[str, Any]:
    slot = loaded.slots[visit.slot_id]
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "trust_id": programme.trust_id,
        "school_id": programme.school_id,
        "programme_id": programme.id,
        "household_id": UUID(visit.household_id),
        "slot_id": slot.id,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "location": VisitLocation(visit.location_kind.value),
        # Plans change after publishing: a published programme's new visits are confirmed.
        "status": (
            VisitStatus.SCHEDULED
            if programme.status is ProgrammeStatus.PUBLISHED
            else VisitStatus.PROPOSED
        ),
        "locked": False,
        "travel_minutes_before": None,
        "run_id": run.id,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _child_row(visit: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "trust_id": visit["trust_id"],
        "school_id": visit["school_id"],
        "visit_id": visit["id"],
        **values,
    }


def _record_figures(run: ScheduleRun, loaded: instance.Loaded, schedule: problem.Schedule) -> None:
    stats = schedule.stats
    run.households = len(loaded.instance.households)
    run.placed = len(schedule.visits)
    run.moved = stats.moved
    # The figures of the placed families' schedule: each unplaced family's 100,000 points sit in
    # the objective and, when the bound cannot prove them unavoidable, not in the bound, which
    # made a schedule missing families look within a fraction of a percent of the best.
    penalty = loaded.instance.weights.unplaced * len(schedule.unplaced)
    objective = max(0, (stats.objective or 0) - penalty)
    bound = min(objective, max(0, (stats.best_bound or 0) - penalty))
    run.objective, run.best_bound = objective, bound
    run.gap = round((objective - bound) / objective, 4) if objective else 0.0
    run.unplaced_minimum = stats.unplaced_minimum
    run.wall_seconds = stats.wall_seconds
    parts = validator.objective_parts(loaded.instance, schedule)
    run.objective_parts = {**asdict(parts), "status": stats.status, "notes": stats.notes}
    run.root_causes = root_causes(loaded.instance)
    run.unplaced = [{"household_id": h, "reason": r} for h, r in sorted(schedule.unplaced.items())]
    run.unmet_preferences = [
        {"household_id": h, "reason": r} for h, r in sorted(schedule.unmet_preferences.items())
    ]


def quality(gap: float | None) -> str | None:
    if gap is None:
        return None
    if gap == 0:
        return "proven optimal: no schedule placing as many families scores better"
    return f"within {gap:.1%} of the best possible (a proven bound, not a measured distance)"


def root_causes(loaded: problem.Instance) -> list[dict[str, Any]]:
    """Each class with more families than its adults can visit: stated once, above the
    per-family reasons that follow from it."""
    return [
        {
            "kind": "class-over-capacity",
            "class_id": c.class_id,
            "families": c.families,
            "visits_possible": c.possible,
            "detail": f"{c.class_name}: {c.detail}",
        }
        for c in class_capacities(loaded)
        if c.over
    ]


async def refuse_reopening_mid_run(
    session: AsyncSession, programme: VisitProgramme, context: TransitionContext
) -> None:
    """A run writes visits as the status it started under; reopening waits for it."""
    if await ScheduleRunRepository.any_under_way(session, programme.id):
        raise RunUnderWay("A schedule run is still going; reopen once it has finished.")


async def publish_schedule(
    session: AsyncSession, programme: VisitProgramme, context: TransitionContext
) -> None:
    """Publishing needs a schedule that reaches every family the programme visits, or SLT's
    acknowledgement of each one left without a visit; it then confirms every proposed visit
    (they become `scheduled`). Raises RunUnderWay, ScheduleMissing, ScheduleIncomplete (409)."""
    if await ScheduleRunRepository.any_under_way(session, programme.id):
        raise RunUnderWay("A schedule run is still going; publish once it has finished.")
    repository = SchedulingRepository(session)
    visits = await repository.visits_of(programme.id)
    if not visits and not await repository.has_succeeded_run(programme.id):
        raise ScheduleMissing(
            "There is no schedule to publish yet: run the scheduler (POST …/schedule-runs) and "
            "publish once its run has succeeded."
        )
    placeable = await _placeable(session, programme)
    missing = placeable - {v.household_id for v in visits} - context.acknowledged_unplaced
    if missing:
        await _refuse_incomplete(session, context, programme, missing)
    await RunVisitRepository(session).confirm_proposals(programme.id)


async def _placeable(session: AsyncSession, programme: VisitProgramme) -> set[UUID]:
    """Families the programme visits: in scope now, not exempt, not declined."""
    loaded = await instance.load(session, programme, seed=1, time_limit_seconds=1)
    return {UUID(h.id) for h in loaded.instance.households}


async def _refuse_incomplete(
    session: AsyncSession,
    context: TransitionContext,
    programme: VisitProgramme,
    missing: set[UUID],
) -> None:
    labels = await family_labels(session, context.who, programme, missing)
    reasons = await _latest_reasons(session, programme.id)
    ordered = sorted(missing, key=lambda h: (labels[h].name, labels[h].reference or "", h))
    shown = ", ".join(str(labels[h]) for h in ordered[:10])
    more = f" and {len(ordered) - 10} more" if len(ordered) > 10 else ""
    raise ScheduleIncomplete(
        f"Not published: {len(ordered)} {'family has' if len(ordered) == 1 else 'families have'} "
        f"no visit: {shown}{more}. Run the scheduler again, move visits by hand, exempt them, or "
        "acknowledge each one in acknowledged_unplaced to publish without them.",
        extra={
            "unplaced": [
                {
                    "household_id": str(h),
                    "family_name": labels[h].name,
                    "reference": labels[h].reference,
                    "reason": reasons.get(h),
                }
                for h in ordered
            ]
        },
    )


async def _latest_reasons(session: AsyncSession, programme_id: UUID) -> dict[UUID, str]:
    run = await SchedulingRepository(session).latest_succeeded_run(programme_id)
    if run is None:
        return {}
    return {UUID(u["household_id"]): u["reason"] for u in run.unplaced}


__all__ = ["JOB_KIND", "get_run", "run_schedule", "start_run"]
