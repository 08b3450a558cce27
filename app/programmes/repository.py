from collections import defaultdict
from collections.abc import Collection
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import Select, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, select

from app.core.errors import NotFound
from app.core.repository import ScopedRepository
from app.programmes.models import (
    HouseholdExemption,
    SecondAdult,
    Slot,
    TeamMember,
    TeamRole,
    VisitProgramme,
)
from app.roster.models import Household, HouseholdSource, Pupil, SchoolClass


def children_in_scope(programme: VisitProgramme) -> Select[Any]:
    """Every on-roll pupil of the programme's school who has a household and is in a class of
    the programme's academic year and year groups: the children whose homes it visits."""
    statement: Any = (
        sa.select(
            col(Pupil.household_id),
            col(Pupil.id).label("pupil_id"),
            col(Pupil.preferred_first_name),
            col(Pupil.legal_first_name),
            col(Pupil.preferred_last_name),
            col(Pupil.legal_last_name),
            col(SchoolClass.id).label("class_id"),
            col(SchoolClass.name).label("class_name"),
            col(SchoolClass.year_group),
        )
        .join(SchoolClass, col(SchoolClass.id) == col(Pupil.class_id))
        .where(
            col(Pupil.school_id) == programme.school_id,
            col(Pupil.on_roll).is_(True),
            col(Pupil.household_id).is_not(None),
            col(SchoolClass.year_group).in_(programme.year_groups),
            col(SchoolClass.academic_year) == programme.academic_year,
        )
    )
    return statement  # type: ignore[no-any-return]


def classes_in_scope(programme: VisitProgramme) -> Select[Any]:
    """Current classes of the programme's school and year whose year group is in scope: the
    classes that need a team, and that the scheduler plans for."""
    return select(SchoolClass).where(
        col(SchoolClass.school_id) == programme.school_id,
        col(SchoolClass.academic_year) == programme.academic_year,
        col(SchoolClass.year_group).in_(programme.year_groups),
        col(SchoolClass.active).is_(True),
    )


class ProgrammeRepository(ScopedRepository[VisitProgramme]):
    model, label = VisitProgramme, "programme"

    def base_statement(self) -> Select[Any]:
        statement = super().base_statement()
        if self.principal.programme_id is not None:  # a parent: their own programme only
            return statement.where(col(VisitProgramme.id) == self.principal.programme_id)
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

    async def in_scope(
        self, programme: VisitProgramme, household_id: UUID | None = None
    ) -> list[tuple[UUID, UUID, str]]:
        """(household, pupil, year group) of every on-roll pupil of the programme's school in a
        year group in scope who has a household (of one household, if given)."""
        statement = (
            children_in_scope(programme)
            .with_only_columns(col(Pupil.household_id), col(Pupil.id), col(SchoolClass.year_group))
            .order_by(col(Pupil.household_id), col(Pupil.id))
        )
        if household_id is not None:
            statement = statement.where(col(Pupil.household_id) == household_id)
        rows = await self.session.execute(statement)
        return [(h, p, str(y)) for h, p, y in rows.all() if h is not None]

    def households_in_scope(self, programme: VisitProgramme) -> Select[Any]:
        """One row (household_id) per household the programme reaches, for paging."""
        return (
            children_in_scope(programme)
            .with_only_columns(col(Pupil.household_id))
            .group_by(col(Pupil.household_id))
        )

    async def children(
        self, programme: VisitProgramme, household_ids: Collection[UUID]
    ) -> list[Any]:
        """The children in scope of these households, as children_in_scope's rows."""
        if not household_ids:
            return []
        rows = await self.session.execute(
            children_in_scope(programme)
            .where(col(Pupil.household_id).in_(household_ids))
            .order_by(col(Pupil.household_id), col(Pupil.id))
        )
        return list(rows.all())

    async def references(self, school_id: UUID, household_ids: Collection[UUID]) -> dict[UUID, str]:
        """The school's own MIS family id of each household that has one."""
        if not household_ids:
            return {}
        rows = await self.session.execute(
            select(HouseholdSource.household_id, HouseholdSource.mis_id).where(
                col(HouseholdSource.school_id) == school_id,
                col(HouseholdSource.household_id).in_(household_ids),
            )
        )
        return dict(rows.all())

    async def classes_of(
        self, school_id: UUID, household_ids: Collection[UUID]
    ) -> dict[UUID, set[UUID | None]]:
        """The classes of every pupil of these households at the school (in scope or not): the
        roster's need-to-know for addresses."""
        found: dict[UUID, set[UUID | None]] = defaultdict(set)
        if not household_ids:
            return found
        rows = await self.session.execute(
            select(Pupil.household_id, Pupil.class_id).where(
                col(Pupil.school_id) == school_id, col(Pupil.household_id).in_(household_ids)
            )
        )
        for household_id, class_id in rows.all():
            found[household_id].add(class_id)
        return found

    async def homes(self, household_ids: Collection[UUID]) -> dict[UUID, Household]:
        if not household_ids:
            return {}
        rows = await self.session.scalars(
            select(Household).where(col(Household.id).in_(household_ids))
        )
        return {h.id: h for h in rows}

    async def exemptions(self, programme_id: UUID) -> dict[UUID, HouseholdExemption]:
        rows = await self.session.scalars(
            select(HouseholdExemption).where(col(HouseholdExemption.programme_id) == programme_id)
        )
        return {e.household_id: e for e in rows}

    async def clear_exemption(self, programme_id: UUID, household_id: UUID) -> None:
        await self.session.execute(
            delete(HouseholdExemption).where(
                col(HouseholdExemption.programme_id) == programme_id,
                col(HouseholdExemption.household_id) == household_id,
            )
        )


async def clear_slots(session: AsyncSession, programme_id: UUID) -> None:
    """Every slot of a programme already loaded through the caller's scope (its grid changed)."""
    await session.execute(delete(Slot).where(col(Slot.programme_id) == programme_id))


class TeamRepository(ScopedRepository[TeamMember]):
    """Class teams and the second-adult pool of programmes at the caller's schools."""

    model, label = TeamMember, "team member"

    async def classes(self, programme: VisitProgramme) -> list[SchoolClass]:
        rows = await self.session.scalars(
            classes_in_scope(programme).order_by(col(SchoolClass.name), col(SchoolClass.id))
        )
        return list(rows)

    async def class_in_scope(self, programme: VisitProgramme, class_id: UUID) -> SchoolClass:
        found: SchoolClass | None = await self.session.scalar(
            classes_in_scope(programme).where(col(SchoolClass.id) == class_id)
        )
        if found is None:
            raise NotFound(f"There is no class {class_id} in this programme that you can see.")
        return found

    async def members(self, programme_id: UUID, class_ids: list[UUID]) -> list[TeamMember]:
        rows = await self.session.scalars(
            self.base_statement()
            .where(
                col(TeamMember.programme_id) == programme_id,
                col(TeamMember.class_id).in_(class_ids),
            )
            .order_by(col(TeamMember.role), col(TeamMember.id))
        )
        return list(rows)

    async def replace_team(
        self,
        programme: VisitProgramme,
        class_id: UUID,
        teacher_ids: list[UUID],
        second_adult_id: UUID,
    ) -> None:
        await self.session.execute(
            sa.delete(TeamMember).where(
                col(TeamMember.programme_id) == programme.id, col(TeamMember.class_id) == class_id
            )
        )
        roles = [(s, TeamRole.TEACHER) for s in teacher_ids]
        for staff_id, role in [*roles, (second_adult_id, TeamRole.SECOND_ADULT)]:
            self.session.add(
                TeamMember(
                    trust_id=programme.trust_id,
                    school_id=programme.school_id,
                    programme_id=programme.id,
                    class_id=class_id,
                    staff_id=staff_id,
                    role=role,
                )
            )
        await self.session.flush()

    async def pool(self, programme_id: UUID) -> list[UUID]:
        rows = await self.session.scalars(
            select(SecondAdult.staff_id)
            .where(col(SecondAdult.programme_id) == programme_id)
            .order_by(col(SecondAdult.id))
        )
        return list(rows)

    async def replace_pool(self, programme: VisitProgramme, staff_ids: list[UUID]) -> None:
        await self.session.execute(
            sa.delete(SecondAdult).where(col(SecondAdult.programme_id) == programme.id)
        )
        self.session.add_all(
            SecondAdult(
                trust_id=programme.trust_id,
                school_id=programme.school_id,
                programme_id=programme.id,
                staff_id=staff_id,
            )
            for staff_id in staff_ids
        )
        await self.session.flush()

    async def staffed(self, programme_id: UUID) -> set[UUID]:
        """Everyone on the programme's class teams or in its second-adult pool."""
        teams = await self.session.scalars(
            select(TeamMember.staff_id).where(col(TeamMember.programme_id) == programme_id)
        )
        return set(teams) | set(await self.pool(programme_id))


async def family_surnames(
    session: AsyncSession, programme: VisitProgramme, households: Collection[UUID]
) -> dict[UUID, set[str]]:
    """The surnames of each household's children in scope: how a message names the family. Runs
    in the caller's trust (the floor); the programme was already read through its scope."""
    found: dict[UUID, set[str]] = defaultdict(set)
    if not households:
        return found
    rows = await session.execute(
        children_in_scope(programme).where(col(Pupil.household_id).in_(list(households)))
    )
    for row in rows:
        found[row.household_id].add(row.preferred_last_name or row.legal_last_name)
    return found
