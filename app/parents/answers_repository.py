"""Reads for parents' answers and the chase list: the programme's children in scope, its slots,
the answers given, exemptions and contacts."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.core.bulk import upsert_row
from app.core.lean import LeanQuery, trust_of
from app.core.types import YearGroup
from app.parents.answers_models import AnsweredBy, AnswerKind, HouseholdAnswer
from app.programmes.models import HouseholdExemption, Slot, VisitProgramme
from app.programmes.repository import children_in_scope as programme_children
from app.roster.models import Contact, Pupil, SendStatus


@dataclass(frozen=True)
class InScopeChild:
    household_id: UUID
    pupil_id: UUID
    first_name: str
    last_name: str
    class_id: UUID
    class_name: str
    year_group: YearGroup


async def children_in_scope(
    session: AsyncSession, programme: VisitProgramme, households: list[UUID] | None = None
) -> list[InScopeChild]:
    statement = programme_children(programme)
    if households is not None:
        statement = statement.where(col(Pupil.household_id).in_(households))
    rows = await session.execute(statement.order_by(col(Pupil.household_id), col(Pupil.id)))
    return [
        InScopeChild(
            household_id=r.household_id,
            pupil_id=r.pupil_id,
            first_name=r.preferred_first_name or r.legal_first_name,
            last_name=r.preferred_last_name or r.legal_last_name,
            class_id=r.class_id,
            class_name=r.class_name,
            year_group=YearGroup(r.year_group),
        )
        for r in rows
    ]


async def slots_of(
    session: AsyncSession, programme_id: UUID, ids: Collection[UUID] | None = None
) -> list[Slot]:
    """The programme's slots in time order; only those named, when `ids` is given."""
    statement = select(Slot).where(col(Slot.programme_id) == programme_id)
    if ids is not None:
        if not ids:
            return []
        statement = statement.where(col(Slot.id).in_(ids))
    return list(await session.scalars(statement.order_by(col(Slot.starts_at))))


class SlotTimes(NamedTuple):
    """SLOT_TIMES's row."""

    id: UUID
    day: date
    starts_at: datetime
    ends_at: datetime


_slot = Slot.__table__  # type: ignore[attr-defined]
SLOT_TIMES = LeanQuery(
    sa.select(_slot.c.id, _slot.c.day, _slot.c.starts_at, _slot.c.ends_at).where(
        _slot.c.programme_id == sa.bindparam("programme_id"),
        _slot.c.trust_id == sa.bindparam("trust_id"),
    )
)


async def slot_times(session: AsyncSession, programme_id: UUID) -> list[SlotTimes]:
    """The programme's slots on the lean path, in the caller's trust: a few dozen small rows,
    fetched by one prepared statement."""
    rows = await SLOT_TIMES.all(session, programme_id=programme_id, trust_id=trust_of(session))
    return [SlotTimes(**row) for row in rows]


class StoredAnswer(NamedTuple):
    """An answer as stored, all that describing it needs: the row `answer_of` reads and the row
    `save_answer`'s upsert returns."""

    kind: AnswerKind
    preferred_slot_ids: list[str]
    unavailable: list[dict[str, Any]]
    interpreter_language: str | None
    accessibility: str | None
    notes_for_visitors: str | None
    neutral_venue_requested: bool
    neutral_venue_reason: str | None
    decline_reason: str | None
    answered_by: AnsweredBy
    submitted_at: datetime
    version: int

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> "StoredAnswer":
        return cls(**{name: row[name] for name in cls._fields})


async def answer_of(
    session: AsyncSession, programme_id: UUID, household_id: UUID
) -> StoredAnswer | None:
    columns = [getattr(HouseholdAnswer, name) for name in StoredAnswer._fields]
    row = (
        (
            await session.execute(
                select(*columns).where(
                    col(HouseholdAnswer.programme_id) == programme_id,
                    col(HouseholdAnswer.household_id) == household_id,
                )
            )
        )
        .mappings()
        .one_or_none()
    )
    return None if row is None else StoredAnswer.of(row)


async def save_answer(session: AsyncSession, values: dict[str, Any]) -> StoredAnswer:
    """Insert the household's answer to the programme, or replace it, in one statement (the
    parent's PUT, a hot write; upsert_row keeps it to the session's trust)."""
    row = await upsert_row(
        session,
        HouseholdAnswer.__table__,  # type: ignore[attr-defined]
        values,
        conflict=["programme_id", "household_id"],
        keep=frozenset({"id", "created_at"}),
    )
    return StoredAnswer.of(row)


async def answers_of(session: AsyncSession, programme_id: UUID) -> list[HouseholdAnswer]:
    rows = await session.scalars(
        select(HouseholdAnswer).where(col(HouseholdAnswer.programme_id) == programme_id)
    )
    return list(rows)


async def exemption_kinds(session: AsyncSession, programme_id: UUID) -> dict[UUID, str]:
    """Household -> "exempt" or "neutral_venue", as SLT decided."""
    rows = await session.execute(
        select(HouseholdExemption.household_id, HouseholdExemption.kind).where(
            col(HouseholdExemption.programme_id) == programme_id
        )
    )
    return dict(rows.all())


# Visits sit above the families' answers (they are planned from them), so the chase list reads
# the one fact it needs of them, a past visit that found no one in, through the table alone.
_visit = sa.table(
    "visit",
    sa.column("household_id"),
    sa.column("programme_id"),
    sa.column("status"),
    sa.column("trust_id"),
)


def _any(condition: Any) -> Any:
    return sa.func.max(sa.case((condition, 1), else_=0))


def to_chase_by_need(programme: VisitProgramme) -> tuple[Select[Any], Any, Any]:
    """The chase list's households with `need`: how many of the equity needs they have (a
    looked-after child, free school meals, SEND, EAL, a past visit with no access), 0 to 5;
    with the `need` and household columns to order by. Selected from a subquery, so a page can
    be cut on `need` as on any column."""
    no_access_before = sa.select(_visit.c.household_id).where(
        _visit.c.trust_id == programme.trust_id,
        _visit.c.programme_id != programme.id,
        _visit.c.status == "no_access",
    )
    need = (
        _any(col(Pupil.looked_after).is_(True))
        + _any(col(Pupil.free_school_meals).is_(True))
        + _any(col(Pupil.send) != SendStatus.NONE)
        + _any(col(Pupil.eal).is_(True))
        + _any(col(Pupil.household_id).in_(no_access_before))
    )
    chase = (
        to_chase(programme)
        .add_columns(sa.type_coerce(need, sa.Integer).label("need"))
        .subquery("chase")
    )
    return sa.select(chase.c.household_id, chase.c.need), chase.c.need, chase.c.household_id


def to_chase(programme: VisitProgramme) -> Select[Any]:
    """Households in scope with no answer and no exemption from the visit."""
    answered = select(HouseholdAnswer.household_id).where(
        col(HouseholdAnswer.programme_id) == programme.id
    )
    exempt = select(HouseholdExemption.household_id).where(
        col(HouseholdExemption.programme_id) == programme.id,
        col(HouseholdExemption.kind) == "exempt",
    )
    return (
        programme_children(programme)
        .with_only_columns(col(Pupil.household_id))
        .where(col(Pupil.household_id).not_in(answered), col(Pupil.household_id).not_in(exempt))
        .group_by(col(Pupil.household_id))
    )


async def contacts_of(session: AsyncSession, households: list[UUID]) -> list[Contact]:
    rows = await session.scalars(
        select(Contact)
        .where(col(Contact.household_id).in_(households))
        .order_by(col(Contact.priority), col(Contact.id))
    )
    return list(rows)
