"""Reads for building a schedule instance. Runs inside a job whose session is scoped to the
programme's trust and school. A run's visits are written by visits (RunVisitRepository)."""

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.core.jobs import Job, JobStatus
from app.core.repository import ScopedRepository
from app.programmes.models import SecondAdult, TeamMember, TeamRole, VisitProgramme
from app.programmes.repository import classes_in_scope
from app.roster.models import ClassStaff, ClassStaffRole, Household, HouseholdSource, SchoolClass
from app.scheduling.models import ScheduleRun
from app.staff.models import StaffMember, StaffUnavailability
from app.trusts.models import School
from app.visits.models import Visit, VisitAdult, VisitStatus


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

    async def households_visited(self, programme_id: UUID) -> set[UUID]:
        """Households whose visit has its outcome recorded: what happened stands, and a run
        neither places them again nor gives their visit way."""
        rows = await self.session.scalars(
            select(Visit.household_id).where(
                col(Visit.programme_id) == programme_id, col(Visit.outcome_at).is_not(None)
            )
        )
        return set(rows)

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

    async def family_ids(self, school_id: UUID, ids: Collection[UUID]) -> dict[UUID, str]:
        """The school's own MIS family id of each household: the reference its office knows."""
        rows = await self.session.execute(
            select(HouseholdSource.household_id, HouseholdSource.mis_id).where(
                col(HouseholdSource.school_id) == school_id,
                col(HouseholdSource.household_id).in_(ids),
            )
        )
        return dict(rows.all())

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
