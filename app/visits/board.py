"""The day's board: every team's visits on one day of a programme, with their status, check-in
and check-out times, and which are overdue, for SLT and the office watching the day.

A visit is overdue for check-in when it is still scheduled and nobody has checked in
`visits_overdue_checkin_minutes` after its planned start, and overdue for check-out when its
adults checked in and have not checked out `visits_overdue_checkout_minutes` after its planned
end (settings, 20 and 15 by default). The board only shows them: alerting anyone is another
part's.
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.london import local_time, london_today, utc_from_london
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import utcnow
from app.programmes.repository import ProgrammeRepository
from app.visits.alerts import overdue
from app.visits.alerts_models import OverdueKind
from app.visits.models import Visit
from app.visits.repository import ItineraryRepository, VisitRepository
from app.visits.schemas import BoardAdult, BoardRead, BoardTeam, BoardVisit


async def board(
    session: AsyncSession, who: Principal, programme_id: UUID, day: date | None
) -> BoardRead:
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.VISITS_FOLLOW_UP
    )
    day = day or london_today()
    starts = utc_from_london(datetime.combine(day, time()))
    ends = utc_from_london(datetime.combine(day + timedelta(days=1), time()))
    visits = await VisitRepository(session, who).of_programme_between(programme.id, starts, ends)
    adults = await ItineraryRepository(session).adults([v.id for v in visits])
    now = utcnow()
    teams: dict[tuple[UUID, ...], list[BoardVisit]] = defaultdict(list)
    names: dict[tuple[UUID, ...], list[BoardAdult]] = {}
    for visit in visits:
        team = tuple(sorted(staff_id for staff_id, _, _ in adults[visit.id]))
        names.setdefault(
            team,
            [BoardAdult(staff_id=s, name=n, role=r) for s, n, r in adults[visit.id]],
        )
        teams[team].append(_row(visit, now))
    listed = [BoardTeam(adults=names[t], visits=rows) for t, rows in teams.items()]
    listed.sort(key=lambda t: (t.visits[0].starts_at, [a.name for a in t.adults]))
    return BoardRead(
        programme_id=programme.id,
        day=day,
        as_of=now,
        teams=listed,
        overdue=sum(v.overdue_check_in or v.overdue_check_out for t in listed for v in t.visits),
    )


def _row(visit: Visit, now: datetime) -> BoardVisit:
    late = overdue(visit, now)
    return BoardVisit(
        visit_id=visit.id,
        household_id=visit.household_id,
        starts_at=visit.starts_at,
        ends_at=visit.ends_at,
        local_start=local_time(visit.starts_at).strftime("%H:%M"),
        local_end=local_time(visit.ends_at).strftime("%H:%M"),
        status=visit.status,
        checked_in_at=visit.checked_in_at,
        checked_out_at=visit.checked_out_at,
        overdue_check_in=late is OverdueKind.NO_CHECK_IN,
        overdue_check_out=late is OverdueKind.NO_CHECK_OUT,
    )
