from typing import Any
from uuid import UUID

from sqlalchemy import Select, func
from sqlmodel import col, select

from app.core.repository import ScopedRepository
from app.programmes.models import HouseholdExemption, Slot, VisitProgramme
from app.roster.models import Pupil, SchoolClass


class ProgrammeRepository(ScopedRepository[VisitProgramme]):
    model, label = VisitProgramme, "programme"

    def base_statement(self) -> Select[Any]:
        statement = select(VisitProgramme)
        schools = self.principal.scope.school_ids
        if schools is not None:
            statement = statement.where(col(VisitProgramme.school_id).in_(schools))
        return statement

    async def slot_counts(self, programme_ids: list[UUID]) -> dict[UUID, int]:
        if not programme_ids:
            return {}
        rows = await self.session.execute(
            select(Slot.programme_id, func.count())
            .where(col(Slot.programme_id).in_(programme_ids))
            .group_by(col(Slot.programme_id))
        )
        return dict(rows.all())

    def slots(self, programme_id: UUID) -> Select[Any]:
        return select(Slot).where(col(Slot.programme_id) == programme_id)

    async def in_scope(self, programme: VisitProgramme) -> list[tuple[UUID, UUID, str]]:
        """(household, pupil, year group) of every on-roll pupil of the programme's school in a
        year group in scope who has a household."""
        rows = await self.session.execute(
            select(Pupil.household_id, Pupil.id, SchoolClass.year_group)
            .join(SchoolClass, col(SchoolClass.id) == col(Pupil.class_id))
            .where(
                col(Pupil.school_id) == programme.school_id,
                col(Pupil.on_roll).is_(True),
                col(Pupil.household_id).is_not(None),
                col(SchoolClass.year_group).in_(programme.year_groups),
                col(SchoolClass.academic_year) == programme.academic_year,
            )
            .order_by(col(Pupil.household_id), col(Pupil.id))
        )
        return [(h, p, str(y)) for h, p, y in rows.all()]

    async def exemptions(self, programme_id: UUID) -> dict[UUID, HouseholdExemption]:
        rows = await self.session.scalars(
            select(HouseholdExemption).where(col(HouseholdExemption.programme_id) == programme_id)
        )
        return {e.household_id: e for e in rows}
