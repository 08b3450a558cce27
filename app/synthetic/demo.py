"""Seeds the demo: the generator's world, written once, and a summary of its logins."""

from typing import Any

from sqlmodel import select

from app.core.db import open_session
from app.core.tenancy import system_scope
from app.staff.models import StaffMember
from app.synthetic.generator import DEMO_PASSWORD, Generator, insert_world


async def seed_demo(seed: int = 1) -> dict[str, Any]:
    world = Generator(seed).world()
    async with open_session(system_scope("seed the demo")) as session:
        operator = world.platform_admin.email
        exists = await session.scalar(
            select(StaffMember.id).where(StaffMember.email == operator)  # tenancy: system scope
        )
        if exists is None:
            await insert_world(session, world)
    trust_names = {tw.trust.id: tw.trust.name for tw in world.trusts}
    school_names = {s.id: s.name for tw in world.trusts for s in tw.schools}
    return {
        "password": DEMO_PASSWORD,
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
