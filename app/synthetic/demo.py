"""Seeds the demo: the generator's world, written once, and a summary of its logins."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from app.core.db import open_session
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.staff.models import StaffMember
from app.synthetic.generator import DEMO_PASSWORD, Generator, World, insert_world
from app.synthetic.roster import RosterGenerator

# Each trust's first school at the size the SPEC describes; the others smaller, to seed quickly.
DEMO_SCHOOL_SIZES = (650, 420, 210)


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


async def seed_demo(seed: int = 1) -> dict[str, Any]:
    world = Generator(seed).world()
    async with open_session(system_scope("seed the demo")) as session:
        operator = world.platform_admin.email
        exists = await session.scalar(
            select(StaffMember.id).where(StaffMember.email == operator)  # tenancy: system scope
        )
        if exists is None:
            await insert_world(session, world)
            await _seed_rosters(session, world, seed)
    trust_names = {tw.trust.id: tw.trust.name for tw in world.trusts}
    school_names = {s.id: s.name for tw in world.trusts for s in tw.schools}
    return {
        "password": DEMO_PASSWORD,
        "pupils": "roster synced per school from the synthetic MIS generator",
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
