"""The slot grid in Europe/London wall-clock time, stored in UTC, right across clock changes."""

from datetime import UTC, date, datetime, time

from app.core.london import local_time
from app.programmes.grid import Break, slot_grid


def grid(days: list[date], **overrides: object) -> list[tuple[str, str]]:
    settings: dict[str, object] = {
        "day_starts": time(9, 0),
        "day_ends": time(12, 0),
        "slot_minutes": 45,
        "travel_buffer_minutes": 15,
        "breaks": [],
    } | overrides
    found = slot_grid(days, **settings)  # type: ignore[arg-type]
    return [(s.starts_at.isoformat(), local_time(s.starts_at).strftime("%a %H:%M")) for s in found]


def test_slots_fill_the_window_with_travel_between() -> None:
    slots = grid([date(2026, 9, 1)])
    assert [local for _, local in slots] == ["Tue 09:00", "Tue 10:00", "Tue 11:00"]


def test_a_break_is_skipped() -> None:
    slots = grid(
        [date(2026, 9, 1)],
        day_ends=time(15, 0),
        breaks=[Break(time(12, 0), time(13, 0))],
    )
    assert [local for _, local in slots] == [
        "Tue 09:00",
        "Tue 10:00",
        "Tue 11:00",
        "Tue 13:00",
        "Tue 14:00",
    ]


def test_the_autumn_clock_change_keeps_local_times() -> None:
    # British Summer Time ends at 02:00 on Sunday 25 October 2026.
    saturday, sunday = (
        grid([date(2026, 10, 24), date(2026, 10, 25)])[0],
        grid([date(2026, 10, 25)])[0],
    )
    assert saturday == ("2026-10-24T08:00:00+00:00", "Sat 09:00")
    assert sunday == ("2026-10-25T09:00:00+00:00", "Sun 09:00")


def test_the_spring_clock_change_keeps_local_times() -> None:
    # British Summer Time starts at 01:00 on Sunday 29 March 2026.
    before = grid([date(2026, 3, 28)])[0]
    on_the_day = grid([date(2026, 3, 29)])[0]
    assert before == ("2026-03-28T09:00:00+00:00", "Sat 09:00")
    assert on_the_day == ("2026-03-29T08:00:00+00:00", "Sun 09:00")


def test_days_that_are_not_consecutive_come_out_in_order() -> None:
    found = slot_grid(
        [date(2026, 9, 4), date(2026, 9, 1)],
        day_starts=time(9, 0),
        day_ends=time(10, 0),
        slot_minutes=60,
        travel_buffer_minutes=0,
        breaks=[],
    )
    assert [s.day for s in found] == [date(2026, 9, 1), date(2026, 9, 4)]
    assert all(
        s.starts_at.tzinfo is UTC or s.starts_at.utcoffset() == datetime.now(UTC).utcoffset()
        for s in found
    )


def test_a_fine_grid_starts_a_slot_every_few_minutes_and_slots_overlap() -> None:
    slots = grid(
        [date(2026, 9, 1)],
        day_starts=time(9, 0),
        day_ends=time(10, 0),
        slot_minutes=30,
        start_every_minutes=10,
    )
    assert [local for _, local in slots] == [
        "Tue 09:00",
        "Tue 09:10",
        "Tue 09:20",
        "Tue 09:30",
    ]


def test_a_fine_grid_still_skips_a_break() -> None:
    slots = grid(
        [date(2026, 9, 1)],
        day_starts=time(11, 0),
        day_ends=time(14, 0),
        slot_minutes=30,
        start_every_minutes=15,
        breaks=[Break(time(12, 0), time(13, 0))],
    )
    assert [local for _, local in slots] == [
        "Tue 11:00",
        "Tue 11:15",
        "Tue 11:30",
        "Tue 13:00",
        "Tue 13:15",
        "Tue 13:30",
    ]
