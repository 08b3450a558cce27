"""A programme taken to scheduling, and one with a finished schedule run."""

from typing import Any
from uuid import UUID

import httpx
from sqlmodel import select

from app.core import db
from app.core.jobs import JobStatus, enqueue, run_pending
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.programmes.models import Slot, VisitProgramme
from app.roster.models import Pupil
from app.scheduling.models import ScheduleRun
from app.synthetic.generator import World
from app.visits.models import (
    Visit,
    VisitAdult,
    VisitLocation,
    VisitPupil,
    VisitRole,
    VisitStatus,
)
from tests.conftest import bearer
from tests.parents.helpers import (
    answer_url,
    collecting_programme,
    household_of,
    invitation_code,
    parent_headers,
    slot_ids,
)
from tests.programmes.test_programmes import move


async def scheduling_programme(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    programme = await collecting_programme(client, world)
    home = await household_of("P-1")
    parent = await parent_headers(
        client, await invitation_code(client, world, programme["id"], home)
    )
    slots = await slot_ids(client, parent, programme["id"])
    chosen = await client.put(
        answer_url(programme["id"], home), json={"preferred_slot_ids": [slots[3]]}, headers=parent
    )
    assert chosen.status_code == 200, chosen.text
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    pool = await client.put(
        f"/api/v1/programmes/{programme['id']}/second-adults",
        json={"staff_ids": [str(world.login(Role.SUPPORT_STAFF).staff_id)]},
        headers=admin,
    )
    assert pool.status_code == 200, pool.text
    moved = await move(client, programme["id"], admin, "scheduling")
    assert moved.status_code == 200, moved.text
    return programme | {"slots": slots, "home": str(home)}


async def planned_programme(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """The scheduling programme with a finished run: two proposed visits, both with the Robins'
    teacher, F-1's at its first choice."""
    programme = await scheduling_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    started = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs",
        json={"time_limit_seconds": 2},
        headers=admin,
    )
    assert started.status_code == 202, started.text
    assert await run_pending() == 1
    listed = await client.get(f"/api/v1/programmes/{programme['id']}/visits", headers=admin)
    return programme | {"visits": listed.json()["items"], "run_id": started.json()["id"]}


async def a_run_and_visit(
    programme_id: UUID, household_id: UUID, teacher_id: UUID
) -> tuple[UUID, UUID]:
    """A finished schedule run of the home programme and the visit it proposed: the household's
    children, with the home teacher (whose class they are in)."""
    async with db.open_session(system_scope("matrix schedule run")) as session:
        programme = await session.get(VisitProgramme, programme_id)  # tenancy: system scope
        assert programme is not None
        slot = await session.scalar(select(Slot).where(Slot.programme_id == programme_id))
        assert slot is not None
        job = await enqueue(
            session,
            "scheduling.run",
            {},
            trust_id=programme.trust_id,
            school_id=programme.school_id,
        )
        job.status = JobStatus.SUCCEEDED
        await session.flush()
        run = ScheduleRun(
            trust_id=programme.trust_id,
            school_id=programme.school_id,
            programme_id=programme_id,
            job_id=job.id,
        )
        session.add(run)
        await session.flush()
        visit = Visit(
            trust_id=programme.trust_id,
            school_id=programme.school_id,
            programme_id=programme_id,
            household_id=household_id,
            slot_id=slot.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            location=VisitLocation.HOME,
            status=VisitStatus.PROPOSED,
            run_id=run.id,
        )
        session.add(visit)
        await session.flush()
        session.add(
            VisitAdult(
                trust_id=visit.trust_id,
                school_id=visit.school_id,
                visit_id=visit.id,
                staff_id=teacher_id,
                role=VisitRole.TEACHER,
            )
        )
        pupils = await session.scalars(select(Pupil.id).where(Pupil.household_id == household_id))
        for pupil_id in pupils:
            session.add(
                VisitPupil(
                    trust_id=visit.trust_id,
                    school_id=visit.school_id,
                    visit_id=visit.id,
                    pupil_id=pupil_id,
                )
            )
    return run.id, visit.id
