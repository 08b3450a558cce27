"""What a calendar feed needs: the feed by its token's digest, and one adult's visits with the
family's surname and postcode and the other adults (nothing about the children)."""

from collections import defaultdict
from datetime import date, datetime
from typing import NamedTuple
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, select

from app.core.london import local_time
from app.programmes.models import DayDuty, Duty, ProgrammeStatus, VisitProgramme
from app.roster.models import Household, Pupil
from app.staff.models import StaffMember
from app.trusts.models import School
from app.visits.calendar_models import CalendarFeed
from app.visits.models import Visit, VisitAdult, VisitLocation, VisitPupil, VisitRole, VisitStatus

SHOWN = (ProgrammeStatus.PUBLISHED, ProgrammeStatus.IN_PROGRESS, ProgrammeStatus.CLOSED)


class FeedVisit(NamedTuple):
    id: UUID
    version: int
    starts_at: datetime
    ends_at: datetime
    status: VisitStatus
    location: VisitLocation
    postcode: str | None
    school_name: str
    surnames: tuple[str, ...]
    others: tuple[tuple[str, VisitRole], ...]  # the other adults: name, role
    dsl_on_call: str | None  # the day's on-call designated safeguarding lead, when named


async def feed_by_digest(session: AsyncSession, token_digest: str) -> CalendarFeed | None:
    found: CalendarFeed | None = await session.scalar(
        select(CalendarFeed).where(col(CalendarFeed.token_digest) == token_digest)
    )
    return found


async def feed_of(session: AsyncSession, staff_id: UUID) -> CalendarFeed | None:
    found: CalendarFeed | None = await session.scalar(
        select(CalendarFeed).where(col(CalendarFeed.staff_id) == staff_id)
    )
    return found


async def remove_feed(session: AsyncSession, staff_id: UUID) -> bool:
    result = await session.execute(
        delete(CalendarFeed).where(col(CalendarFeed.staff_id) == staff_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def active_staff(session: AsyncSession, staff_id: UUID) -> bool:
    found = await session.scalar(
        select(StaffMember.is_active).where(col(StaffMember.id) == staff_id)
    )
    return bool(found)


async def visits_of(session: AsyncSession, staff_id: UUID, since: datetime) -> list[FeedVisit]:
    """The adult's visits of published (or running, or closed) programmes ending after `since`,
    cancelled ones included so that calendars take them away."""
    mine = select(VisitAdult.visit_id).where(col(VisitAdult.staff_id) == staff_id)
    rows = (
        await session.execute(
            sa.select(
                col(Visit.id),
                col(Visit.version),
                col(Visit.starts_at),
                col(Visit.ends_at),
                col(Visit.status),
                col(Visit.location),
                col(Household.postcode),
                col(School.name),
                col(Visit.programme_id),
            )
            .join(VisitProgramme, col(VisitProgramme.id) == col(Visit.programme_id))
            .join(Household, col(Household.id) == col(Visit.household_id))
            .join(School, col(School.id) == col(Visit.school_id))
            .where(
                col(Visit.id).in_(mine),
                col(Visit.ends_at) > since,
                col(VisitProgramme.status).in_(SHOWN),
                col(Visit.status).in_(
                    [VisitStatus.SCHEDULED, VisitStatus.COMPLETED, VisitStatus.CANCELLED]
                ),
            )
            .order_by(col(Visit.starts_at), col(Visit.id))
        )
    ).all()
    ids = [r[0] for r in rows]
    surnames = await _surnames(session, ids)
    others = await _other_adults(session, ids, staff_id)
    on_call = await _on_call(session, {r[8] for r in rows})
    return [
        FeedVisit(
            id=r[0],
            version=r[1],
            starts_at=r[2],
            ends_at=r[3],
            status=VisitStatus(r[4]),
            location=VisitLocation(r[5]),
            postcode=r[6],
            school_name=r[7],
            surnames=tuple(sorted(surnames[r[0]])),
            others=tuple(others[r[0]]),
            dsl_on_call=on_call.get((r[8], local_time(r[2]).date())),
        )
        for r in rows
    ]


async def _on_call(session: AsyncSession, programme_ids: set[UUID]) -> dict[tuple[UUID, date], str]:
    if not programme_ids:
        return {}
    rows = await session.execute(
        sa.select(col(DayDuty.programme_id), col(DayDuty.day), col(StaffMember.full_name))
        .join(StaffMember, col(StaffMember.id) == col(DayDuty.staff_id))
        .where(
            col(DayDuty.programme_id).in_(list(programme_ids)),
            col(DayDuty.duty) == Duty.DSL_ON_CALL,
        )
    )
    return {(programme_id, day): name for programme_id, day, name in rows.all()}


async def _surnames(session: AsyncSession, visit_ids: list[UUID]) -> dict[UUID, set[str]]:
    found: dict[UUID, set[str]] = defaultdict(set)
    if not visit_ids:
        return found
    rows = await session.execute(
        select(VisitPupil.visit_id, Pupil.preferred_last_name, Pupil.legal_last_name)
        .join(Pupil, col(Pupil.id) == col(VisitPupil.pupil_id))
        .where(col(VisitPupil.visit_id).in_(visit_ids))
    )
    for visit_id, preferred, legal in rows.all():
        found[visit_id].add(preferred or legal)
    return found


async def _other_adults(
    session: AsyncSession, visit_ids: list[UUID], staff_id: UUID
) -> dict[UUID, list[tuple[str, VisitRole]]]:
    found: dict[UUID, list[tuple[str, VisitRole]]] = defaultdict(list)
    if not visit_ids:
        return found
    rows = await session.execute(
        select(VisitAdult.visit_id, StaffMember.full_name, VisitAdult.role)
        .join(StaffMember, col(StaffMember.id) == col(VisitAdult.staff_id))
        .where(col(VisitAdult.visit_id).in_(visit_ids), col(VisitAdult.staff_id) != staff_id)
        .order_by(col(VisitAdult.role).desc(), col(StaffMember.full_name))
    )
    for visit_id, name, role in rows.all():
        found[visit_id].append((name, VisitRole(role)))
    return found
