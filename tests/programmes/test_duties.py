"""The duty rota: SLT name each visit day's safety contact (office or SLT), on-call DSL (the
school's or the trust's) and deputies; everyone at the school reads it, with what is unnamed."""

from typing import Any

import httpx

from app.core.permissions import Role
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.programmes.test_programmes import DAYS, create


async def _rota_url(client: httpx.AsyncClient, world: World) -> str:
    created = await create(client, world)
    assert created.status_code == 201, created.text
    return f"/api/v1/programmes/{created.json()['id']}/duty-rota"


def _day(world: World, **names: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "safety_contact_id": str(world.login(Role.OFFICE).staff_id),
        "dsl_on_call_id": str(world.login(Role.DSL).staff_id),
        "dsl_deputy_ids": [str(world.login(Role.TRUST_DSL).staff_id)],
    }
    return body | names


async def test_slt_name_a_days_duties_and_the_school_reads_them(
    client: httpx.AsyncClient, world: World
) -> None:
    url = await _rota_url(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    named = await client.put(f"{url}/{DAYS[0]}", json=_day(world), headers=admin)
    assert named.status_code == 200, named.text
    assert named.json()["safety_contact"]["full_name"] == world.login(Role.OFFICE).full_name
    assert named.json()["dsl_deputies"][0]["staff_id"] == str(world.login(Role.TRUST_DSL).staff_id)

    teacher = await bearer(world.login(Role.TEACHER))
    rota = (await client.get(url, headers=teacher)).json()
    assert [d["day"] for d in rota["days"]] == DAYS
    assert rota["days"][0]["dsl_on_call"]["staff_id"] == str(world.login(Role.DSL).staff_id)
    assert rota["days"][1]["dsl_on_call"] is None
    assert f"{DAYS[1]}: no designated safeguarding lead on call" in rota["unnamed"]
    assert not any(u.startswith(DAYS[0]) for u in rota["unnamed"])

    # A second PUT replaces the day: the deputy left out is no longer named.
    again = await client.put(f"{url}/{DAYS[0]}", json=_day(world, dsl_deputy_ids=[]), headers=admin)
    assert again.status_code == 200, again.text
    assert again.json()["dsl_deputies"] == []


async def test_a_duty_needs_the_role_that_allows_it(
    client: httpx.AsyncClient, world: World
) -> None:
    url = await _rota_url(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    teacher = str(world.login(Role.TEACHER).staff_id)
    office = str(world.login(Role.OFFICE).staff_id)
    refused = await client.put(
        f"{url}/{DAYS[0]}",
        json=_day(world, safety_contact_id=teacher, dsl_on_call_id=office),
        headers=admin,
    )
    body = assert_problem(refused, 422, "staff-not-eligible")
    assert {e["pointer"] for e in body["errors"]} == {"/safety_contact_id", "/dsl_on_call_id"}
    # Another school's DSL is not this school's.
    elsewhere = str(world.login(Role.DSL, school=1).staff_id)
    assert_problem(
        await client.put(
            f"{url}/{DAYS[0]}", json=_day(world, dsl_on_call_id=elsewhere), headers=admin
        ),
        422,
        "staff-not-eligible",
    )
    rota = (await client.get(url, headers=admin)).json()
    assert rota["days"][0]["safety_contact"] is None  # nothing written


async def test_only_visit_days_have_duties_and_only_slt_name_them(
    client: httpx.AsyncClient, world: World
) -> None:
    url = await _rota_url(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    assert_problem(
        await client.put(f"{url}/2030-01-01", json=_day(world), headers=admin), 404, "not-found"
    )
    office = await bearer(world.login(Role.OFFICE))
    assert (
        await client.put(f"{url}/{DAYS[0]}", json=_day(world), headers=office)
    ).status_code == 403
    other = await bearer(world.login(Role.SCHOOL_ADMIN, school=1))
    assert_problem(await client.get(url, headers=other), 404, "not-found")
    same = _day(world)
    same["dsl_deputy_ids"] = [same["dsl_on_call_id"]]
    assert_problem(await client.put(f"{url}/{DAYS[0]}", json=same, headers=admin), 422)
