"""What every message to a programme's families says about the school and the family, for each
area that writes one (parents' invitations and reminders, visits' confirmations). Reads run in
the caller's trust, with or without a caller: planners write as the system, within one trust."""

from collections.abc import Collection
from datetime import date, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.london import local_time
from app.core.phones import spoken
from app.programmes.models import VisitProgramme
from app.programmes.repository import family_surnames
from app.trusts.models import School

# Said instead of a number when the school has not given its office phone.
NO_PHONE = "the school office"


async def school_values(session: AsyncSession, programme: VisitProgramme) -> dict[str, str]:
    """What every family message of a programme says about the school and its deadline."""
    school = await session.get(School, programme.school_id)  # tenancy: the programme's school
    assert school is not None, "a programme's school is kept while it has programmes"
    closes = programme.preferences_close_at
    return {
        "school_name": school.name,
        "school_phone": spoken(school.phone) if school.phone else NO_PHONE,
        "closes_on": day_of(closes) if closes else "the date given",
    }


async def family_names(
    session: AsyncSession, programme: VisitProgramme, households: Collection[UUID]
) -> dict[UUID, str]:
    """How a message names each family: its children's surnames ("Khan", "Khan / Patel")."""
    surnames = await family_surnames(session, programme, households)
    return {h: " / ".join(sorted(surnames.get(h, ()))) for h in households}


def day_of(when: datetime | date) -> str:
    """A day as a family reads it, in England: "Monday 8 September"."""
    day = local_time(when).date() if isinstance(when, datetime) else when
    return day.strftime("%A %-d %B")


def time_of(instant: datetime) -> str:
    """A time as a family reads it, in England: "9:30am", "2:15pm"."""
    local = local_time(instant)
    return local.strftime("%-I:%M") + ("am" if local.hour < 12 else "pm")
