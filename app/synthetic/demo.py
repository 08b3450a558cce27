"""Seeds the demo: the generator's world, written once, a Reception programme per school of the
first trust with parents' answers coming in, and a summary of its logins and programmes.

The demo is dated from the day it is seeded (`demo_calendar`), so it is live whenever it is run:
its visit days lie a few weeks ahead and parents are still answering. Everything else is the
same for the same seed and the same day."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from app.core.db import open_session
from app.core.london import LONDON, london_today
from app.core.permissions import Role
from app.core.principal import Grant, Principal, PrincipalKind
from app.core.settings import ConfigurationError, Settings
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.programmes.models import ProgrammeStatus, VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.programmes.schemas import ProgrammeCreate
from app.staff.models import StaffMember
from app.synthetic.answers import answer_programme
from app.synthetic.generator import DEMO_PASSWORD, Generator, World, insert_world
from app.synthetic.roster import RosterGenerator

# Each trust's first school at the size the SPEC describes; the others smaller, to seed quickly.
DEMO_SCHOOL_SIZES = (650, 420, 210)
# The seeds' advice: start with one year group. The visit days come from `demo_calendar`.
DEMO_PROGRAMME = {
    "name": "Reception home visits",
    "day_starts": "09:00",
    "day_ends": "17:30",
    "breaks": [{"starts": "12:00", "ends": "13:00"}],
    "year_groups": ["R"],
}
# Three days, Tuesday to Thursday, at least three weeks ahead: time to schedule and to tell
# families their times. Answers were asked for from twenty days ago and close tomorrow
# afternoon, so the office has a chase list to work through.
DEMO_LEAD = timedelta(weeks=3)
DEMO_FIRST_WEEKDAY = 1  # Tuesday
DEMO_VISIT_DAYS = 3
DEMO_WINDOW_OPENED = timedelta(days=20)
DEMO_WINDOW_OPENS_AT = time(8, 0)
DEMO_WINDOW_CLOSES = timedelta(days=1)
DEMO_WINDOW_CLOSES_AT = time(17, 0)


@dataclass(frozen=True)
class DemoCalendar:
    """The demo's dates, all from the day it is seeded."""

    visit_days: tuple[date, ...]
    academic_year: str
    preferences_open_at: datetime
    preferences_close_at: datetime
    # Answers so far are the ones sent before the day began: the same all day long.
    answers_until: datetime


def demo_calendar(today: date) -> DemoCalendar:
    first = today + DEMO_LEAD
    first += timedelta(days=(DEMO_FIRST_WEEKDAY - first.weekday()) % 7)
    while any(_school_closed(day) for day in _visit_days(first)):
        first += timedelta(weeks=1)
    return DemoCalendar(
        visit_days=_visit_days(first),
        academic_year=academic_year_of(first),
        preferences_open_at=_london(today - DEMO_WINDOW_OPENED, DEMO_WINDOW_OPENS_AT),
        preferences_close_at=_london(today + DEMO_WINDOW_CLOSES, DEMO_WINDOW_CLOSES_AT),
        answers_until=_london(today, time(0, 0)),
    )


def _visit_days(first: date) -> tuple[date, ...]:
    return tuple(first + timedelta(days=i) for i in range(DEMO_VISIT_DAYS))


def _school_closed(day: date) -> bool:
    """Days every school in England is on holiday: August, and Christmas to New Year."""
    return day.month == 8 or (day.month, day.day) >= (12, 20) or (day.month, day.day) <= (1, 2)


def academic_year_of(day: date) -> str:
    """The academic year as programmes count it (1 August to 31 July, checks.py)."""
    start = day.year if day.month >= 8 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def _london(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=LONDON)


def refuse_real_database(settings: Settings) -> None:
    """Every demo login shares one published password: the demo seeds only its own SQLite file,
    never a database someone else might use."""
    if settings.environment == "production":
        raise ConfigurationError(
            "the demo seeds logins with a published password and does not run with "
            "THRESHOLD_ENVIRONMENT=production"
        )
    if not settings.uses_embedded_database:
        raise ConfigurationError(
            "the demo seeds logins with a published password, so it runs only on its own "
            "SQLite file under THRESHOLD_DATA_DIR: unset DATABASE_URL to run it"
        )


async def _seed_rosters(session: AsyncSession, world: World, seed: int, academic_year: str) -> None:
    """Every school's roster, synced through the same path an MIS feed takes."""
    from app.roster.service import apply_snapshot

    roster = RosterGenerator(seed)
    for trust_world in world.trusts:
        keys = [str(school.id) for school in trust_world.schools]
        teachers = {
            key: [
                lg.email
                for lg in world.logins
                if lg.role is Role.TEACHER and str(lg.school_id) == key
            ]
            for key in keys
        }
        sizes = [DEMO_SCHOOL_SIZES[min(i, len(DEMO_SCHOOL_SIZES) - 1)] for i in range(len(keys))]
        snapshots = roster.trust_snapshots(
            keys, pupils_per_school=sizes, teacher_emails=teachers, academic_year=academic_year
        )
        for school in trust_world.schools:
            await session.flush()
            await apply_snapshot(
                session, school, snapshots[str(school.id)], dry_run=False, skip_rejected=False
            )


async def _seed_programmes(
    session: AsyncSession, world: World, seed: int, calendar: DemoCalendar
) -> list[dict[str, Any]]:
    """Each school of the first trust: a Reception programme made and opened by its SLT through
    the programme service, so its grid is the one the API would make, and answers so far."""
    from app.programmes import service, transitions

    trust_world = world.trusts[0]
    summaries = []
    for index, school in enumerate(trust_world.schools):
        admin = world.login(Role.SCHOOL_ADMIN, trust=0, school=index)
        who = Principal(
            PrincipalKind.STAFF,
            admin.staff_id,
            trust_world.trust.id,
            (Grant(Role.SCHOOL_ADMIN, school.id),),
        )
        body = ProgrammeCreate.model_validate(
            DEMO_PROGRAMME
            | {
                "academic_year": calendar.academic_year,
                "visit_days": [day.isoformat() for day in calendar.visit_days],
                "preferences_open_at": _iso(calendar.preferences_open_at),
                "preferences_close_at": _iso(calendar.preferences_close_at),
            }
        )
        created = await service.create(session, who, school.id, body)
        programme = await transitions.transition(
            session, who, created.id, ProgrammeStatus.COLLECTING, "*"
        )
        answers = await answer_programme(
            session, who, programme, seed=seed + index, now=calendar.answers_until
        )
        households = await ProgrammeRepository(session, who).in_scope(programme)
        summary = _summary(programme, created.slot_count, len(answers))
        summaries.append(summary | {"households_in_scope": len({h for h, _, _ in households})})
    return summaries


def _iso(instant: datetime) -> str:
    return instant.replace(microsecond=0).isoformat()


def _summary(programme: VisitProgramme, slots: int, answers: int) -> dict[str, Any]:
    return {
        "id": str(programme.id),
        "school_id": str(programme.school_id),
        "name": programme.name,
        "academic_year": programme.academic_year,
        "status": programme.status.value,
        "visit_days": list(programme.visit_days),
        "slots": slots,
        "answers": answers,
        "preferences_open_at": _iso(programme.preferences_open_at or utcnow()),
        "preferences_close_at": _iso(programme.preferences_close_at or utcnow()),
    }


async def seed_demo(seed: int = 1, *, today: date | None = None) -> dict[str, Any]:
    """`today` (Europe/London; default: the real one) dates the programmes."""
    calendar = demo_calendar(today or london_today())
    world = Generator(seed).world()
    async with open_session(system_scope("seed the demo")) as session:
        operator = world.platform_admin.email
        exists = await session.scalar(
            select(StaffMember.id).where(StaffMember.email == operator)  # tenancy: system scope
        )
        programmes: list[dict[str, Any]] = []
        if exists is None:
            await insert_world(session, world)
            await _seed_rosters(session, world, seed, calendar.academic_year)
            programmes = await _seed_programmes(session, world, seed, calendar)
    trust_names = {tw.trust.id: tw.trust.name for tw in world.trusts}
    school_names = {s.id: s.name for tw in world.trusts for s in tw.schools}
    return {
        "password": DEMO_PASSWORD,
        "pupils": "roster synced per school from the synthetic MIS generator",
        "programmes": {
            "count": len(programmes),
            "answers": sum(p["answers"] for p in programmes),
            "items": programmes,
        },
        "trusts": [
            {
                "id": str(tw.trust.id),
                "name": tw.trust.name,
                "schools": [{"id": str(s.id), "name": s.name, "urn": s.urn} for s in tw.schools],
            }
            for tw in world.trusts
        ],
        "logins": [
            {
                "email": login.email,
                "password": login.password,
                "role": login.role.value,
                "staff_id": str(login.staff_id),
                "trust_id": str(login.trust_id) if login.trust_id else None,
                "trust_name": trust_names.get(login.trust_id) if login.trust_id else None,
                "school_id": str(login.school_id) if login.school_id else None,
                "school_name": school_names.get(login.school_id) if login.school_id else None,
            }
            for login in world.logins
        ],
    }
