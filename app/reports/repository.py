"""Every read a report makes, each one statement over all the report's programmes at once (never
one per school, class or pupil), so a trust's report costs the same few queries as a school's.

The counting happens in SQL, grouped: households by school, year group and class, children by
their pupil-group flags and the day they were visited, adult-days by span. What comes back is a
few hundred rows however many children the trust has (only the placed families' preferences come
back a row each). Each statement runs on the caller's session's connection without the ORM,
names its tables' trust itself (`_floor`), as lean reads do, and is narrowed to the caller's
schools as well; the programmes were loaded through the caller's scope before any of these
runs."""

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple
from uuid import UUID

import pydantic_core
import sqlalchemy as sa
from sqlalchemy import CTE, ColumnElement, Select
from sqlmodel import col, select

from app.core.lean import in_trust
from app.core.repository import ScopedRepository, in_schools
from app.core.tenancy import get_scope
from app.parents.answers_models import AnswerKind, HouseholdAnswer
from app.programmes.models import HouseholdExemption, Slot, VisitProgramme
from app.roster.models import Pupil, SchoolClass, SendStatus
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

# What can have happened to a household in a programme: ReachCounts' fields but `in_scope`.
FLAGS = ("answered", "scheduled", "visited", "no_access", "declined", "exempt", "neutral_venue")


class PartKind:
    TOTAL = "total"
    SCHOOL = "school"
    YEAR_GROUP = "year_group"
    CLASS = "class"


class HouseholdCounts(NamedTuple):
    """Households of one part of the report (or all of it): how many, and how many of them each
    thing happened to, each household once however many children it has there."""

    part: str  # a PartKind
    school_id: UUID | None
    year_group: str | None
    class_id: UUID | None
    class_name: str | None
    counts: dict[str, int]  # ReachCounts' fields


class ChildCount(NamedTuple):
    """How many children in scope hold these flags and were visited on this day (None: not)."""

    free_school_meals: bool
    pupil_premium: bool
    send: SendStatus
    eal: bool
    looked_after: bool
    visited_on: date | None
    children: int


class Placed(NamedTuple):
    """A household in scope placed on a visit (not called off) that gave preferences."""

    slot_id: UUID
    preferred_slot_ids: list[str]


class DaySpan(NamedTuple):
    """Adult-days that ran from the same first start to the same last end: how many, their
    visits in all and the most on one of them, and how many adults had any day at all (the
    same on every row)."""

    first_start: datetime
    last_end: datetime
    adult_days: int
    visits: int
    most_visits: int
    adults: int


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


class ReportRepository(ScopedRepository[VisitProgramme]):
    model, label = VisitProgramme, "programme"

    def _narrowed(self, statement: Any, model: Any) -> Select[Any]:
        return in_schools(statement, model, self.principal.scope.school_ids)

    def _floor(self, model: Any) -> Any:
        return in_trust(model, get_scope(self.session))

    def _scoped(self, statement: Any, model: Any) -> Select[Any]:
        """`statement` with `model`'s trust floor and narrowed to the caller's schools."""
        return self._narrowed(statement.where(self._floor(model)), model)

    async def _rows(self, statement: Any) -> Sequence[Any]:
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

    def _members(self, programmes: Sequence[VisitProgramme]) -> CTE:
        """Each child in each programme's scope: on roll, with a household, in a class of the
        programme's school, year and year groups (programmes.repository.children_in_scope, for
        many programmes at once; a school may run more than one programme a year, and a child is
        then in each whose year groups take theirs)."""
        by_year_groups: dict[tuple[str, ...], list[UUID]] = defaultdict(list)
        for programme in programmes:
            by_year_groups[tuple(sorted(set(programme.year_groups)))].append(programme.id)
        # The programmes' year groups are JSON; the few distinct sets among them are written out
        # here instead, so the statement is the same on every database.
        in_year_groups = sa.or_(
            *(
                sa.and_(
                    col(VisitProgramme.id).in_(ids), col(SchoolClass.year_group).in_(year_groups)
                )
                for year_groups, ids in by_year_groups.items()
            )
        )
        statement: Any = (
            sa.select(
                col(VisitProgramme.id).label("programme_id"),
                col(Pupil.id).label("pupil_id"),
                col(Pupil.household_id).label("household_id"),
                col(Pupil.school_id).label("school_id"),
                col(SchoolClass.id).label("class_id"),
                col(SchoolClass.name).label("class_name"),
                col(SchoolClass.year_group).label("year_group"),
                col(Pupil.free_school_meals).label("free_school_meals"),
                col(Pupil.pupil_premium).label("pupil_premium"),
                col(Pupil.send).label("send"),
                col(Pupil.eal).label("eal"),
                col(Pupil.looked_after).label("looked_after"),
            )
            .select_from(Pupil)
            .join(SchoolClass, col(SchoolClass.id) == col(Pupil.class_id))
            .join(
                VisitProgramme,
                sa.and_(
                    col(VisitProgramme.school_id) == col(Pupil.school_id),
                    col(VisitProgramme.academic_year) == col(SchoolClass.academic_year),
                ),
            )
            .where(
                col(VisitProgramme.id).in_([p.id for p in programmes]),
                col(Pupil.on_roll).is_(True),
                col(Pupil.household_id).is_not(None),
                in_year_groups,
                self._floor(SchoolClass),
                self._floor(VisitProgramme),
            )
        )
        return self._scoped(statement, Pupil).cte("members")

    def _household_flags(self, programme_ids: Collection[UUID]) -> CTE:
        """What happened to each household in each programme, 1 or 0 per flag, from its answer,
        SLT's exemption and its visits (a visit always has a child on it)."""
        empty = {name: sa.literal(0) for name in FLAGS}

        def row(model: Any, **flags: ColumnElement[int]) -> Select[Any]:
            columns = [(flags.get(name, empty[name])).label(name) for name in FLAGS]
            return sa.select(
                model.programme_id.label("programme_id"),
                model.household_id.label("household_id"),
                *columns,
            ).where(model.programme_id.in_(programme_ids))

        answered = col(HouseholdAnswer.kind) == AnswerKind.PREFERENCES
        answers = row(HouseholdAnswer, answered=_flag(answered), declined=_flag(~answered))
        exemptions = row(
            HouseholdExemption,
            exempt=_flag(col(HouseholdExemption.kind) == "exempt"),
            neutral_venue=_flag(col(HouseholdExemption.kind) == "neutral_venue"),
        )
        status = col(Visit.status)
        visits = row(
            Visit,
            scheduled=_flag(status != VisitStatus.PROPOSED),
            visited=_flag(status == VisitStatus.COMPLETED),
            no_access=_flag(status == VisitStatus.NO_ACCESS),
            declined=_flag(status == VisitStatus.DECLINED),
            neutral_venue=_flag(col(Visit.location) == VisitLocation.NEUTRAL_VENUE),
        ).where(self._with_children())
        every = sa.union_all(
            self._scoped(answers, HouseholdAnswer),
            self._scoped(exemptions, HouseholdExemption),
            self._scoped(visits, Visit),
        ).subquery("happened")
        return (
            sa.select(
                every.c.programme_id,
                every.c.household_id,
                *(sa.func.max(every.c[name]).label(name) for name in FLAGS),
            )
            .group_by(every.c.programme_id, every.c.household_id)
            .cte("flags")
        )

    def _with_children(self) -> ColumnElement[bool]:
        return sa.exists().where(col(VisitPupil.visit_id) == col(Visit.id), self._floor(VisitPupil))

    async def household_counts(
        self, programmes: Sequence[VisitProgramme], parts: Collection[str]
    ) -> list[HouseholdCounts]:
        """The households in scope, counted in total and in each of `parts` (PartKind), one
        statement: a household is in each school, year group and class it has a child in."""
        members = self._members(programmes)
        flags = self._household_flags([p.id for p in programmes])
        m, f = members.c, flags.c
        # Each child's household's flags, joined once; a household's flags are the same on each
        # of its children's rows, so a household counts once per part by DISTINCT alone.
        reached = (
            sa.select(
                m.programme_id,
                m.household_id,
                m.school_id,
                m.year_group,
                m.class_id,
                m.class_name,
                *(sa.func.coalesce(f[name], 0).label(name) for name in FLAGS),
            )
            .select_from(members)
            .outerjoin(
                flags,
                sa.and_(f.programme_id == m.programme_id, f.household_id == m.household_id),
            )
            .cte("reached")
        )
        r = reached.c
        none_id = sa.cast(sa.null(), sa.Uuid)
        none_text = sa.cast(sa.null(), sa.String)
        keys = {
            PartKind.TOTAL: (none_id, none_text, none_id, none_text),
            PartKind.SCHOOL: (r.school_id, none_text, none_id, none_text),
            PartKind.YEAR_GROUP: (none_id, r.year_group, none_id, none_text),
            PartKind.CLASS: (r.school_id, r.year_group, r.class_id, r.class_name),
        }
        names = ("school_id", "year_group", "class_id", "class_name")
        selects = []
        for part in (PartKind.TOTAL, *parts):
            households = (
                sa.select(
                    r.programme_id,
                    r.household_id,
                    *(key.label(name) for key, name in zip(keys[part], names, strict=True)),
                    *(r[name] for name in FLAGS),
                )
                .distinct()
                .subquery()
            )
            h = households.c
            selects.append(
                sa.select(
                    sa.literal(part).label("part"),
                    *(h[name] for name in names),
                    sa.func.count().label("in_scope"),
                    *(sa.func.sum(h[name]).label(name) for name in FLAGS),
                ).group_by(*(h[name] for name in names))
            )
        rows = await self._rows(sa.union_all(*selects))
        return [
            HouseholdCounts(
                row.part,
                row.school_id,
                row.year_group,
                row.class_id,
                row.class_name,
                {"in_scope": row.in_scope, **{f: int(row._mapping[f]) for f in FLAGS}},
            )
            for row in rows
        ]

    async def child_counts(self, programmes: Sequence[VisitProgramme]) -> list[ChildCount]:
        """The children in scope counted by their pupil-group flags and the day they were
        visited: by their own outcome where it differs from their visit's (visits/progress.py),
        the first such day should a child have two."""
        members = self._members(programmes)
        own = col(VisitPupil.outcome)
        completed = sa.or_(
            own == VisitOutcome.COMPLETED,
            sa.and_(own.is_(None), col(Visit.status) == VisitStatus.COMPLETED),
        )
        visited = self._scoped(
            sa.select(
                col(Visit.programme_id).label("programme_id"),
                col(VisitPupil.pupil_id).label("pupil_id"),
                sa.func.min(col(Slot.day)).label("day"),
            )
            .select_from(VisitPupil)
            .join(Visit, col(Visit.id) == col(VisitPupil.visit_id))
            .join(Slot, col(Slot.id) == col(Visit.slot_id))
            .where(
                col(Visit.programme_id).in_([p.id for p in programmes]),
                completed,
                self._floor(VisitPupil),
                self._floor(Slot),
            ),
            Visit,
        ).group_by(col(Visit.programme_id), col(VisitPupil.pupil_id))
        on = visited.subquery("visited")
        m = members.c
        flags = (m.free_school_meals, m.pupil_premium, m.send, m.eal, m.looked_after)
        statement = (
            sa.select(*flags, on.c.day, sa.func.count())
            .select_from(members)
            .outerjoin(
                on, sa.and_(on.c.programme_id == m.programme_id, on.c.pupil_id == m.pupil_id)
            )
            .group_by(*flags, on.c.day)
        )
        return [ChildCount(*row) for row in await self._rows(statement)]

    async def placed(self, programmes: Sequence[VisitProgramme]) -> list[Placed]:
        """Each visit not called off of a household in scope that gave preferences: its slot
        and the slots the household preferred, best first."""
        members = self._members(programmes)
        # Joined, not EXISTS: the planner then hashes the households once rather than looking
        # each visit's household up in the roster.
        in_scope = sa.select(members.c.programme_id, members.c.household_id).distinct().subquery()
        statement = (
            # The JSON as text, decoded below: the driver's decoder costs more than the read.
            sa.select(col(Visit.slot_id), sa.cast(col(HouseholdAnswer.preferred_slot_ids), sa.Text))
            .select_from(Visit)
            .join(
                HouseholdAnswer,
                sa.and_(
                    col(HouseholdAnswer.programme_id) == col(Visit.programme_id),
                    col(HouseholdAnswer.household_id) == col(Visit.household_id),
                    col(HouseholdAnswer.kind) == AnswerKind.PREFERENCES,
                ),
            )
            .join(
                in_scope,
                sa.and_(
                    in_scope.c.programme_id == col(Visit.programme_id),
                    in_scope.c.household_id == col(Visit.household_id),
                ),
            )
            .where(
                col(Visit.programme_id).in_([p.id for p in programmes]),
                col(Visit.status) != VisitStatus.CANCELLED,
                self._with_children(),
                self._floor(HouseholdAnswer),
            )
        )
        rows = await self._rows(self._scoped(statement, Visit))
        return [Placed(slot_id, pydantic_core.from_json(found or "[]")) for slot_id, found in rows]

    async def day_spans(self, programme_ids: Collection[UUID]) -> list[DaySpan]:
        """Each adult's day (its slots' day) on the visits that took their time, from the first
        start to the last end, grouped in SQL twice: by adult-day, then by span. Visits keep to
        the programmes' slots, so a trust's tens of thousands of adult-days share a few hundred
        spans. The times come as the driver gives them (only their differences are used)."""
        plain = sa.DateTime(timezone=True)
        by_adult_day = self._scoped(
            sa.select(
                col(VisitAdult.staff_id).label("staff_id"),
                sa.func.count().label("visits"),
                sa.type_coerce(sa.func.min(col(Visit.starts_at)), plain).label("first_start"),
                sa.type_coerce(sa.func.max(col(Visit.ends_at)), plain).label("last_end"),
            )
            .select_from(VisitAdult)
            .join(Visit, col(Visit.id) == col(VisitAdult.visit_id))
            .join(Slot, col(Slot.id) == col(Visit.slot_id))
            .where(
                col(Visit.programme_id).in_(programme_ids),
                col(Visit.status).in_(ON_THE_ROAD),
                self._floor(VisitAdult),
                self._floor(Slot),
            ),
            Visit,
        ).group_by(col(VisitAdult.staff_id), col(Slot.day))
        days = by_adult_day.cte("adult_days")
        adults = sa.select(sa.func.count(sa.distinct(days.c.staff_id))).scalar_subquery()
        statement = sa.select(
            days.c.first_start,
            days.c.last_end,
            sa.func.count(),
            sa.func.sum(days.c.visits),
            sa.func.max(days.c.visits),
            adults,
        ).group_by(days.c.first_start, days.c.last_end)
        return [
            DaySpan(first, last, n, int(visits), most, found)
            for first, last, n, visits, most, found in await self._rows(statement)
        ]
