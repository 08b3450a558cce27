"""Who reads which visit: the adults on it, the children's class staff, and whoever oversees the
school's visits (SLT, DSLs, the office, the trust); a visit's change history and a programme's
runs."""

from typing import Any

import httpx

from app.core.permissions import Role
from app.synthetic.generator import Login, World
from tests.conftest import assert_problem, bearer
from tests.visits.helpers import planned_programme


def _other_teacher(world: World) -> Login:
    robins = world.login(Role.TEACHER)
    return next(
        lg
        for lg in world.logins
        if lg.role is Role.TEACHER
        and lg.school_id == robins.school_id
        and lg.staff_id != robins.staff_id
    )


async def _visible(client: httpx.AsyncClient, login: Login, programme: dict[str, Any]) -> set[str]:
    headers = await bearer(login)
    listed = await client.get(f"/api/v1/programmes/{programme['id']}/visits", headers=headers)
    assert listed.status_code == 200, listed.text
    return {v["id"] for v in listed.json()["items"]}


async def test_a_teacher_reads_only_visits_they_need_to_know(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await planned_programme(client, world)
    every = {v["id"] for v in programme["visits"]}
    visit = programme["visits"][0]
    stranger = await bearer(_other_teacher(world))
    hidden = await client.get(f"/api/v1/visits/{visit['id']}", headers=stranger)
    assert_problem(hidden, 404)
    assert_problem(await client.get(f"/api/v1/visits/{visit['id']}/changes", headers=stranger), 404)
    assert await _visible(client, _other_teacher(world), programme) == set()
    # The Robins' teacher is on both visits and teaches the children; the office and SLT
    # oversee every visit of the school.
    for role in (Role.TEACHER, Role.OFFICE, Role.SCHOOL_ADMIN, Role.DSL, Role.TRUST_ADMIN):
        assert await _visible(client, world.login(role), programme) == every, role
        one = await client.get(
            f"/api/v1/visits/{visit['id']}", headers=await bearer(world.login(role))
        )
        assert one.status_code == 200, (role, one.text)


async def test_a_support_assistant_reads_the_visit_they_are_on(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await planned_programme(client, world)
    assistant = world.login(Role.SUPPORT_STAFF)
    on_it = {
        v["id"]
        for v in programme["visits"]
        if str(assistant.staff_id) in {a["staff_id"] for a in v["adults"]}
    }
    assert on_it, "the pool's only second adult is on every visit"
    assert await _visible(client, assistant, programme) == on_it


async def test_a_visit_change_history_is_readable(client: httpx.AsyncClient, world: World) -> None:
    programme = await planned_programme(client, world)
    visit = programme["visits"][0]
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/visits/{visit['id']}"
    for locked, note in ((True, "Confirmed by phone"), (False, None), (True, None)):
        etag = (await client.get(url, headers=admin)).headers["etag"]
        body = {"locked": locked} | ({"note": note} if note else {})
        changed = await client.patch(url, json=body, headers=admin | {"If-Match": etag})
        assert changed.status_code == 200, changed.text
    first = await client.get(f"{url}/changes", params={"limit": 2}, headers=admin)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [c["kind"] for c in page["items"]] == ["locked", "unlocked"]
    assert page["items"][0]["note"] == "Confirmed by phone"
    assert page["items"][0]["changed_by"] == str(world.login(Role.SCHOOL_ADMIN).staff_id)
    rest = await client.get(
        f"{url}/changes", params={"limit": 2, "cursor": page["next_cursor"]}, headers=admin
    )
    assert rest.status_code == 200, rest.text
    assert [c["kind"] for c in rest.json()["items"]] == ["locked"]
    assert rest.json()["next_cursor"] is None
    teacher = await bearer(world.login(Role.TEACHER))
    assert (await client.get(f"{url}/changes", headers=teacher)).status_code == 200


async def test_a_programme_lists_its_runs_newest_first(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await planned_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{programme['id']}/schedule-runs"
    listed = await client.get(url, headers=admin)
    assert listed.status_code == 200, listed.text
    runs = listed.json()["items"]
    assert [r["id"] for r in runs] == [programme["run_id"]]
    assert runs[0]["status"] == "succeeded"
    teacher = await bearer(world.login(Role.TEACHER))
    assert (await client.get(url, headers=teacher)).status_code == 200
    foreign = await bearer(world.login(Role.SCHOOL_ADMIN, trust=1))
    assert_problem(await client.get(url, headers=foreign), 404)
