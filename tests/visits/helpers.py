"""A programme taken to scheduling, and one with a finished schedule run."""

from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select, update

from app.core import db
from app.core.jobs import JobStatus, enqueue, run_pending
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.programmes.models import Slot, VisitProgramme
from app.roster.models import Pupil
from app.scheduling.models import ScheduleRun
from app.synthetic.generator import Login, World
from app.visits.models import (
    Visit,
    VisitAdult,
    VisitLocation,
    VisitPupil,
    VisitRole,
    VisitStatus,
)
from tests.conftest import bearer, load_roster
from tests.parents.helpers import (
    answer_url,
    collecting_programme,
    household_of,
    invitation_code,
    parent_headers,
    slot_ids,
)
from tests.programmes.test_programmes import move, publish
from tests.roster.snapshots import small_snapshot


async def scheduling_programme(
    client: httpx.AsyncClient,
    world: World,
    roster: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """`roster`: a snapshot synced once the programme collects, in place of the small one."""
    programme = await collecting_programme(client, world, **overrides)
    if roster is not None:
        await load_roster(world, roster)
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


async def planned_programme(
    client: httpx.AsyncClient,
    world: World,
    roster: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The scheduling programme with a finished run: two proposed visits, both with the Robins'
    teacher, F-1's at its first choice."""
    programme = await scheduling_programme(client, world, roster, **overrides)
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


async def published_programme(
    client: httpx.AsyncClient, world: World, support_3b: Login | None = None
) -> dict[str, Any]:
    """The planned programme with Reception and Year 3 in scope, published: each family's visit
    is scheduled and joins its siblings (F-1: Yusuf of the Robins and Maryam of 3B; F-2: Lily of
    3B and the Robins' P-4), with the home teacher (who teaches both classes) and the pool's
    support assistant. `support_3b`: a member supporting 3B, not on either visit."""
    roster = small_snapshot(world)
    roster["classes"][1]["teacher_emails"] = [world.login(Role.TEACHER).email]
    if support_3b is not None:
        roster["classes"][1]["support_staff_emails"] = [support_3b.email]
    programme = await planned_programme(client, world, roster, year_groups=["R", "3"])
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    moved = await publish(client, programme["id"], admin)
    assert moved.status_code == 200, moved.text
    listed = await client.get(f"/api/v1/programmes/{programme['id']}/visits", headers=admin)
    visits = listed.json()["items"]
    assert {v["status"] for v in visits} == {"scheduled"}
    return programme | {"visits": visits}


async def visit_begun(visit_id: str, minutes_ago: int = 90) -> None:
    """The visit's planned time moved into the past, as on the day itself (the generated visit
    days are next summer)."""
    starts = utcnow() - timedelta(minutes=minutes_ago)
    async with db.open_session(system_scope("test: the visit's time comes")) as session:
        await session.execute(
            update(Visit)
            .where(col(Visit.id) == UUID(visit_id))
            .values(starts_at=starts, ends_at=starts + timedelta(minutes=45))
        )


async def pupil_of(mis_id: str) -> str:
    async with db.open_session(system_scope("test lookup")) as session:
        found = await session.scalar(select(Pupil.id).where(col(Pupil.mis_id) == mis_id))
    assert found is not None
    return str(found)
