"""Periods staff cannot visit: their own, and a manager's on a colleague's behalf (the
programme's view the scheduler reads: tests/programmes/test_staff_unavailability.py)."""

from typing import Any
from uuid import uuid4

import httpx
import pytest

from app.core.permissions import Role
from app.synthetic.generator import Login, World
from tests.conftest import assert_problem, bearer

MINE = "/api/v1/me/unavailability"


def period(starts_at: str, ends_at: str, **extra: Any) -> dict[str, Any]:
    return {"starts_at": starts_at, "ends_at": ends_at, **extra}


def colleague_url(login: Login) -> str:
    return f"/api/v1/staff/{login.staff_id}/unavailability"


def second_teacher(world: World, trust: int = 0, school: int = 0) -> Login:
    school_id = world.trusts[trust].schools[school].id
    teachers = [lg for lg in world.logins if lg.role is Role.TEACHER and lg.school_id == school_id]
    return teachers[1]


async def listed(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> list[Any]:
    response = await client.get(url, params={"limit": 200}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def test_staff_record_list_and_remove_their_own(
    client: httpx.AsyncClient, world: World
) -> None:
    teacher = world.login(Role.TEACHER)
    headers = await bearer(teacher)
    morning = period("2026-09-02T08:00:00+01:00", "2026-09-02T12:00:00+01:00", reason="Dentist")
    created = await client.post(MINE, json=morning, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["staff_id"] == str(teacher.staff_id)
    assert body["recorded_by"] == str(teacher.staff_id)
    assert body["reason"] == "Dentist"
    assert body["starts_at"].startswith("2026-09-02T07:00:00")  # stored and answered in UTC
    overlapping = period("2026-09-02T10:00:00+01:00", "2026-09-02T15:00:00+01:00")
    assert (await client.post(MINE, json=overlapping, headers=headers)).status_code == 201
    # The same instants written in UTC are the same period.
    same = period("2026-09-02T07:00:00Z", "2026-09-02T11:00:00Z")
    assert_problem(
        await client.post(MINE, json=same, headers=headers), 409, "duplicate-unavailability"
    )
    items = await listed(client, MINE, headers)
    assert len(items) == 2
    assert items[0]["id"] == body["id"]  # time order
    removed = await client.delete(f"{MINE}/{body['id']}", headers=headers)
    assert removed.status_code == 204
    remaining = await listed(client, MINE, headers)
    assert len(remaining) == 1
    assert remaining[0]["id"] != body["id"]


@pytest.mark.parametrize(
    "bad",
    [
        period("2026-09-02T12:00:00Z", "2026-09-02T08:00:00Z"),
        period("2026-09-02T08:00:00Z", "2026-09-02T08:00:00Z"),
        period("2026-09-01T00:00:00Z", "2026-10-02T00:00:01Z"),
        period("2026-09-02T08:00:00", "2026-09-02T12:00:00"),
        period("2026-09-02T08:00:00Z", "2026-09-02T12:00:00Z", reason="x" * 201),
        period("2026-09-02T08:00:00Z", "2026-09-02T12:00:00Z", staff_id=str(uuid4())),
    ],
)
async def test_periods_are_checked(
    client: httpx.AsyncClient, world: World, bad: dict[str, Any]
) -> None:
    headers = await bearer(world.login(Role.TEACHER))
    assert_problem(await client.post(MINE, json=bad, headers=headers), 422)
    assert await listed(client, MINE, headers) == []


async def test_a_month_is_the_longest_period(client: httpx.AsyncClient, world: World) -> None:
    headers = await bearer(world.login(Role.SUPPORT_STAFF))
    month = period("2026-09-01T00:00:00Z", "2026-10-02T00:00:00Z")
    assert (await client.post(MINE, json=month, headers=headers)).status_code == 201


async def test_someone_elses_period_is_not_found(client: httpx.AsyncClient, world: World) -> None:
    owner = await bearer(world.login(Role.TEACHER))
    created = await client.post(
        MINE, json=period("2026-09-02T08:00:00Z", "2026-09-02T12:00:00Z"), headers=owner
    )
    period_id = created.json()["id"]
    for other in (second_teacher(world), world.login(Role.SCHOOL_ADMIN)):
        headers = await bearer(other)
        assert_problem(await client.delete(f"{MINE}/{period_id}", headers=headers), 404)
        assert await listed(client, MINE, headers) == []
    assert_problem(await client.delete(f"{MINE}/{uuid4()}", headers=owner), 404)
    assert len(await listed(client, MINE, owner)) == 1


async def test_a_manager_records_and_removes_for_a_colleague(
    client: httpx.AsyncClient, world: World
) -> None:
    teacher = world.login(Role.TEACHER)
    admin_login = world.login(Role.SCHOOL_ADMIN)
    admin = await bearer(admin_login)
    url = colleague_url(teacher)
    created = await client.post(
        url, json=period("2026-09-03T08:00:00Z", "2026-09-03T16:00:00Z"), headers=admin
    )
    assert created.status_code == 201, created.text
    assert created.json()["staff_id"] == str(teacher.staff_id)
    assert created.json()["recorded_by"] == str(admin_login.staff_id)
    own_view = await listed(client, MINE, await bearer(teacher))
    assert [p["id"] for p in own_view] == [created.json()["id"]]
    trust_admin = await bearer(world.login(Role.TRUST_ADMIN))
    assert len(await listed(client, url, trust_admin)) == 1
    removed = await client.delete(f"{url}/{created.json()['id']}", headers=trust_admin)
    assert removed.status_code == 204
    assert await listed(client, url, admin) == []


async def test_colleagues_outside_your_scope_are_not_found(
    client: httpx.AsyncClient, world: World
) -> None:
    body = period("2026-09-03T08:00:00Z", "2026-09-03T16:00:00Z")
    school_admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    trust_admin = await bearer(world.login(Role.TRUST_ADMIN))
    elsewhere = [
        (school_admin, world.login(Role.TEACHER, school=1)),
        (trust_admin, world.login(Role.TEACHER, trust=1)),
    ]
    for headers, colleague in elsewhere:
        url = colleague_url(colleague)
        assert_problem(await client.get(url, headers=headers), 404)
        assert_problem(await client.post(url, json=body, headers=headers), 404)
        assert_problem(await client.delete(f"{url}/{uuid4()}", headers=headers), 404)
    # A period is found only under the staff member it belongs to.
    teacher = world.login(Role.TEACHER)
    created = await client.post(colleague_url(teacher), json=body, headers=school_admin)
    wrong_owner = f"{colleague_url(second_teacher(world))}/{created.json()['id']}"
    assert_problem(await client.delete(wrong_owner, headers=school_admin), 404)
    assert len(await listed(client, colleague_url(teacher), school_admin)) == 1


async def test_only_managers_act_for_a_colleague(client: httpx.AsyncClient, world: World) -> None:
    colleague = second_teacher(world)
    body = period("2026-09-03T08:00:00Z", "2026-09-03T16:00:00Z")
    for role in (Role.TEACHER, Role.OFFICE, Role.DSL, Role.TRUST_DSL):
        headers = await bearer(world.login(role))
        assert_problem(await client.post(colleague_url(colleague), json=body, headers=headers), 403)
        assert_problem(await client.get(colleague_url(colleague), headers=headers), 403)
    assert await listed(client, MINE, await bearer(colleague)) == []
