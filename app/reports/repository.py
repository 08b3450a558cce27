"""Every read a report makes, each one statement over all the report's programmes at once (never
one per school, class or pupil), so a trust's report costs the same few queries as a school's.

Rows are plain tuples of columns (no entities). Each statement runs on the caller's session, so
the trust floor applies, and is narrowed to the caller's schools as well; the programmes were
loaded through the caller's scope before any of these runs."""

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import Select
from sqlmodel import col, select

from app.core.lean import in_trust
from app.core.repository import ScopedRepository, in_schools
from app.core.tenancy import get_scope
from app.parents.answers_models import AnswerKind, HouseholdAnswer
from app.programmes.models import HouseholdExemption, Slot, VisitProgramme
from app.roster.models import Pupil, SchoolClass, SendStatus
from app.safeguarding.models import Concern
from app.trusts.models import School
from app.visits.models import (
    Visit,
    VisitAdult,
    VisitLocation,
    VisitOutcome,
    VisitPupil,
    VisitStatus,
)

# The visits that took the adults' time: planned and kept, or gone to with no one in.
ON_THE_ROAD = (VisitStatus.SCHEDULED, VisitStatus.COMPLETED, VisitStatus.NO_ACCESS)


class Child(NamedTuple):
    pupil_id: UUID
    household_id: UUID
    school_id: UUID
    class_id: UUID
    class_name: str
    year_group: str
    academic_year: str
    free_school_meals: bool
    pupil_premium: bool
    send: SendStatus
    eal: bool
    looked_after: bool


class Answer(NamedTuple):
    programme_id: UUID
    household_id: UUID
    kind: AnswerKind
    preferred_slot_ids: list[str]


class Exemption(NamedTuple):
    programme_id: UUID
    household_id: UUID
    kind: str


class VisitRow(NamedTuple):
    id: UUID
    programme_id: UUID
    household_id: UUID
    slot_id: UUID
    status: VisitStatus
    location: VisitLocation
    day: date  # its slot's: the visit day (Europe/London)


class VisitChild(NamedTuple):
    visit_id: UUID
    programme_id: UUID
    household_id: UUID
    slot_id: UUID
    status: VisitStatus
    location: VisitLocation
    day: date
    pupil_id: UUID
    outcome: VisitOutcome | None

    def visit(self) -> VisitRow:
        return VisitRow(*self[:7])


class AdultDay(NamedTuple):
    staff_id: UUID
    day: date
    visits: int
    first_start: datetime
    last_end: datetime


class ReportRepository(ScopedRepository[VisitProgramme]):
    model, label = VisitProgramme, "programme"

    def _narrowed(self, statement: Any, model: Any) -> Select[Any]:
        return in_schools(statement, model, self.principal.scope.school_ids)

    def _floor(self, model: Any) -> Any:
        return in_trust(model, get_scope(self.session))

    async def _rows(self, statement: Any, model: Any) -> Sequence[Any]:
        """The large reads, run on the session's connection without the ORM (no entities, no
        per-row loading): each names its tables' trust itself (`_floor`), as lean reads do, and
        is narrowed to the caller's schools through `model`."""
        statement = self._narrowed(statement.where(self._floor(model)), model)
        connection = await self.session.connection()
        return (await connection.execute(statement)).all()

    async def programmes(
        self, *, school_id: UUID | None, academic_year: str | None
    ) -> list[tuple[VisitProgramme, str]]:
        """The caller's programmes (of one school, of one year, if given), with school names."""
        statement = (
            self.base_statement()
            .add_columns(col(School.name))
            .join(School, col(School.id) == col(VisitProgramme.school_id))
        )
        if school_id is not None:
            statement = statement.where(col(VisitProgramme.school_id) == school_id)
        if academic_year is not None:
            statement = statement.where(col(VisitProgramme.academic_year) == academic_year)
        rows = await self.session.execute(
            statement.order_by(col(School.name), col(VisitProgramme.name), col(VisitProgramme.id))
        )
        return [(programme, name) for programme, name in rows.all()]

    async def latest_year(self, school_id: UUID | None) -> str | None:
        statement = self._narrowed(
            select(sa.func.max(col(VisitProgramme.academic_year))), VisitProgramme
        )
        if school_id is not None:
            statement = statement.where(col(VisitProgramme.school_id) == school_id)
        found = await self.session.scalar(statement)
        return str(found) if found is not None else None

    async def children(self, programmes: Sequence[VisitProgramme]) -> list[Child]:
        """On-roll pupils with a household, in classes of the programmes' schools, years and year
        groups; which programme each is in scope of is the caller's to decide (a school may run
        more than one programme a year)."""
        statement = (
            sa.select(
                col(Pupil.id),
                col(Pupil.household_id),
                col(Pupil.school_id),
                col(SchoolClass.id),
                col(SchoolClass.name),
                col(SchoolClass.year_group),
                col(SchoolClass.academic_year),
                col(Pupil.free_school_meals),
                col(Pupil.pupil_premium),
                col(Pupil.send),
                col(Pupil.eal),
                col(Pupil.looked_after),
            )
            .join(SchoolClass, col(SchoolClass.id) == col(Pupil.class_id))
            .where(
                self._floor(SchoolClass),
                col(Pupil.school_id).in_(sorted({p.school_id for p in programmes})),
                col(Pupil.on_roll).is_(True),
                col(Pupil.household_id).is_not(None),
                col(SchoolClass.academic_year).in_(sorted({p.academic_year for p in programmes})),
                col(SchoolClass.year_group).in_(
                    sorted({y for p in programmes for y in p.year_groups})
                ),
            )
        )
        return [Child(*row) for row in await self._rows(statement, Pupil)]

    async def answers(self, programme_ids: Collection[UUID]) -> list[Answer]:
        statement = sa.select(
            col(HouseholdAnswer.programme_id),
            col(HouseholdAnswer.household_id),
            col(HouseholdAnswer.kind),
            col(HouseholdAnswer.preferred_slot_ids),
        ).where(col(HouseholdAnswer.programme_id).in_(programme_ids))
        return [Answer(*row) for row in await self._rows(statement, HouseholdAnswer)]

    async def exemptions(self, programme_ids: Collection[UUID]) -> list[Exemption]:
        rows = await self.session.execute(
            self._narrowed(
                sa.select(
                    col(HouseholdExemption.programme_id),
                    col(HouseholdExemption.household_id),
                    col(HouseholdExemption.kind),
                ).where(col(HouseholdExemption.programme_id).in_(programme_ids)),
                HouseholdExemption,
            )
        )
        return [Exemption(*row) for row in rows.all()]

    async def visit_children(self, programme_ids: Collection[UUID]) -> list[VisitChild]:
        """Each child on the programmes' visits, with their visit and their own outcome where
        it differs: one read for the visits and their children alike (a visit always has one)."""
        statement = (
            sa.select(
                col(Visit.id),
                col(Visit.programme_id),
                col(Visit.household_id),
                col(Visit.slot_id),
                col(Visit.status),
                col(Visit.location),
                col(Slot.day),
                col(VisitPupil.pupil_id),
                col(VisitPupil.outcome),
            )
            .join(Visit, col(Visit.id) == col(VisitPupil.visit_id))
            .join(Slot, col(Slot.id) == col(Visit.slot_id))
            .where(
                col(Visit.programme_id).in_(programme_ids),
                self._floor(VisitPupil),
                self._floor(Slot),
            )
        )
        return [VisitChild(*row) for row in await self._rows(statement, Visit)]

    async def adult_days(self, programme_ids: Collection[UUID]) -> list[AdultDay]:
        """Each adult's day (its slots' day) on the visits that took their time: how many, from
        the first start to the last end; grouped in SQL, a row per adult-day."""
        statement = (
            sa.select(
                col(VisitAdult.staff_id),
                col(Slot.day),
                sa.func.count(),
                sa.func.min(col(Visit.starts_at)),
                sa.func.max(col(Visit.ends_at)),
            )
            .select_from(VisitAdult)
            .join(Visit, col(Visit.id) == col(VisitAdult.visit_id))
            .join(Slot, col(Slot.id) == col(Visit.slot_id))
            .where(
                col(Visit.programme_id).in_(programme_ids),
                col(Visit.status).in_(ON_THE_ROAD),
                self._floor(VisitAdult),
                self._floor(Slot),
            )
            .group_by(col(VisitAdult.staff_id), col(Slot.day))
        )
        return [AdultDay(*row) for row in await self._rows(statement, Visit)]

    async def concerns_raised(
        self, school_ids: Collection[UUID], first: datetime, last: datetime
    ) -> list[tuple[UUID, datetime]]:
        """When each concern at the schools in [first, last) was raised: times only (never
        which concern, about whom or what), for counting per programme."""
        rows = await self.session.execute(
            self._narrowed(
                sa.select(col(Concern.school_id), col(Concern.raised_at)).where(
                    col(Concern.school_id).in_(school_ids),
                    col(Concern.raised_at) >= first,
                    col(Concern.raised_at) < last,
                ),
                Concern,
            )
        )
        return [(school_id, raised_at) for school_id, raised_at in rows.all()]
