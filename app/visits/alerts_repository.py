"""Reads for safety alerts: the visits now overdue in every trust (the planner's system scope),
each school's chain of people to tell, and the alerts themselves."""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Select, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.core.permissions import Role
from app.core.repository import ScopedRepository
from app.programmes import duties_repository as duties
from app.programmes.models import Duty, ProgrammeStatus, VisitProgramme
from app.staff.models import RoleGrant, StaffMember
from app.visits.alerts_models import VisitAlert
from app.visits.models import Visit, VisitAdult, VisitStatus

# Alerts are for the day's visits: a visit overdue for longer is history, not an emergency.
LOOK_BACK = timedelta(hours=12)
# The chain after the day's named safety contact: the office (it watches the day), then SLT.
CHAIN_ROLES = (Role.OFFICE, Role.SCHOOL_ADMIN)


async def overdue_visits(
    session: AsyncSession, now: datetime, check_in_after: timedelta, check_out_after: timedelta
) -> list[Visit]:
    """Visits of running programmes nobody checked in to, or nobody checked out of, in time."""
    rows = await session.scalars(
        select(Visit)  # tenancy: the alert planner's system scope, across trusts by design
        .join(VisitProgramme, col(VisitProgramme.id) == col(Visit.programme_id))
        .where(
            col(VisitProgramme.status).in_(
                [ProgrammeStatus.PUBLISHED, ProgrammeStatus.IN_PROGRESS]
            ),
            or_(
                (col(Visit.status) == VisitStatus.SCHEDULED)
                & col(Visit.checked_in_at).is_(None)
                & (col(Visit.starts_at) <= now - check_in_after)
                & (col(Visit.starts_at) > now - LOOK_BACK),
                col(Visit.checked_in_at).is_not(None)
                & col(Visit.checked_out_at).is_(None)
                & (col(Visit.ends_at) <= now - check_out_after)
                & (col(Visit.ends_at) > now - LOOK_BACK),
            ),
        )
    )
    return list(rows)


async def open_alerts(session: AsyncSession) -> list[VisitAlert]:
    rows = await session.scalars(
        select(VisitAlert).where(  # tenancy: the alert planner's system scope
            col(VisitAlert.acknowledged_at).is_(None), col(VisitAlert.resolved_at).is_(None)
        )
    )
    return list(rows)


async def alerts_of(session: AsyncSession, visit_ids: Sequence[UUID]) -> dict[Any, VisitAlert]:
    if not visit_ids:
        return {}
    rows = await session.scalars(
        select(VisitAlert).where(  # tenancy: the alert planner's system scope
            col(VisitAlert.visit_id).in_(list(visit_ids))
        )
    )
    return {(a.visit_id, a.kind): a for a in rows}


async def visits(session: AsyncSession, visit_ids: Sequence[UUID]) -> dict[UUID, Visit]:
    if not visit_ids:
        return {}
    rows = await session.scalars(
        select(Visit).where(col(Visit.id).in_(list(visit_ids)))  # tenancy: planner's system scope
    )
    return {v.id: v for v in rows}


async def chain(session: AsyncSession, school_id: UUID, day: date) -> list[tuple[UUID, str]]:
    """Who is told, in order: the day's named safety contact, then the school's office, then its
    SLT (each by name); active only."""
    found = list((await duties.named_on(session, school_id, day)).get(Duty.SAFETY_CONTACT, []))
    rows = await session.execute(
        select(RoleGrant.role, StaffMember.id, StaffMember.full_name)  # tenancy: system scope
        .join(StaffMember, col(StaffMember.id) == col(RoleGrant.staff_id))
        .where(
            col(RoleGrant.school_id) == school_id,
            col(RoleGrant.role).in_(list(CHAIN_ROLES)),
            col(StaffMember.is_active).is_(True),
        )
    )
    order = {role: i for i, role in enumerate(CHAIN_ROLES)}
    for _, staff_id, name in sorted(rows.all(), key=lambda r: (order[Role(r[0])], r[2], r[1])):
        if staff_id not in {s for s, _ in found}:
            found.append((staff_id, name))
    return found


class AlertRepository(ScopedRepository[VisitAlert]):
    model, label = VisitAlert, "alert"

    def of_programme(self, programme_id: UUID, open_only: bool) -> Select[Any]:
        statement = self.base_statement().where(col(VisitAlert.programme_id) == programme_id)
        if open_only:
            statement = statement.where(
                col(VisitAlert.acknowledged_at).is_(None), col(VisitAlert.resolved_at).is_(None)
            )
        return statement


async def adult_names(session: AsyncSession, visit_ids: Sequence[UUID]) -> dict[UUID, list[str]]:
    found: dict[UUID, list[str]] = {v: [] for v in visit_ids}
    if not visit_ids:
        return found
    rows = await session.execute(
        select(VisitAdult.visit_id, StaffMember.full_name)  # tenancy: planner's system scope
        .join(StaffMember, col(StaffMember.id) == col(VisitAdult.staff_id))
        .where(col(VisitAdult.visit_id).in_(list(visit_ids)))
        .order_by(col(VisitAdult.role).desc(), col(StaffMember.full_name))
    )
    for visit_id, name in rows.all():
        found[visit_id].append(name)
    return found


async def programmes(session: AsyncSession, ids: Sequence[UUID]) -> dict[UUID, VisitProgramme]:
    if not ids:
        return {}
    rows = await session.scalars(
        select(VisitProgramme).where(  # tenancy: the alert planner's system scope
            col(VisitProgramme.id).in_(list(ids))
        )
    )
    return {p.id: p for p in rows}
