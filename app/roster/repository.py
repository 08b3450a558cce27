from typing import Any
from uuid import UUID

from sqlalchemy import Select, func
from sqlmodel import col, select

from app.core.jobs import Job
from app.core.repository import ScopedRepository, in_schools
from app.roster.models import ClassStaff, Contact, Household, Pupil, RosterImport, SchoolClass


class ClassRepository(ScopedRepository[SchoolClass]):
    model, label = SchoolClass, "class"

    async def staff_of(self, class_ids: list[UUID]) -> dict[UUID, list[tuple[UUID, Any]]]:
        found: dict[UUID, list[tuple[UUID, Any]]] = {c: [] for c in class_ids}
        if class_ids:
            rows = await self.session.execute(
                select(ClassStaff.class_id, ClassStaff.staff_id, ClassStaff.role)
                .where(col(ClassStaff.class_id).in_(class_ids))
                .order_by(col(ClassStaff.staff_id))
            )
            for class_id, staff_id, role in rows:
                found[class_id].append((staff_id, role))
        return found

    async def on_roll_counts(self, class_ids: list[UUID]) -> dict[UUID, int]:
        if not class_ids:
            return {}
        rows = await self.session.execute(
            select(Pupil.class_id, func.count())
            .where(col(Pupil.class_id).in_(class_ids), col(Pupil.on_roll).is_(True))
            .group_by(col(Pupil.class_id))
        )
        return dict(rows.all())

    async def staffed_by(self, staff_id: UUID) -> set[UUID]:
        """Classes a staff member teaches or supports: their need to know."""
        rows = await self.session.scalars(
            select(ClassStaff.class_id).where(col(ClassStaff.staff_id) == staff_id)
        )
        return set(rows)


PUPIL_COLUMNS = (
    Pupil.id,
    Pupil.school_id,
    Pupil.mis_id,
    Pupil.upn,
    Pupil.legal_first_name,
    Pupil.legal_last_name,
    Pupil.preferred_first_name,
    Pupil.preferred_last_name,
    Pupil.date_of_birth,
    Pupil.sex,
    Pupil.class_id,
    SchoolClass.year_group,
    Pupil.household_id,
    Pupil.on_roll,
    Pupil.left_on,
    Pupil.updated_at,
    Pupil.send,
    Pupil.eal,
    Pupil.home_language,
    Pupil.free_school_meals,
    Pupil.pupil_premium,
    Pupil.looked_after,
)


class PupilRepository(ScopedRepository[Pupil]):
    model, label = Pupil, "pupil"

    def listing(self) -> Select[Any]:
        """Columns for lists, joined to the class for its year group, in one query."""
        statement = select(*PUPIL_COLUMNS).outerjoin(  # type: ignore[call-overload]
            SchoolClass, col(SchoolClass.id) == col(Pupil.class_id)
        )
        return in_schools(statement, Pupil, self.principal.scope.school_ids)


class HouseholdRepository(ScopedRepository[Household]):
    """A household is visible through a pupil the caller can see; trust-wide roles see all."""

    model, label = Household, "household"

    def base_statement(self) -> Select[Any]:
        schools = self.principal.scope.school_ids
        statement = select(Household)
        if self.principal.household_id is not None:  # a parent: their own home only
            return statement.where(col(Household.id) == self.principal.household_id)
        if schools is None:
            return statement
        homes = select(Pupil.household_id).where(col(Pupil.school_id).in_(schools))
        return statement.where(col(Household.id).in_(homes))

    async def visible_pupils(self, household_id: UUID) -> list[tuple[UUID, UUID | None]]:
        """(pupil id, class id) of the household's pupils at the caller's schools."""
        statement = in_schools(
            select(Pupil.id, Pupil.class_id).where(col(Pupil.household_id) == household_id),
            Pupil,
            self.principal.scope.school_ids,
        )
        return [
            (pupil_id, class_id) for pupil_id, class_id in await self.session.execute(statement)
        ]

    async def contacts(self, household_id: UUID) -> list[Contact]:
        rows = await self.session.scalars(
            select(Contact)
            .where(col(Contact.household_id) == household_id)
            .order_by(col(Contact.priority), col(Contact.id))
        )
        return list(rows)


class RosterImportRepository(ScopedRepository[RosterImport]):
    model, label = RosterImport, "roster import"

    async def job_of(self, upload: RosterImport) -> Job:
        job = await self.session.get(Job, upload.job_id)
        assert job is not None
        return job

    @staticmethod
    async def for_job(session: Any, import_id: UUID) -> RosterImport:
        """The upload a job works on, read under the job's own scope (its trust and school)."""
        found: RosterImport | None = await session.get(RosterImport, import_id)
        if found is None:
            raise LookupError(f"roster import {import_id} is gone")
        return found
