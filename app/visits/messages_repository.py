"""Reads for the messages about visits: each visit as a family is told of it, and the visits
whose reminders may be falling due."""

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.notifications.models import Message
from app.programmes.models import ProgrammeStatus, VisitProgramme
from app.staff.models import StaffMember
from app.visits.models import Visit, VisitAdult, VisitLocation, VisitRole, VisitStatus

# The programmes whose families have been given their visits: a schedule still being planned
# (or reopened) tells nobody.
TOLD = (ProgrammeStatus.PUBLISHED, ProgrammeStatus.IN_PROGRESS)
# A visit's reminder's cause_kind (see messages.py); its cause is the visit.
REMINDER_CAUSE = "visit_reminder"
# Reminders are never more than this far ahead (a programme's lead is at most 30 days).
_FURTHEST_LEAD = timedelta(days=31)


class Adult(NamedTuple):
    staff_id: UUID
    full_name: str
    role: VisitRole


@dataclass(frozen=True)
class VisitFacts:
    """A visit as its family is told of it, with its adults (teachers first)."""

    id: UUID
    household_id: UUID
    starts_at: datetime
    location: VisitLocation
    status: VisitStatus
    adults: tuple[Adult, ...]


async def visit_facts(
    session: AsyncSession, programme_id: UUID, visit_ids: Collection[UUID] | None = None
) -> list[VisitFacts]:
    """The programme's visits given to families or cancelled (those named, when given), read
    afresh from the database (a bulk update may have left loaded rows stale)."""
    statement = sa.select(
        col(Visit.id),
        col(Visit.household_id),
        col(Visit.starts_at),
        col(Visit.location),
        col(Visit.status),
    ).where(
        col(Visit.programme_id) == programme_id,
        col(Visit.status).in_([VisitStatus.SCHEDULED, VisitStatus.CANCELLED]),
    )
    if visit_ids is not None:
        statement = statement.where(col(Visit.id).in_(list(visit_ids)))
    visits = (await session.execute(statement.order_by(col(Visit.starts_at)))).all()
    adults = await _adults(session, [v.id for v in visits])
    return [
        VisitFacts(
            id=v.id,
            household_id=v.household_id,
            starts_at=v.starts_at,
            location=VisitLocation(v.location),
            status=VisitStatus(v.status),
            adults=tuple(adults.get(v.id, ())),
        )
        for v in visits
    ]


async def _adults(session: AsyncSession, visit_ids: list[UUID]) -> dict[UUID, list[Adult]]:
    found: dict[UUID, list[Adult]] = defaultdict(list)
    if not visit_ids:
        return found
    rows = await session.execute(
        select(VisitAdult.visit_id, VisitAdult.staff_id, StaffMember.full_name, VisitAdult.role)
        .join(StaffMember, col(StaffMember.id) == col(VisitAdult.staff_id))
        .where(col(VisitAdult.visit_id).in_(visit_ids))
        # "teacher" after "second_adult": teachers first, as a family is told of them.
        .order_by(col(VisitAdult.role).desc(), col(StaffMember.full_name))
    )
    for visit_id, staff_id, name, role in rows.all():
        found[visit_id].append(Adult(staff_id, name, VisitRole(role)))
    return found


class Upcoming(NamedTuple):
    trust_id: UUID
    school_id: UUID
    programme_id: UUID
    visit_id: UUID
    starts_at: datetime
    reminder_lead_days: int


async def upcoming_visits(session: AsyncSession, now: datetime) -> list[Upcoming]:
    """Every trust's visits, given to families of published or in-progress programmes, that
    start within the longest reminder lead: those whose reminders may be due. The planner reads
    across trusts and writes each programme's messages in its own trust's scope."""
    rows = await session.execute(
        sa.select(  # tenancy: the reminder planner's system scope, across trusts by design
            col(Visit.trust_id),
            col(Visit.school_id),
            col(Visit.programme_id),
            col(Visit.id),
            col(Visit.starts_at),
            col(VisitProgramme.reminder_lead_days),
        )
        .join(VisitProgramme, col(VisitProgramme.id) == col(Visit.programme_id))
        .where(
            col(VisitProgramme.status).in_(TOLD),
            col(Visit.status) == VisitStatus.SCHEDULED,
            col(Visit.starts_at) > now,
            col(Visit.starts_at) <= now + _FURTHEST_LEAD,
            ~sa.exists().where(
                col(Message.cause_kind) == REMINDER_CAUSE, col(Message.cause_id) == col(Visit.id)
            ),
        )
        .order_by(col(Visit.programme_id), col(Visit.starts_at))
    )
    return [Upcoming(*row) for row in rows.all()]


async def programme(session: AsyncSession, programme_id: UUID) -> VisitProgramme | None:
    """A programme read in the session's trust (a planner's, or a run's)."""
    return await session.get(VisitProgramme, programme_id)
