"""Periods when a staff member cannot visit; the scheduler keeps them off visits in these.

Staff record their own. A manager lists, records or removes them on a colleague's behalf when
their powers reach every role the colleague holds (service.ensure_manages): a colleague who also
works at another school, or across the trust, is managed from where all of that is visible.
Periods may overlap (nothing is merged), but an exact duplicate of a recorded period is refused
(DuplicatePeriod, 409). Someone else's period, or a colleague outside the caller's scope, is not
found (404); a colleague the caller does not manage is refused (403).
"""

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageParams, SortKey, paginate
from app.core.principal import Principal
from app.staff.exceptions import DuplicatePeriod
from app.staff.models import StaffMember, StaffUnavailability
from app.staff.repository import StaffRepository, UnavailabilityRepository
from app.staff.schemas import UnavailabilityCreate, UnavailabilityRead
from app.staff.service import ensure_manages

ORDER = [SortKey(StaffUnavailability.starts_at), SortKey(StaffUnavailability.id)]

Listing = tuple[list[UnavailabilityRead], str | None]


async def list_own(session: AsyncSession, who: Principal, page: PageParams) -> Listing:
    return await _list(session, who, who.id, page)


async def record_own(
    session: AsyncSession, who: Principal, body: UnavailabilityCreate
) -> UnavailabilityRead:
    staff = await StaffRepository(session, who).get(who.id)
    return await _record(session, who, staff, body)


async def remove_own(session: AsyncSession, who: Principal, period_id: UUID) -> None:
    await _remove(session, who, who.id, period_id)


async def list_for_colleague(
    session: AsyncSession, who: Principal, staff_id: UUID, page: PageParams
) -> Listing:
    staff = await _managed_colleague(session, who, staff_id)
    return await _list(session, who, staff.id, page)


async def record_for_colleague(
    session: AsyncSession, who: Principal, staff_id: UUID, body: UnavailabilityCreate
) -> UnavailabilityRead:
    staff = await _managed_colleague(session, who, staff_id)
    return await _record(session, who, staff, body)


async def remove_for_colleague(
    session: AsyncSession, who: Principal, staff_id: UUID, period_id: UUID
) -> None:
    staff = await _managed_colleague(session, who, staff_id)
    await _remove(session, who, staff.id, period_id)


async def _managed_colleague(session: AsyncSession, who: Principal, staff_id: UUID) -> StaffMember:
    """404 for a colleague outside the caller's scope, then 403 unless the caller manages them."""
    staff = await StaffRepository(session, who).get(staff_id)
    await ensure_manages(session, who, staff)
    return staff


async def _list(session: AsyncSession, who: Principal, staff_id: UUID, page: PageParams) -> Listing:
    statement = UnavailabilityRepository(session, who).of_staff(staff_id)
    rows, cursor = await paginate(session, statement, page, ORDER)
    return [UnavailabilityRead.model_validate(r) for r in rows], cursor


async def _record(
    session: AsyncSession, who: Principal, staff: StaffMember, body: UnavailabilityCreate
) -> UnavailabilityRead:
    assert staff.trust_id is not None  # platform operators hold no availability:own
    starts_at, ends_at = body.starts_at.astimezone(UTC), body.ends_at.astimezone(UTC)
    if await UnavailabilityRepository(session, who).exists(staff.id, starts_at, ends_at):
        raise DuplicatePeriod("This exact period is already recorded for this staff member.")
    period = StaffUnavailability(
        trust_id=staff.trust_id,
        staff_id=staff.id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=body.reason,
        recorded_by=who.id,
    )
    session.add(period)
    await session.flush()
    return UnavailabilityRead.model_validate(period)


async def _remove(session: AsyncSession, who: Principal, staff_id: UUID, period_id: UUID) -> None:
    repository = UnavailabilityRepository(session, who)
    period = await repository.find(period_id)
    if period is None or period.staff_id != staff_id:
        raise repository.not_found(period_id)
    await session.delete(period)
    await session.flush()


async def record_absence(
    session: AsyncSession,
    who: Principal,
    staff: list[StaffMember],
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
) -> None:
    """A day's absence SLT acted on (a re-plan accepted), recorded for each adult unless the
    same period already is, so later runs and changes keep them off that day."""
    repository = UnavailabilityRepository(session, who)
    for person in staff:
        if person.trust_id is None or await repository.exists(person.id, starts_at, ends_at):
            continue
        session.add(
            StaffUnavailability(
                trust_id=person.trust_id,
                staff_id=person.id,
                starts_at=starts_at,
                ends_at=ends_at,
                reason=reason,
                recorded_by=who.id,
            )
        )
    await session.flush()
