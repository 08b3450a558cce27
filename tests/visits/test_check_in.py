"""Safety check-in and check-out: one call each by an adult on the visit, idempotent, in order."""

from datetime import datetime

import httpx

from app.core.permissions import Role
from app.synthetic.generator import World
from tests.conftest import all_rows, assert_problem, bearer
from tests.visits.helpers import published_programme, pupil_of, visit_begun


def _url(visit_id: str, action: str) -> str:
    return f"/api/v1/visits/{visit_id}/{action}"


async def test_an_adult_checks_in_and_out_once(client: httpx.AsyncClient, world: World) -> None:
    programme = await published_programme(client, world)
    yusuf = await pupil_of("P-1")
    visit = next(v for v in programme["visits"] if yusuf in v["pupil_ids"])
    await visit_begun(visit["id"], minutes_ago=5)
    teacher = world.login(Role.TEACHER)
    second = next(a["staff_id"] for a in visit["adults"] if a["role"] == "second_adult")
    assert second == str(world.login(Role.SUPPORT_STAFF).staff_id)
    headers = await bearer(teacher)
    support = await bearer(world.login(Role.SUPPORT_STAFF))

    early_out = await client.post(_url(visit["id"], "check-out"), headers=headers)
    assert "check in first" in assert_problem(early_out, 409, "visit-check-refused")["detail"]

    checked_in = await client.post(_url(visit["id"], "check-in"), headers=headers)
    assert checked_in.status_code == 200, checked_in.text
    first = checked_in.json()
    assert first["checked_in_by"] == str(teacher.staff_id)
    assert first["arrived_at"] == first["checked_in_at"]
    assert first["checked_out_at"] is None
    before = await all_rows()
    again = await client.post(_url(visit["id"], "check-in"), headers=support)
    assert again.status_code == 200, again.text
    assert again.json()["checked_in_at"] == first["checked_in_at"]
    assert again.json()["checked_in_by"] == str(teacher.staff_id)
    assert await all_rows() == before, "a second check-in wrote"

    # The outcome may be recorded before they leave; check-out is still taken.
    recorded = await client.post(
        _url(visit["id"], "outcome"), json={"outcome": "completed"}, headers=support
    )
    assert recorded.status_code == 200, recorded.text
    out = await client.post(_url(visit["id"], "check-out"), headers=support)
    assert out.status_code == 200, out.text
    left = out.json()
    assert left["checked_out_by"] == second
    assert left["departed_at"] == left["checked_out_at"]
    assert datetime.fromisoformat(left["checked_out_at"]) >= datetime.fromisoformat(
        first["checked_in_at"]
    )
    before = await all_rows()
    twice = await client.post(_url(visit["id"], "check-out"), headers=headers)
    assert twice.json()["checked_out_at"] == left["checked_out_at"]
    assert await all_rows() == before, "a second check-out wrote"


async def test_only_the_adults_on_the_visit_check_in(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    visit = programme["visits"][0]
    await visit_begun(visit["id"], minutes_ago=5)
    callers = [
        (await bearer(world.login(Role.SCHOOL_ADMIN)), 403),
        (await bearer(world.login(Role.OFFICE)), 403),
        (await bearer(world.login(Role.TEACHER, school=1)), 404),
        (await bearer(world.login(Role.TRUST_ADMIN, trust=1)), 404),
    ]
    before = await all_rows()
    for headers, status in callers:
        assert_problem(await client.post(_url(visit["id"], "check-in"), headers=headers), status)
    assert await all_rows() == before


async def test_no_check_in_long_before_the_visit_or_to_a_visit_called_off(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    visit = programme["visits"][0]
    teacher = await bearer(world.login(Role.TEACHER))
    too_soon = await client.post(_url(visit["id"], "check-in"), headers=teacher)
    assert "from an hour before" in assert_problem(too_soon, 409)["detail"]
    declined = await client.post(
        _url(visit["id"], "outcome"),
        json={"outcome": "declined", "reason": "Said no on the doorstep"},
        headers=teacher,
    )
    assert declined.status_code == 200, declined.text
    await visit_begun(visit["id"], minutes_ago=5)
    called_off = await client.post(_url(visit["id"], "check-in"), headers=teacher)
    assert "nothing to check in to" in assert_problem(called_off, 409)["detail"]
