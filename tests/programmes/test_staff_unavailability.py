"""The programme's view of staff unavailability, the periods the scheduler avoids: its school's
staff on its visit days (in London), and trust staff once they are in its pool."""

import httpx

from app.core.permissions import Role
from app.synthetic.generator import Login, World
from tests.conftest import assert_problem, bearer
from tests.programmes.test_programmes import create
from tests.staff.test_unavailability import MINE, listed, period


async def _record(client: httpx.AsyncClient, login: Login, starts: str, ends: str) -> str:
    response = await client.post(MINE, json=period(starts, ends), headers=await bearer(login))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_the_programme_sees_its_school_on_its_visit_days(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = (await create(client, world)).json()  # 6, 7 and 9 July 2027
    teacher, support = world.login(Role.TEACHER), world.login(Role.SUPPORT_STAFF)
    expected = {
        await _record(client, teacher, "2027-07-07T08:00:00+01:00", "2027-07-07T12:00:00+01:00"),
        # 23:00 on the 8th to 00:30 on the 9th in London: the 8th in UTC, the 9th in London.
        await _record(client, support, "2027-07-08T23:00:00+01:00", "2027-07-09T00:30:00+01:00"),
        await _record(client, support, "2027-07-02T09:00:00Z", "2027-07-10T09:00:00Z"),
    }
    # Not a visit day, in London.
    await _record(client, teacher, "2027-07-08T08:00:00+01:00", "2027-07-08T23:59:00+01:00")
    # Another school's teacher.
    await _record(
        client, world.login(Role.TEACHER, school=1), "2027-07-07T08:00Z", "2027-07-07T12:00Z"
    )
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{programme['id']}/staff-unavailability"
    found = await listed(client, url, admin)
    assert {p["id"] for p in found} == expected
    assert {p["full_name"] for p in found} == {teacher.full_name, support.full_name}
    assert [p["starts_at"] for p in found] == sorted(p["starts_at"] for p in found)
    assert_problem(await client.get(url, headers=await bearer(teacher)), 403)
    other_admin = await bearer(world.login(Role.SCHOOL_ADMIN, school=1))
    assert_problem(await client.get(url, headers=other_admin), 404)


async def test_the_programme_sees_trust_staff_in_its_pool(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = (await create(client, world)).json()
    trust_dsl = world.login(Role.TRUST_DSL)
    trust_admin = await bearer(world.login(Role.TRUST_ADMIN))
    staff_url = f"/api/v1/staff/{trust_dsl.staff_id}"
    etag = (await client.get(staff_url, headers=trust_admin)).headers["etag"]
    trained = await client.patch(
        staff_url,
        json={"visit_training_completed_date": "2026-07-01"},
        headers=trust_admin | {"If-Match": etag},
    )
    assert trained.status_code == 200, trained.text
    period_id = await _record(client, trust_dsl, "2027-07-06T08:00Z", "2027-07-06T12:00Z")
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{programme['id']}"
    assert await listed(client, f"{url}/staff-unavailability", admin) == []
    pool = await client.put(
        f"{url}/second-adults", json={"staff_ids": [str(trust_dsl.staff_id)]}, headers=admin
    )
    assert pool.status_code == 200, pool.text
    found = await listed(client, f"{url}/staff-unavailability", admin)
    assert [p["id"] for p in found] == [period_id]
