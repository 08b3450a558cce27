"""The demo is live whenever it is run (its visit days ahead, parents still answering), and it
seeds its published password into nothing but its own SQLite file."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.core import db
from app.core.london import LONDON
from app.core.settings import ConfigurationError, Settings
from app.core.tenancy import system_scope
from app.parents.answers_models import HouseholdAnswer
from app.programmes.models import VisitProgramme
from app.staff.models import StaffMember
from app.synthetic.demo import demo_calendar, refuse_real_database, seed_demo

ROOT = Path(__file__).resolve().parent.parent.parent


async def test_the_demo_seeds_a_reception_programme_per_school_collecting_now() -> None:
    summary = await seed_demo(seed=3)
    programmes = summary["programmes"]
    assert programmes["count"] == len(summary["trusts"][0]["schools"]) == 3
    assert programmes["answers"] == sum(p["answers"] for p in programmes["items"]) > 0
    # The rosters are for the programmes' academic year, so every programme reaches families.
    assert all(p["households_in_scope"] > 0 for p in programmes["items"])
    async with db.open_session(system_scope("test demo")) as session:
        stored = list(await session.scalars(select(VisitProgramme)))
        answers = list(await session.scalars(select(HouseholdAnswer)))
    assert {(p.status, tuple(p.year_groups)) for p in stored} == {("collecting", ("R",))}
    assert len(answers) == programmes["answers"]
    now = datetime.now(UTC)
    today = now.astimezone(LONDON).date()
    for programme in stored:
        assert programme.preferences_open_at is not None
        assert programme.preferences_close_at is not None
        assert programme.preferences_open_at <= now < programme.preferences_close_at
        assert min(programme.days()) > today
    assert all(a.submitted_at <= now for a in answers)


def test_the_demo_is_dated_from_any_day_it_is_run() -> None:
    day = date(2026, 1, 1)
    while day < date(2029, 1, 1):
        calendar = demo_calendar(day)
        first, *_, last = calendar.visit_days
        assert [d.weekday() for d in calendar.visit_days] == [1, 2, 3], day  # Tuesday-Thursday
        assert timedelta(weeks=3) <= first - day <= timedelta(weeks=9), day
        assert not any(d.month == 8 or (d.month, d.day) in _CHRISTMAS for d in calendar.visit_days)
        start = int(calendar.academic_year[:4])
        assert calendar.academic_year == f"{start}/{(start + 1) % 100:02d}"
        assert date(start, 9, 1) <= first <= last < date(start + 1, 9, 1), day
        # Open all of that day, closed before the first visit day; answers so far are from
        # before the day began.
        day_starts = datetime.combine(day, time(0, 0), tzinfo=LONDON)
        assert calendar.preferences_open_at < calendar.answers_until == day_starts
        assert day_starts + timedelta(days=1) <= calendar.preferences_close_at
        assert calendar.preferences_close_at < datetime.combine(first, time(0, 0), tzinfo=LONDON)
        day += timedelta(days=1)


_CHRISTMAS = {(12, d) for d in range(20, 32)} | {(1, 1), (1, 2)}


def test_the_demo_refuses_any_database_but_its_own(tmp_path: Path) -> None:
    own = Settings(environment="development", data_dir=tmp_path, database_url="")
    refuse_real_database(own)
    refuse_real_database(own.model_copy(update={"database_url": own.embedded_database_url}))
    for database_url in ("postgresql://u@db/x", f"sqlite:///{tmp_path / 'other.db'}"):
        with pytest.raises(ConfigurationError, match="unset DATABASE_URL"):
            refuse_real_database(own.model_copy(update={"database_url": database_url}))
    production = own.model_copy(update={"environment": "production"})
    with pytest.raises(ConfigurationError, match="THRESHOLD_ENVIRONMENT=production"):
        refuse_real_database(production)


@pytest.mark.parametrize(
    "database_url",
    [os.environ["DATABASE_URL"], "postgresql://postgres:hunter2@127.0.0.1:5432/threshold"],
    ids=["the-test-database", "postgresql"],
)
async def test_threshold_demo_refuses_a_real_database_in_one_line(database_url: str) -> None:
    finished = subprocess.run(  # noqa: ASYNC221 - the test waits for it anyway
        [sys.executable, "-m", "app.cli", "demo", "--seed-only", "--json"],
        cwd=ROOT,
        env=os.environ | {"DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 1, finished
    assert finished.stdout == ""
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("threshold: the demo seeds logins with a published password")
    assert "DATABASE_URL" in lines[0]
    assert "hunter2" not in finished.stderr
    async with db.open_session(system_scope("test demo refused")) as session:
        assert await session.scalar(select(func.count()).select_from(StaffMember)) == 0
