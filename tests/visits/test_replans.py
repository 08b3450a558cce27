"""Re-planning a day when an adult is away: SLT propose, nothing changes until they accept, then
the visits move, the absence is recorded and the moved families are told."""

from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select

from app.core import db
from app.core.london import local_time
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.notifications.models import Message
from app.staff.models import StaffUnavailability
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.visits.helpers import published_programme


def _day(visit: dict[str, Any]) -> str:
    return local_time(datetime.fromisoformat(visit["starts_at"])).date().isoformat()


async def _messages_about(household_ids: set[str]) -> list[Message]:
    async with db.open_session(system_scope("test: the outbox")) as session:
        rows = await session.scalars(
            select(Message).where(col(Message.household_id).in_([UUID(h) for h in household_ids]))
        )
        return list(rows)


async def _propose(
    client: httpx.AsyncClient, world: World, programme: dict[str, Any], day: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/programmes/{programme['id']}/replans",
        json={"day": day, "absent_staff_ids": [str(world.login(Role.TEACHER).staff_id)]},
        headers=await bearer(world.login(Role.SCHOOL_ADMIN)),
    )


async def test_a_teacher_away_moves_their_families_once_slt_accept(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    visits = programme["visits"]
    day = _day(visits[0])
    on_that_day = {v["household_id"] for v in visits if _day(v) == day}
    told_before = len(await _messages_about(on_that_day))

    proposed = await _propose(client, world, programme, day)
    assert proposed.status_code == 201, proposed.text
    plan = proposed.json()
    assert plan["status"] == "proposed"
    assert plan["moved"] == len(on_that_day)  # the teacher's visits, nobody else's
    teacher = world.login(Role.TEACHER).full_name
    for change in plan["changes"]:
        assert change["kind"] == "moved"
        assert teacher in change["reason"]
        assert _day({"starts_at": change["after"]["starts_at"]}) > day
    # Proposed only: nothing moved, nobody told.
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    still = await client.get(f"/api/v1/visits/{plan['changes'][0]['visit_id']}", headers=admin)
    assert _day(still.json()) == day
    assert len(await _messages_about(on_that_day)) == told_before

    accepted = await client.post(f"/api/v1/replans/{plan['id']}/acceptance", headers=admin)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    for change in plan["changes"]:
        moved = (await client.get(f"/api/v1/visits/{change['visit_id']}", headers=admin)).json()
        assert moved["starts_at"] == change["after"]["starts_at"]
        history = await client.get(f"/api/v1/visits/{change['visit_id']}/changes", headers=admin)
        assert history.json()["items"][0]["kind"] == "replanned"
    assert len(await _messages_about(on_that_day)) > told_before  # the families are told
    async with db.open_session(system_scope("test: the absence")) as session:
        away = list(await session.scalars(select(StaffUnavailability)))
    assert [a.staff_id for a in away] == [world.login(Role.TEACHER).staff_id]

    again = await client.post(f"/api/v1/replans/{plan['id']}/acceptance", headers=admin)
    assert_problem(again, 409, "replan-decided")


async def test_a_proposal_overtaken_by_a_change_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    day = _day(programme["visits"][0])
    first = (await _propose(client, world, programme, day)).json()
    second = (await _propose(client, world, programme, day)).json()
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    assert (
        await client.post(f"/api/v1/replans/{first['id']}/acceptance", headers=admin)
    ).is_success
    stale = await client.post(f"/api/v1/replans/{second['id']}/acceptance", headers=admin)
    assert_problem(stale, 409, "replan-stale")


async def test_only_slt_of_the_school_re_plan_a_visit_day(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    url = f"/api/v1/programmes/{programme['id']}/replans"
    body = {
        "day": _day(programme["visits"][0]),
        "absent_staff_ids": [str(world.login(Role.TEACHER).staff_id)],
    }
    office = await bearer(world.login(Role.OFFICE))
    assert_problem(await client.post(url, json=body, headers=office), 403)
    other = await bearer(world.login(Role.SCHOOL_ADMIN, school=1))
    assert_problem(await client.post(url, json=body, headers=other), 404)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    not_a_day = await client.post(url, json=body | {"day": "2031-01-07"}, headers=admin)
    assert_problem(not_a_day, 422)
    stranger = body | {"absent_staff_ids": [str(world.login(Role.TEACHER, school=1).staff_id)]}
    assert_problem(await client.post(url, json=stranger, headers=admin), 422)
