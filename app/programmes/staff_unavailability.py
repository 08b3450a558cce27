"""The programme's view of staff unavailability: every period overlapping one of its visit days,
for staff at its school and anyone on its teams or second-adult pool; what the scheduler avoids.
Staff record the periods themselves (app/staff/unavailability.py)."""

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.london import london_day
from app.core.pagination import PageParams, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.programmes.models import VisitProgramme
from app.programmes.repository import ProgrammeRepository, TeamRepository
from app.staff.repository import UnavailabilityRepository
from app.staff.schemas import NamedUnavailabilityRead
from app.staff.unavailability import ORDER


async def for_programme(
    session: AsyncSession, who: Principal, programme_id: UUID, page: PageParams
) -> tuple[list[NamedUnavailabilityRead], str | None]:
    """Every period overlapping a visit day of staff at the programme's school, and of anyone
    on its teams or second-adult pool (trust-level staff may be): what the scheduler avoids."""
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_MANAGE
    )
    also = await TeamRepository(session, who).staffed(programme.id)
    statement = UnavailabilityRepository(session, who).overlapping(
        programme.school_id, also, visit_day_windows(programme)
    )
    rows, cursor = await paginate(session, statement, page, ORDER, mappings=True)
    return [NamedUnavailabilityRead.model_validate(dict(r)) for r in rows], cursor


def visit_day_windows(programme: VisitProgramme) -> list[tuple[datetime, datetime]]:
    """Each visit day as a UTC interval from Europe/London midnight to the next midnight."""
    return [london_day(day) for day in programme.days()]
