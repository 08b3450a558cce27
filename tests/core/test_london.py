"""Europe/London wall-clock time to and from UTC, on either side of the clock changes."""

from datetime import UTC, datetime

from app.core.london import local_time, utc_from_london


def test_summer_time_is_an_hour_ahead_of_utc() -> None:
    assert utc_from_london(datetime(2026, 10, 24, 9)) == datetime(2026, 10, 24, 8, tzinfo=UTC)


def test_winter_time_is_utc() -> None:
    assert utc_from_london(datetime(2026, 10, 26, 9)) == datetime(2026, 10, 26, 9, tzinfo=UTC)


def test_local_time_reads_an_instant_back_as_the_wall_clock() -> None:
    instant = utc_from_london(datetime(2026, 3, 29, 9))
    assert local_time(instant).strftime("%Y-%m-%d %H:%M %Z") == "2026-03-29 09:00 BST"
