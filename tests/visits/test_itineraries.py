"""An adult's days: visits in order with addresses, travel legs and the other adult."""

import httpx

from app.core.permissions import Role
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.visits.helpers import planned_programme


async def test_a_teacher_reads_their_own_days_and_slt_reads_anyones(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await planned_programme(client, world)
    teacher = world.login(Role.TEACHER)
    url = f"/api/v1/programmes/{programme['id']}/itineraries/{teacher.staff_id}"
    own = await client.get(url, headers=await bearer(teacher))
    assert own.status_code == 200, own.text
    stops = [s for day in own.json()["days"] for s in day["stops"]]
    assert {s["visit_id"] for s in stops} == {v["id"] for v in programme["visits"]}
    assert [s["starts_at"] for s in stops] == sorted(s["starts_at"] for s in stops)
    for stop in stops:
        assert stop["address"]
        assert stop["postcode"]
        assert stop["children"]
        assert str(teacher.staff_id) not in {a["staff_id"] for a in stop["with_adults"]}
        assert {a["role"] for a in stop["with_adults"]} == {"second_adult"}
        assert stop["travel_minutes"] >= 0
    first_of_day = own.json()["days"][0]["stops"][0]
    assert first_of_day["travel_minutes"] > 0  # from school

    slt = await client.get(url, headers=await bearer(world.login(Role.SCHOOL_ADMIN)))
    assert slt.json() == own.json()
    support = await bearer(world.login(Role.SUPPORT_STAFF))
    assert_problem(await client.get(url, headers=support), 403)


async def test_each_day_names_whom_to_ring(client: httpx.AsyncClient, world: World) -> None:
    programme = await planned_programme(client, world)
    teacher = world.login(Role.TEACHER)
    url = f"/api/v1/programmes/{programme['id']}/itineraries/{teacher.staff_id}"
    before = (await client.get(url, headers=await bearer(teacher))).json()["days"]
    assert before[0]["dsl_on_call"] is None  # nobody named yet: said so, not guessed
    named = await client.put(
        f"/api/v1/programmes/{programme['id']}/duty-rota/{before[0]['day']}",
        json={
            "safety_contact_id": str(world.login(Role.OFFICE).staff_id),
            "dsl_on_call_id": str(world.login(Role.DSL).staff_id),
        },
        headers=await bearer(world.login(Role.SCHOOL_ADMIN)),
    )
    assert named.status_code == 200, named.text
    day = (await client.get(url, headers=await bearer(teacher))).json()["days"][0]
    assert day["safety_contact"]["full_name"] == world.login(Role.OFFICE).full_name
    assert day["dsl_on_call"]["full_name"] == world.login(Role.DSL).full_name
