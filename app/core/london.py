"""Europe/London time. Schools, visit days and parents' choices are in wall-clock time in
England, while instants are stored in UTC: these convert between the two and name today's date
there, so no domain keeps its own time zone."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def local_time(instant: datetime) -> datetime:
    return instant.astimezone(LONDON)


def london_today() -> date:
    return datetime.now(LONDON).date()


def utc_from_london(wall_clock: datetime) -> datetime:
    """A naive Europe/London wall-clock time as the UTC instant it names."""
    return wall_clock.replace(tzinfo=LONDON).astimezone(UTC)


def london_day(day: date) -> tuple[datetime, datetime]:
    """A day in England as a UTC interval, from its midnight to the next."""
    starts = datetime.combine(day, time(0), tzinfo=LONDON)
    ends = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON)
    return starts.astimezone(UTC), ends.astimezone(UTC)
