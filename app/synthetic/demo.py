"""Seeds the demo: the generator's world, written once, a Reception programme per school of the
first trust with parents' answers coming in, and a summary of its logins and programmes."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from app.core.db import open_session
from app.core.permissions import Role
from app.core.principal import Grant, Principal, PrincipalKind
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.programmes.models import ProgrammeStatus, VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.programmes.schemas import ProgrammeCreate
from app.staff.models import StaffMember
from app.synthetic.answers import answer_programme
from app.synthetic.dates import ACADEMIC_YEAR, VISIT_WEEK
from app.synthetic.generator import DEMO_PASSWORD, Generator, World, insert_world
from app.synthetic.roster import RosterGenerator

# Each trust's first school at the size the SPEC describes; the others smaller, to seed quickly.
DEMO_SCHOOL_SIZES = (650, 420, 210)
# The seeds' advice: start with one year group. Three visit days still to come (dates.py),
# answers asked for three weeks and closing tomorrow, so the office has a chase list to work
# through.
DEMO_PROGRAMME = {
    "name": "Reception home visits",
    "academic_year": ACADEMIC_YEAR,
    "visit_days": [d.isoformat() for d in VISIT_WEEK[2:]],
    "day_starts": "09:00",
    "day_ends": "17:30",
    "breaks": [{"starts": "12:00", "ends": "13:00"}],
    "year_groups": ["R"],
}
DEMO_WINDOW_OPENED = timedelta(days=20)
DEMO_WINDOW_CLOSES = timedelta(days=1)


async def _seed_rosters(session: AsyncSession, world: World, seed: int) -> None:
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
        snapshots = roster.trust_snapshots(keys, pupils_per_school=sizes, teacher_emails=teachers)
        for school in trust_world.schools:
            await session.flush()
            await apply_snapshot(
                session, school, snapshots[str(school.id)], dry_run=False, skip_rejected=False
            )


async def _seed_programmes(session: AsyncSession, world: World, seed: int) -> list[dict[str, Any]]:
    """Each school of the first trust: a Reception programme made and opened by its SLT through
    the programme service, so its grid is the one the API would make, and answers so far."""
    from app.programmes import service, transitions

    now = utcnow()
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
                "preferences_open_at": _iso(now - DEMO_WINDOW_OPENED),
                "preferences_close_at": _iso(now + DEMO_WINDOW_CLOSES),
            }
        )
        created = await service.create(session, who, school.id, body)
        programme = await transitions.transition(
            session, who, created.id, ProgrammeStatus.COLLECTING, "*"
        )
        answers = await answer_programme(session, who, programme, seed=seed + index, now=now)
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
        "preferences_close_at": _iso(programme.preferences_close_at or utcnow()),
    }


async def seed_demo(seed: int = 1) -> dict[str, Any]:
    world = Generator(seed).world()
    async with open_session(system_scope("seed the demo")) as session:
        operator = world.platform_admin.email
        exists = await session.scalar(
            select(StaffMember.id).where(StaffMember.email == operator)  # tenancy: system scope
        )
        programmes: list[dict[str, Any]] = []
        if exists is None:
            await insert_world(session, world)
            await _seed_rosters(session, world, seed)
            programmes = await _seed_programmes(session, world, seed)
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
