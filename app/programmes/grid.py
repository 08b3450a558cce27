"""The slot grid: from a programme's days, daily window, slot length, travel buffer and breaks
to the start times parents choose from. Times are Europe/London wall-clock times
(app/core/london.py), so a visit day on the date the clocks change still starts at the same
local time; they are stored in UTC."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.core.london import utc_from_london


@dataclass(frozen=True)
class Break:
    starts: time
    ends: time


@dataclass(frozen=True)
class GridSlot:
    day: date
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC


def slot_grid(
    days: list[date],
    *,
    day_starts: time,
    day_ends: time,
    slot_minutes: int,
    travel_buffer_minutes: int,
    breaks: list[Break],
    start_every_minutes: int | None = None,
) -> list[GridSlot]:
    """Back to back (each slot, then the travel buffer) unless `start_every_minutes` is given:
    then a slot may start every so many minutes, and slots overlap when that is shorter than a
    visit (30-minute visits starting every 5 minutes). The solver keeps each adult's visits apart
    by the drive between them, so overlapping slots are only choices, never double bookings."""
    step = start_every_minutes if start_every_minutes else slot_minutes + travel_buffer_minutes
    slots: list[GridSlot] = []
    for day in sorted(days):
        slots.extend(_day_slots(day, day_starts, day_ends, slot_minutes, step, breaks))
    return slots


def _day_slots(
    day: date, starts: time, ends: time, minutes: int, step_minutes: int, breaks: list[Break]
) -> list[GridSlot]:
    length, step = timedelta(minutes=minutes), timedelta(minutes=step_minutes)
    cursor, close = datetime.combine(day, starts), datetime.combine(day, ends)
    pauses = sorted(
        (datetime.combine(day, b.starts), datetime.combine(day, b.ends)) for b in breaks
    )
    found: list[GridSlot] = []
    while cursor + length <= close:
        overlap = next((p for p in pauses if cursor < p[1] and p[0] < cursor + length), None)
        if overlap is not None:
            cursor = overlap[1]
            continue
        found.append(GridSlot(day, utc_from_london(cursor), utc_from_london(cursor + length)))
        cursor += step
    return found
