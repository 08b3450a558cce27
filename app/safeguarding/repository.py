"""Reads and writes of concerns. Need-to-know is the narrowing here: a concern is found only by
the DSLs of its school and the trust's DSLs (SAFEGUARDING_READ); to everyone else it does not
exist (404). Its raiser reads their own receipt through `RaisedRepository`."""

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, false, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.core.audit import AuditEntry
from app.core.permissions import Permission, Role
from app.core.repository import ScopedRepository
from app.programmes.models import VisitProgramme
from app.roster.models import Household, Pupil
from app.safeguarding import files_repository
from app.safeguarding.models import (
    ESCALATING,
    ChronologyEntry,
    ChronologyEntryKind,
    Concern,
    ConcernPupil,
)
from app.staff.models import AuthSession, RoleGrant, StaffMember
from app.trusts.models import School
from app.visits.models import Visit

# The audit actions that are reads of a concern's file (listed to its DSLs as its readers).
READ_ACTIONS = (
    "safeguarding.concern_read",
    "safeguarding.receipt_read",
    "safeguarding.concern_exported",
)


class ConcernRepository(ScopedRepository[Concern]):
    model, label = Concern, "concern"

    def base_statement(self) -> Select[Any]:
        schools = self.principal.schools_with(Permission.SAFEGUARDING_READ)
        statement = select(Concern)
        if schools is None:  # a trust DSL: every school of the trust (the floor keeps the trust)
            return statement
        if not schools:
            return statement.where(false())
        # A pupil's file received from another school of the trust widens need-to-know to the
        # receiving school's DSLs for the concerns it carried (the senders keep theirs).
        return statement.where(
            or_(
                col(Concern.school_id).in_(schools),
                col(Concern.id).in_(files_repository.received_by(schools)),
            )
        )

    def of_school(self, school_id: UUID) -> Select[Any]:
        """The school's own concerns, and those a pupil's file sent to it carried once its DSLs
        gave their receipt: the list a DSL works from holds every child on their roll."""
        return self.base_statement().where(
            or_(
                col(Concern.school_id) == school_id,
                col(Concern.id).in_(files_repository.received_by(frozenset({school_id}))),
            )
        )

    def of_pupil(self, pupil_id: UUID) -> Select[Any]:
        return self.base_statement().where(
            or_(
                col(Concern.id).in_(
                    select(ConcernPupil.concern_id).where(col(ConcernPupil.pupil_id) == pupil_id)
                ),
                col(Concern.id).in_(files_repository.received_into(pupil_id)),
            )
        )


class RaisedRepository(ScopedRepository[Concern]):
    """The concerns the caller raised, and nothing else."""

    model, label = Concern, "concern"

    def base_statement(self) -> Select[Any]:
        return super().base_statement().where(col(Concern.raised_by) == self.principal.id)


async def pupils_of(session: AsyncSession, concern_ids: Sequence[UUID]) -> dict[UUID, list[Any]]:
    found: dict[UUID, list[Any]] = {c: [] for c in concern_ids}
    if not concern_ids:
        return found
    rows = await session.scalars(
        select(ConcernPupil)  # tenancy: rows of concerns already read through the scope
        .where(col(ConcernPupil.concern_id).in_(list(concern_ids)))
        .order_by(col(ConcernPupil.role), col(ConcernPupil.pupil_id))
    )
    for row in rows:
        found[row.concern_id].append(row)
    return found


async def statuses_of(
    session: AsyncSession, concern_ids: Sequence[UUID]
) -> dict[UUID, list[ChronologyEntry]]:
    """Each concern's status and sign-off entries, oldest first: where it stands is the last
    status."""
    found: dict[UUID, list[ChronologyEntry]] = {c: [] for c in concern_ids}
    if not concern_ids:
        return found
    rows = await session.scalars(
        select(ChronologyEntry)  # tenancy: entries of concerns already read through the scope
        .where(
            col(ChronologyEntry.concern_id).in_(list(concern_ids)),
            col(ChronologyEntry.kind).in_(
                [ChronologyEntryKind.STATUS, ChronologyEntryKind.SIGN_OFF]
            ),
        )
        .order_by(col(ChronologyEntry.at), col(ChronologyEntry.id))
    )
    for row in rows:
        found[row.concern_id].append(row)
    return found


async def chronology(session: AsyncSession, concern_id: UUID) -> list[ChronologyEntry]:
    rows = await session.scalars(
        select(ChronologyEntry)  # tenancy: a concern already read through the scope
        .where(col(ChronologyEntry.concern_id) == concern_id)
        .order_by(col(ChronologyEntry.at), col(ChronologyEntry.id))
    )
    return list(rows)


async def entry(session: AsyncSession, concern_id: UUID, entry_id: UUID) -> ChronologyEntry | None:
    found: ChronologyEntry | None = await session.scalar(
        select(ChronologyEntry).where(  # tenancy: a concern already read through the scope
            col(ChronologyEntry.id) == entry_id, col(ChronologyEntry.concern_id) == concern_id
        )
    )
    return found


async def lock(session: AsyncSession, concern_id: UUID) -> None:
    """Two DSLs moving one concern on at once write one after the other (SQLite's single
    writer already serialises them)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = func.hashtextextended(f"threshold.concern:{concern_id}", 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


async def naming_pupil(session: AsyncSession, school_id: UUID, pupil_id: UUID) -> list[Concern]:
    """The school's concerns naming the pupil, oldest first: for a subject access export a DSL
    released them into (the caller is not a DSL; the release is the need to know)."""
    rows = await session.scalars(
        select(Concern)  # tenancy: the trust floor; the school given, the release checked
        .where(
            col(Concern.school_id) == school_id,
            col(Concern.id).in_(
                select(ConcernPupil.concern_id).where(col(ConcernPupil.pupil_id) == pupil_id)
            ),
        )
        .order_by(col(Concern.raised_at), col(Concern.id))
    )
    return list(rows)


async def pupils_at(session: AsyncSession, school_id: UUID, pupil_ids: Sequence[UUID]) -> set[UUID]:
    """Which of the pupils are on the school's roll (the trust floor applies): a concern names
    pupils of its own school only."""
    if not pupil_ids:
        return set()
    rows = await session.scalars(
        select(Pupil.id).where(  # tenancy: the trust floor; the school checked here
            col(Pupil.id).in_(list(pupil_ids)), col(Pupil.school_id) == school_id
        )
    )
    return set(rows)


async def readers(session: AsyncSession, concern_id: UUID) -> list[AuditEntry]:
    rows = await session.scalars(
        select(AuditEntry)  # tenancy: the trust floor; a concern already read through the scope
        .where(
            col(AuditEntry.subject_id) == concern_id,
            col(AuditEntry.action).in_(READ_ACTIONS),
        )
        .order_by(col(AuditEntry.at), col(AuditEntry.id))
    )
    return list(rows)


async def first_read_at(session: AsyncSession, concern_id: UUID) -> datetime | None:
    """When a DSL first opened the concern (its raiser reading their receipt does not count)."""
    found: datetime | None = await session.scalar(
        select(func.min(AuditEntry.at)).where(  # tenancy: the trust floor
            col(AuditEntry.subject_id) == concern_id,
            col(AuditEntry.action) == "safeguarding.concern_read",
        )
    )
    return found


async def school(session: AsyncSession, school_id: UUID) -> School | None:
    found: School | None = await session.scalar(
        select(School).where(col(School.id) == school_id)  # tenancy: the trust floor
    )
    return found


async def holders(
    session: AsyncSession, role: Role, trust_id: UUID, school_id: UUID | None
) -> list[tuple[UUID, str]]:
    """Active holders of `role` at the school (None: at trust level), by name."""
    where = (
        col(RoleGrant.school_id).is_(None)
        if school_id is None
        else col(RoleGrant.school_id) == school_id
    )
    rows = await session.execute(
        select(StaffMember.id, StaffMember.full_name)  # tenancy: the trust given, explicitly
        .join(RoleGrant, col(RoleGrant.staff_id) == col(StaffMember.id))
        .where(
            col(RoleGrant.role) == role,
            col(RoleGrant.trust_id) == trust_id,
            where,
            col(StaffMember.is_active).is_(True),
        )
        .distinct()
        .order_by(col(StaffMember.full_name), col(StaffMember.id))
    )
    return [(staff_id, name) for staff_id, name in rows.all()]


async def work_mobiles(session: AsyncSession, staff_ids: Sequence[UUID]) -> set[UUID]:
    """Which of the staff have a work mobile on record (never the numbers themselves)."""
    if not staff_ids:
        return set()
    rows = await session.scalars(
        select(StaffMember.id).where(  # tenancy: the trust floor; DSLs already chosen
            col(StaffMember.id).in_(list(staff_ids)), col(StaffMember.work_mobile).is_not(None)
        )
    )
    return set(rows)


async def unacknowledged(session: AsyncSession, raised_before: datetime) -> list[Concern]:
    """Concerns that escalate, raised before the instant, no DSL has yet moved on (the
    escalation planner's system scope, across trusts by design)."""
    moved_on = select(ChronologyEntry.concern_id).where(
        col(ChronologyEntry.kind) == ChronologyEntryKind.STATUS
    )
    rows = await session.scalars(
        select(Concern)  # tenancy: the escalation planner's system scope
        .where(
            col(Concern.urgency).in_(list(ESCALATING)),
            col(Concern.raised_at) <= raised_before,
            col(Concern.id).not_in(moved_on),
        )
        .order_by(col(Concern.raised_at), col(Concern.id))
    )
    return list(rows)


async def visit_household(
    session: AsyncSession, school_id: UUID, visit_id: UUID
) -> tuple[bool, UUID | None]:
    """Whether the visit is one of the school's (the trust floor applies), and its household."""
    found = await session.execute(
        select(Visit.household_id).where(  # tenancy: the trust floor; the school checked here
            col(Visit.id) == visit_id, col(Visit.school_id) == school_id
        )
    )
    row = found.first()
    return (row is not None, row[0] if row is not None else None)


async def household_known(session: AsyncSession, household_id: UUID) -> bool:
    found = await session.scalar(
        select(Household.id).where(col(Household.id) == household_id)  # tenancy: the trust floor
    )
    return found is not None


async def signed_in_at(session: AsyncSession, session_id: UUID) -> datetime | None:
    found: datetime | None = await session.scalar(
        select(AuthSession.created_at).where(col(AuthSession.id) == session_id)  # not scoped
    )
    return found


async def programmes_of(session: AsyncSession, academic_year: str | None) -> list[VisitProgramme]:
    statement = select(VisitProgramme)  # tenancy: the trust floor; the trust's own programmes
    if academic_year is not None:
        statement = statement.where(col(VisitProgramme.academic_year) == academic_year)
    rows = await session.scalars(
        statement.order_by(col(VisitProgramme.school_id), col(VisitProgramme.id))
    )
    return list(rows)


async def raised_at(
    session: AsyncSession, school_ids: Collection[UUID], first: datetime, last: datetime
) -> dict[UUID, list[datetime]]:
    """When each concern at the schools was raised in [first, last), by school: one read for
    any number of schools, times only (never which concern, about whom or what), to count."""
    rows = await session.execute(
        select(col(Concern.school_id), col(Concern.raised_at)).where(  # tenancy: the trust floor
            col(Concern.school_id).in_(school_ids),
            col(Concern.raised_at) >= first,
            col(Concern.raised_at) < last,
        )
    )
    found: dict[UUID, list[datetime]] = defaultdict(list)
    for school_id, at in rows.all():
        found[school_id].append(at)
    return found
