"""Reads for building a schedule instance and writes of its visits. Runs inside a job whose
session is scoped to the programme's trust and school."""

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, select

from app.core.bulk import insert_rows
from app.core.jobs import Job, JobStatus
from app.core.repository import ScopedRepository
from app.core.types import utcnow
from app.programmes.models import SecondAdult, TeamMember, TeamRole, VisitProgramme
from app.programmes.repository import classes_in_scope
from app.roster.models import ClassStaff, ClassStaffRole, Household, SchoolClass
from app.scheduling.models import ScheduleRun
from app.staff.models import StaffMember, StaffUnavailability
from app.trusts.models import School
from app.visits.models import Visit, VisitAdult, VisitChange, VisitPupil, VisitStatus


@dataclass(frozen=True)
class StaffRow:
    id: UUID
    name: str
    trained_on: date | None
    active: bool


class ScheduleRunRepository(ScopedRepository[ScheduleRun]):
    model, label = ScheduleRun, "schedule run"

    async def job_of(self, run: ScheduleRun) -> Job:
        job = await self.session.scalar(select(Job).where(col(Job.id) == run.job_id))
        assert job is not None, "a run is written with its job"
        return job

    async def of_job(self, job_id: UUID) -> ScheduleRun:
        found = await self.session.scalar(
            self.base_statement().where(col(ScheduleRun.job_id) == job_id)
        )
        assert found is not None, "a schedule run's job belongs to the run"
        return found  # type: ignore[no-any-return]

    def of_programme(self, programme_id: UUID) -> Select[Any]:
        return self.base_statement().where(col(ScheduleRun.programme_id) == programme_id)

    async def jobs_of(self, runs: list[ScheduleRun]) -> dict[UUID, Job]:
        found = await self.session.scalars(
            select(Job).where(col(Job.id).in_([run.job_id for run in runs]))
        )
        return {job.id: job for job in found}

    @staticmethod
    async def any_under_way(session: AsyncSession, programme_id: UUID) -> bool:
        found = await session.scalar(
            select(ScheduleRun.id)
            .join(Job, col(Job.id) == col(ScheduleRun.job_id))
            .where(
                col(ScheduleRun.programme_id) == programme_id,
                col(Job.status).in_([JobStatus.QUEUED, JobStatus.RUNNING]),
            )
            .limit(1)
        )
        return found is not None


class SchedulingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def run(self, run_id: UUID) -> ScheduleRun | None:
        return await self.session.scalar(select(ScheduleRun).where(col(ScheduleRun.id) == run_id))

    def _succeeded(self, programme_id: UUID) -> Any:
        return (
            select(ScheduleRun)
            .join(Job, col(Job.id) == col(ScheduleRun.job_id))
            .where(
                col(ScheduleRun.programme_id) == programme_id,
                col(Job.status) == JobStatus.SUCCEEDED,
            )
        )

    async def has_succeeded_run(self, programme_id: UUID) -> bool:
        return await self.latest_succeeded_run(programme_id) is not None

    async def latest_succeeded_run(self, programme_id: UUID) -> ScheduleRun | None:
        statement = self._succeeded(programme_id).order_by(
            col(ScheduleRun.created_at).desc(), col(ScheduleRun.id).desc()
        )
        found: ScheduleRun | None = await self.session.scalar(statement.limit(1))
        return found

    async def programme(self, programme_id: UUID) -> VisitProgramme:
        found = await self.session.scalar(
            select(VisitProgramme).where(col(VisitProgramme.id) == programme_id)
        )
        assert found is not None, "a run's programme exists (runs are deleted with it)"
        return found

    async def visits_of(self, programme_id: UUID) -> list[Visit]:
        rows = await self.session.scalars(
            select(Visit).where(
                col(Visit.programme_id) == programme_id,
                col(Visit.status).in_([VisitStatus.PROPOSED, VisitStatus.SCHEDULED]),
            )
        )
        return list(rows)

    async def visit_adults(self, visit_ids: list[UUID]) -> dict[UUID, list[str]]:
        found: dict[UUID, list[str]] = defaultdict(list)
        if not visit_ids:
            return found
        rows = await self.session.execute(
            select(VisitAdult.visit_id, VisitAdult.staff_id)
            .where(col(VisitAdult.visit_id).in_(visit_ids))
            .order_by(col(VisitAdult.role), col(VisitAdult.staff_id))
        )
        for visit_id, staff_id in rows.all():
            found[visit_id].append(str(staff_id))
        return found

    async def households(self, ids: Collection[UUID]) -> dict[UUID, Household]:
        rows = await self.session.scalars(select(Household).where(col(Household.id).in_(ids)))
        return {h.id: h for h in rows}

    async def school(self, school_id: UUID) -> School:
        found = await self.session.scalar(select(School).where(col(School.id) == school_id))
        assert found is not None, "a programme's school exists"
        return found

    async def classes_in_scope(self, programme: VisitProgramme) -> list[tuple[UUID, str]]:
        rows = await self.session.scalars(
            classes_in_scope(programme).order_by(col(SchoolClass.name), col(SchoolClass.id))
        )
        return [(c.id, c.name) for c in rows]

    async def teams(self, programme_id: UUID) -> dict[UUID, tuple[list[UUID], UUID | None]]:
        """Class -> (teachers, default second adult) as SLT set them."""
        teachers: dict[UUID, list[UUID]] = defaultdict(list)
        seconds: dict[UUID, UUID] = {}
        rows = await self.session.scalars(
            select(TeamMember).where(col(TeamMember.programme_id) == programme_id)
        )
        for member in rows:
            if member.role is TeamRole.TEACHER:
                teachers[member.class_id].append(member.staff_id)
            else:
                seconds[member.class_id] = member.staff_id
        return {c: (sorted(teachers.get(c, [])), seconds.get(c)) for c in {*teachers, *seconds}}

    async def class_teachers(self, programme: VisitProgramme) -> dict[UUID, list[UUID]]:
        rows = await self.session.execute(
            select(ClassStaff.class_id, ClassStaff.staff_id).where(
                col(ClassStaff.school_id) == programme.school_id,
                col(ClassStaff.role) == ClassStaffRole.TEACHER,
            )
        )
        found: dict[UUID, list[UUID]] = defaultdict(list)
        for class_id, staff_id in rows.all():
            found[class_id].append(staff_id)
        return found

    async def second_adult_pool(self, programme_id: UUID) -> list[UUID]:
        rows = await self.session.scalars(
            select(SecondAdult.staff_id)
            .where(col(SecondAdult.programme_id) == programme_id)
            .order_by(col(SecondAdult.staff_id))
        )
        return list(rows)

    async def staff(self, ids: set[str]) -> list[StaffRow]:
        rows = await self.session.scalars(
            select(StaffMember).where(col(StaffMember.id).in_([UUID(i) for i in ids]))
        )
        return sorted(
            (
                StaffRow(s.id, s.full_name, s.visit_training_completed_date, s.is_active)
                for s in rows
            ),
            key=lambda s: str(s.id),
        )

    async def unavailability(self, ids: set[str]) -> dict[UUID, list[tuple[datetime, datetime]]]:
        rows = await self.session.scalars(
            select(StaffUnavailability).where(
                col(StaffUnavailability.staff_id).in_([UUID(i) for i in ids])
            )
        )
        found: dict[UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
        for period in rows:
            found[period.staff_id].append((period.starts_at, period.ends_at))
        return found

    async def giving_way(self, programme_id: UUID) -> dict[UUID, Visit]:
        """The programme's unlocked visits a run may change, by household: proposals, and, once
        the programme has been published, visits the families were given (and any a run
        cancelled, which it may bring back)."""
        rows = await self.session.scalars(
            select(Visit).where(
                col(Visit.programme_id) == programme_id,
                col(Visit.locked).is_(False),
                col(Visit.status).in_(GIVING_WAY),
            )
        )
        return {visit.household_id: visit for visit in rows}

    async def replace_unlocked_visits(
        self,
        old: dict[UUID, Visit],
        visits: list[dict[str, Any]],
        adults: list[dict[str, Any]],
        pupils: list[dict[str, Any]],
        changed_by: UUID | None,
    ) -> None:
        """The run's visits take the place of `old` (see `giving_way`). A family whose visit
        survives keeps its visit's id, so a client holding it (a staff app, a sent confirmation)
        follows the change; its version moves only if the visit did, and a move is recorded in
        its history. Proposals for families the run did not place go; a visit a family was given
        is cancelled instead, and that is recorded too, so the family can be told."""
        by_id = {visit.id: visit for visit in old.values()}
        before = await self._children_of(list(by_id))
        after = _children(adults, pupils)
        fresh = [row for row in visits if row["id"] not in by_id]
        changed = [row for row in visits if _differs(by_id.get(row["id"]), row, before, after)]
        left = by_id.keys() - {row["id"] for row in visits}
        gone = [i for i in left if by_id[i].status is VisitStatus.PROPOSED]
        for visit_id in left:
            if by_id[visit_id].status is VisitStatus.SCHEDULED:
                self._cancel(by_id[visit_id], changed_by)
        rewritten = [row["id"] for row in changed] + gone
        for child in (VisitAdult, VisitPupil):
            await self.session.execute(delete(child).where(col(child.visit_id).in_(rewritten)))
        await self.session.execute(delete(VisitChange).where(col(VisitChange.visit_id).in_(gone)))
        await self.session.execute(delete(Visit).where(col(Visit.id).in_(gone)))
        for row in changed:
            self._update(by_id[row["id"]], row, changed_by)
        await insert_rows(self.session, Visit.__table__, fresh)  # type: ignore[attr-defined]
        written = {row["id"] for row in fresh} | {row["id"] for row in changed}
        for table, rows in ((VisitAdult, adults), (VisitPupil, pupils)):
            mine = [r for r in rows if r["visit_id"] in written]
            await insert_rows(self.session, table.__table__, mine)  # type: ignore[union-attr]

    async def _children_of(self, visit_ids: list[UUID]) -> dict[UUID, tuple[frozenset[Any], ...]]:
        adults = await self.session.execute(
            select(VisitAdult.visit_id, VisitAdult.staff_id, VisitAdult.role).where(
                col(VisitAdult.visit_id).in_(visit_ids)
            )
        )
        pupils = await self.session.execute(
            select(VisitPupil.visit_id, VisitPupil.pupil_id).where(
                col(VisitPupil.visit_id).in_(visit_ids)
            )
        )
        return _children(
            [{"visit_id": v, "staff_id": s, "role": r} for v, s, r in adults.all()],
            [{"visit_id": v, "pupil_id": p} for v, p in pupils.all()],
        )

    def _update(self, visit: Visit, row: dict[str, Any], changed_by: UUID | None) -> None:
        if visit.starts_at != row["starts_at"] or visit.status is VisitStatus.CANCELLED:
            self._record(
                visit, changed_by, "rescheduled", row["starts_at"], "Moved by a schedule run"
            )
        for name in ("slot_id", "starts_at", "ends_at", "location", "status", "run_id"):
            setattr(visit, name, row[name])
        visit.updated_at = row["updated_at"]

    def _cancel(self, visit: Visit, changed_by: UUID | None) -> None:
        self._record(visit, changed_by, "cancelled", None, "Not placed by a schedule run")
        visit.status = VisitStatus.CANCELLED
        visit.updated_at = utcnow()

    def _record(
        self, visit: Visit, changed_by: UUID | None, kind: str, to: datetime | None, note: str
    ) -> None:
        self.session.add(
            VisitChange(
                trust_id=visit.trust_id,
                school_id=visit.school_id,
                visit_id=visit.id,
                changed_by=changed_by,
                kind=kind,
                from_starts_at=visit.starts_at,
                to_starts_at=to,
                note=note,
            )
        )


# Visits a run may change: proposals, visits given to families (a published programme's), and
# visits a run cancelled, which a later run may bring back. Locked visits never.
GIVING_WAY = (VisitStatus.PROPOSED, VisitStatus.SCHEDULED, VisitStatus.CANCELLED)


def _children(
    adults: list[dict[str, Any]], pupils: list[dict[str, Any]]
) -> dict[UUID, tuple[frozenset[Any], ...]]:
    """Each visit's adults (with their roles) and children, for comparing a run with before."""
    found: dict[UUID, tuple[set[Any], set[Any]]] = defaultdict(lambda: (set(), set()))
    for adult in adults:
        found[adult["visit_id"]][0].add((adult["staff_id"], str(adult["role"])))
    for pupil in pupils:
        found[pupil["visit_id"]][1].add(pupil["pupil_id"])
    return {visit_id: (frozenset(a), frozenset(p)) for visit_id, (a, p) in found.items()}


def _differs(
    visit: Visit | None,
    row: dict[str, Any],
    before: dict[UUID, tuple[frozenset[Any], ...]],
    after: dict[UUID, tuple[frozenset[Any], ...]],
) -> bool:
    if visit is None:
        return False  # a new visit, written whole
    moved = (visit.slot_id, str(visit.location)) != (row["slot_id"], str(row["location"]))
    confirmed = visit.status is not row["status"]
    return moved or confirmed or before.get(visit.id) != after.get(visit.id)
