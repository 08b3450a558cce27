"""Europe/London time. Schools, visit days and parents' choices are in wall-clock time in
England, while instants are stored in UTC: these convert between the two and name today's date
there, so no domain keeps its own time zone."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def local_time(instant: datetime) -> datetime:
    return instant.astimezone(LONDON)


def london_today() -> date:
    return datetime.now(LONDON).date()


def utc_from_london(wall_clock: datetime) -> datetime:
    """A naive Europe/London wall-clock time as the UTC instant it names."""
    return wall_clock.replace(tzinfo=LONDON).astimezone(UTC)
