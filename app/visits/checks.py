"""Safety check-in and check-out: the two adults on a visit say when they go into a home and
when they come out, so the school knows who is still out (the day's board reads it).

One call each, by either adult on the visit; both are idempotent (a second check-in answers the
first's time and writes nothing), so a phone on a poor signal may retry freely. A check-in
needs a scheduled visit of a published or in-progress programme, no earlier than an hour before
its planned start; a check-out needs a check-in (409 otherwise) and is taken whatever the
outcome since recorded, so nobody is ever left "in" a home. Check-in sets the visit's arrival
time unless already recorded, check-out its departure.

Raises NotFound (404), Forbidden (403), CheckRefused (409).
"""

from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.errors import Forbidden, InvalidState
from app.core.london import local_time
from app.core.principal import Principal
from app.core.types import utcnow
from app.visits import history
from app.visits.models import Visit, VisitStatus
from app.visits.outcomes import ensure_in_field, visible_for_update
from app.visits.repository import VisitRepository
from app.visits.schemas import VisitRead
from app.visits.service import describe_one

# Adults may set off early, but a check-in days ahead is a mistake.
EARLIEST_CHECK_IN = timedelta(hours=1)


class CheckRefused(InvalidState):
    type, title = "visit-check-refused", "Not possible for this visit now"


async def check_in(session: AsyncSession, who: Principal, visit_id: UUID) -> VisitRead:
    repository, visit = await _adult_on(session, who, visit_id)
    if visit.checked_in_at is None:
        await ensure_in_field(session, who, visit)
        if visit.status is not VisitStatus.SCHEDULED:
            raise CheckRefused(f"This visit is {visit.status}: there is nothing to check in to.")
        now = utcnow()
        if now < visit.starts_at - EARLIEST_CHECK_IN:
            start = local_time(visit.starts_at).strftime("%H:%M on %d %B %Y")
            raise CheckRefused(
                f"The visit is planned for {start}: check in from an hour before it."
            )
        visit.checked_in_at, visit.checked_in_by = now, who.id
        visit.arrived_at = visit.arrived_at or now
        await _audit(session, who, visit, "visit.checked_in")
    return await describe_one(repository, visit)


async def check_out(session: AsyncSession, who: Principal, visit_id: UUID) -> VisitRead:
    repository, visit = await _adult_on(session, who, visit_id)
    if visit.checked_in_at is None:
        raise CheckRefused("Nobody has checked in to this visit: check in first.")
    if visit.checked_out_at is None:
        now = utcnow()
        visit.checked_out_at, visit.checked_out_by = now, who.id
        visit.departed_at = visit.departed_at or now
        await _audit(session, who, visit, "visit.checked_out")
    return await describe_one(repository, visit)


async def _adult_on(
    session: AsyncSession, who: Principal, visit_id: UUID
) -> tuple[VisitRepository, Visit]:
    repository, visit, adults = await visible_for_update(session, who, visit_id)
    if who.id not in adults:
        raise Forbidden("Only the adults on this visit check in and out of it.")
    return repository, visit


async def _audit(session: AsyncSession, who: Principal, visit: Visit, action: str) -> None:
    visit.updated_at = utcnow()
    history.entry(session, visit, action.removeprefix("visit."), who.id)
    await audit.record(
        session, who, action, subject_type="visit", subject_id=visit.id, school_id=visit.school_id
    )
