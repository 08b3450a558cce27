"""Class teams and the second-adult pool: SLT name trained, active members of the school's staff;
everyone in the school reads them, with what is still missing."""

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from app.core.london import london_today
from app.core.permissions import Role
from app.synthetic.generator import Login, World
from tests.conftest import assert_problem, bearer, load_roster
from tests.programmes.test_programmes import DAYS, create, publish
from tests.roster.snapshots import small_snapshot
from tests.visits.helpers import planned_programme


async def setup(client: httpx.AsyncClient, world: World, **overrides: Any) -> str:
    """School 0's roster (Robins in Reception, 3B in Year 3) and a programme; its URL."""
    await load_roster(world, small_snapshot(world))
    created = await create(client, world, **overrides)
    assert created.status_code == 201, created.text
    return f"/api/v1/programmes/{created.json()['id']}"


async def teams_of(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    response = await client.get(f"{url}/teams", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def team(teachers: list[Login], second: Login | UUID) -> dict[str, Any]:
    second_id = second if isinstance(second, UUID) else second.staff_id
    return {
        "teacher_ids": [str(t.staff_id) for t in teachers],
        "second_adult_id": str(second_id),
    }


def staff_of(world: World, role: Role, school: int = 0) -> list[Login]:
    school_id = world.trusts[0].schools[school].id
    return [lg for lg in world.logins if lg.role is role and lg.school_id == school_id]


async def set_training(
    client: httpx.AsyncClient, world: World, login: Login, completed: str | None
) -> None:
    admin = await bearer(world.login(Role.TRUST_ADMIN))
    url = f"/api/v1/staff/{login.staff_id}"
    etag = (await client.get(url, headers=admin)).headers["etag"]
    changed = await client.patch(
        url,
        json={"visit_training_completed_date": completed},
        headers=admin | {"If-Match": etag},
    )
    assert changed.status_code == 200, changed.text


async def test_teams_are_listed_with_what_is_missing(
    client: httpx.AsyncClient, world: World
) -> None:
    url = await setup(client, world, year_groups=["R", "3"])
    teacher = world.login(Role.TEACHER)
    found = await teams_of(client, url, await bearer(teacher))
    assert [(t["class_name"], t["year_group"]) for t in found] == [("3B", "3"), ("Robins", "R")]
    robins = found[1]
    assert robins["teachers"] == []
    assert robins["second_adult"] is None
    # The MIS names the home teacher as Robins' class teacher.
    assert robins["suggested_teacher_ids"] == [str(teacher.staff_id)]
    assert robins["problems"] == ["No class teacher", "No second adult"]
    assert found[0]["suggested_teacher_ids"] == []


async def test_slt_set_a_class_team(client: httpx.AsyncClient, world: World) -> None:
    url = await setup(client, world)  # Reception only
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    (robins,) = await teams_of(client, url, admin)
    first, second = staff_of(world, Role.TEACHER)
    support = world.login(Role.SUPPORT_STAFF)
    response = await client.put(
        f"{url}/teams/{robins['class_id']}", json=team([first, second], support), headers=admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert {t["staff_id"] for t in body["teachers"]} == {str(first.staff_id), str(second.staff_id)}
    assert all(t["trained"] for t in body["teachers"])
    assert body["second_adult"] == {
        "staff_id": str(support.staff_id),
        "full_name": support.full_name,
        "trained": True,
    }
    assert body["problems"] == []
    # A second PUT replaces the whole team.
    slt = world.login(Role.SCHOOL_ADMIN)
    replaced = await client.put(
        f"{url}/teams/{robins['class_id']}", json=team([second], slt), headers=admin
    )
    assert replaced.status_code == 200, replaced.text
    (listed,) = await teams_of(client, url, await bearer(world.login(Role.OFFICE)))
    assert [t["staff_id"] for t in listed["teachers"]] == [str(second.staff_id)]
    assert listed["second_adult"]["staff_id"] == str(slt.staff_id)


async def test_people_who_cannot_visit_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, world: World
) -> None:
    url = await setup(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    (robins,) = await teams_of(client, url, admin)
    team_url = f"{url}/teams/{robins['class_id']}"
    first, second = staff_of(world, Role.TEACHER)
    support = world.login(Role.SUPPORT_STAFF)
    assert (await client.put(team_url, json=team([first], support), headers=admin)).is_success
    untrained = world.login(Role.OFFICE)
    later = world.login(Role.SCHOOL_ADMIN)
    await set_training(client, world, later, (london_today() + timedelta(days=1)).isoformat())
    deactivated = await client.post(f"/api/v1/staff/{second.staff_id}/deactivate", headers=admin)
    assert deactivated.status_code == 200, deactivated.text
    refusals = [
        (team([untrained], support), untrained.full_name, "has no visit training recorded"),
        (team([first], later), later.full_name, "after today"),
        (team([second], support), second.full_name, "deactivated"),
        (team([first], first), first.full_name, "cannot also be the second adult"),
        (team([world.login(Role.TEACHER, school=1)], support), "not a member of staff", ""),
        (team([world.login(Role.TEACHER, trust=1)], support), "not a member of staff", ""),
        (team([first], uuid4()), "not a member of staff", ""),
    ]
    for body, name, reason in refusals:
        refused = await client.put(team_url, json=body, headers=admin)
        problem = assert_problem(refused, 422, "staff-not-eligible")
        assert name in problem["detail"]
        assert reason in problem["detail"]
    # A stranger's id is refused without naming them.
    foreign = world.login(Role.TEACHER, trust=1)
    refused = await client.put(team_url, json=team([foreign], support), headers=admin)
    assert foreign.full_name not in refused.text
    (unchanged,) = await teams_of(client, url, admin)
    assert [t["staff_id"] for t in unchanged["teachers"]] == [str(first.staff_id)]
    assert unchanged["second_adult"]["staff_id"] == str(support.staff_id)


async def test_a_team_shows_problems_that_arise_later(
    client: httpx.AsyncClient, world: World
) -> None:
    url = await setup(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    (robins,) = await teams_of(client, url, admin)
    teacher, support = world.login(Role.TEACHER), world.login(Role.SUPPORT_STAFF)
    await client.put(
        f"{url}/teams/{robins['class_id']}", json=team([teacher], support), headers=admin
    )
    await set_training(client, world, teacher, None)
    assert (
        await client.post(f"/api/v1/staff/{support.staff_id}/deactivate", headers=admin)
    ).status_code == 200
    (robins,) = await teams_of(client, url, admin)
    assert robins["teachers"][0]["trained"] is False
    assert robins["problems"] == [
        f"{teacher.full_name} has no visit training recorded",
        f"{support.full_name}'s account is deactivated",
    ]


async def test_only_classes_in_the_programme_are_found(
    client: httpx.AsyncClient, world: World
) -> None:
    url = await setup(client, world)  # Reception only
    await load_roster(world, small_snapshot(world, school=1), school=1)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    trust_admin = await bearer(world.login(Role.TRUST_ADMIN))
    classes = await client.get(
        f"/api/v1/schools/{world.trusts[0].schools[1].id}/classes", headers=trust_admin
    )
    other_school_class = classes.json()["items"][0]["id"]
    own = await client.get(
        f"/api/v1/schools/{world.trusts[0].schools[0].id}/classes", headers=admin
    )
    year_3 = next(c["id"] for c in own.json()["items"] if c["year_group"] == "3")
    body = team([world.login(Role.TEACHER)], world.login(Role.SUPPORT_STAFF))
    for class_id in (year_3, other_school_class, uuid4()):
        assert_problem(await client.put(f"{url}/teams/{class_id}", json=body, headers=admin), 404)


async def test_only_slt_of_the_school_set_teams(client: httpx.AsyncClient, world: World) -> None:
    url = await setup(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    (robins,) = await teams_of(client, url, admin)
    body = team([world.login(Role.TEACHER)], world.login(Role.SUPPORT_STAFF))
    team_url = f"{url}/teams/{robins['class_id']}"
    for role in (Role.TEACHER, Role.OFFICE, Role.TRUST_ADMIN):
        headers = await bearer(world.login(role))
        assert_problem(await client.put(team_url, json=body, headers=headers), 403)
    other_admin = await bearer(world.login(Role.SCHOOL_ADMIN, school=1))
    assert_problem(await client.put(team_url, json=body, headers=other_admin), 404)
    assert_problem(await client.get(f"{url}/teams", headers=other_admin), 404)
    (robins,) = await teams_of(client, url, admin)
    assert robins["teachers"] == []


async def test_teams_are_fixed_once_published(client: httpx.AsyncClient, world: World) -> None:
    programme = await planned_programme(client, world)
    url = f"/api/v1/programmes/{programme['id']}"
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    (robins,) = await teams_of(client, url, admin)
    published = await publish(client, programme["id"], admin)
    assert published.status_code == 200, published.text
    body = team([world.login(Role.TEACHER)], world.login(Role.SUPPORT_STAFF))
    locked = await client.put(f"{url}/teams/{robins['class_id']}", json=body, headers=admin)
    assert_problem(locked, 409, "teams-locked")
    pool = {"staff_ids": [str(world.login(Role.SUPPORT_STAFF).staff_id)]}
    assert_problem(await client.put(f"{url}/second-adults", json=pool, headers=admin), 409)
    assert (await teams_of(client, url, admin))[0]["teachers"] == []


async def test_each_class_says_how_many_visits_its_adults_can_make(
    client: httpx.AsyncClient, world: World
) -> None:
    """Robins has two families in scope. One visit day of two 45-minute slots gives its teacher
    two visits; one slot gives one, and the class cannot be placed whole."""
    url = await setup(client, world, visit_days=[DAYS[0]], day_ends="10:45", breaks=[])
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    (robins,) = await teams_of(client, url, admin)
    assert robins["capacity"] == {
        "families": 2,
        "visits_possible": 2,
        "limited_by": str(world.login(Role.TEACHER).staff_id),  # the MIS's class teacher
        "problem": None,
    }
    etag = (await client.get(url, headers=admin)).headers["etag"]
    shorter = await client.patch(
        url, json={"day_ends": "09:45"}, headers=admin | {"If-Match": etag}
    )
    assert shorter.json()["slot_count"] == 1
    (robins,) = await teams_of(client, url, await bearer(world.login(Role.TEACHER)))
    problem = (
        "2 families, 1 visit possible: add a visit day, shorten slots, or add a teacher. "
        f"{world.login(Role.TEACHER).full_name} can make at most 1 visit on the programme's "
        "1 day (1 slot in all, at most 10 visits a day)."
    )
    assert robins["capacity"]["visits_possible"] == 1
    assert robins["capacity"]["problem"] == problem
    assert problem in robins["problems"]


async def test_time_away_and_the_daily_maximum_count_against_capacity(
    client: httpx.AsyncClient, world: World
) -> None:
    """Three days of five slots, at most two visits a day: six visits. A morning away leaves the
    second adult two afternoon slots that Tuesday, so still six; a whole day away costs two."""
    url = await setup(client, world, max_visits_per_adult_per_day=2)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    (robins,) = await teams_of(client, url, admin)
    assert robins["capacity"]["visits_possible"] == 6
    teacher, support = world.login(Role.TEACHER), world.login(Role.SUPPORT_STAFF)
    assert (
        await client.put(
            f"{url}/teams/{robins['class_id']}", json=team([teacher], support), headers=admin
        )
    ).is_success
    away = await client.post(
        f"/api/v1/staff/{support.staff_id}/unavailability",
        json={
            "starts_at": f"{DAYS[0]}T08:00:00+01:00",
            "ends_at": f"{DAYS[0]}T13:00:00+01:00",
            "reason": "Training",
        },
        headers=admin,
    )
    assert away.status_code == 201, away.text
    (robins,) = await teams_of(client, url, admin)
    # Tuesday: the support assistant is free for the 13:00 and 14:00 slots only: still two.
    assert robins["capacity"]["visits_possible"] == 6
    whole_day = await client.post(
        f"/api/v1/staff/{support.staff_id}/unavailability",
        json={
            "starts_at": f"{DAYS[1]}T08:00:00+01:00",
            "ends_at": f"{DAYS[1]}T18:00:00+01:00",
            "reason": "Course",
        },
        headers=admin,
    )
    assert whole_day.status_code == 201, whole_day.text
    (robins,) = await teams_of(client, url, admin)
    assert robins["capacity"]["visits_possible"] == 4
    assert robins["capacity"]["limited_by"] == str(support.staff_id)


async def test_the_second_adult_pool_is_replaced_whole(
    client: httpx.AsyncClient, world: World
) -> None:
    url = await setup(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    support, slt = world.login(Role.SUPPORT_STAFF), world.login(Role.SCHOOL_ADMIN)
    pool_url = f"{url}/second-adults"
    both = {"staff_ids": [str(support.staff_id), str(slt.staff_id)]}
    response = await client.put(pool_url, json=both, headers=admin)
    assert response.status_code == 200, response.text
    assert {s["staff_id"] for s in response.json()["staff"]} == set(both["staff_ids"])
    assert response.json()["problems"] == []
    replaced = await client.put(pool_url, json={"staff_ids": [str(slt.staff_id)]}, headers=admin)
    assert replaced.status_code == 200, replaced.text
    read = await client.get(pool_url, headers=await bearer(world.login(Role.TEACHER)))
    assert read.json() == {
        "staff": [{"staff_id": str(slt.staff_id), "full_name": slt.full_name, "trained": True}],
        "problems": [],
    }
    untrained = world.login(Role.DSL)
    refused = await client.put(
        pool_url,
        json={"staff_ids": [str(support.staff_id), str(untrained.staff_id)]},
        headers=admin,
    )
    problem = assert_problem(refused, 422, "staff-not-eligible")
    assert untrained.full_name in problem["detail"]
    assert problem["errors"][0]["pointer"] == "#/staff_ids/1"
    for bad in ([str(slt.staff_id)] * 2, [str(uuid4()) for _ in range(201)]):
        assert_problem(await client.put(pool_url, json={"staff_ids": bad}, headers=admin), 422)
    assert_problem(
        await client.put(pool_url, json=both, headers=await bearer(world.login(Role.TEACHER))),
        403,
    )
    assert [s["staff_id"] for s in (await client.get(pool_url, headers=admin)).json()["staff"]] == [
        str(slt.staff_id)
    ]
    emptied = await client.put(pool_url, json={"staff_ids": []}, headers=admin)
    assert emptied.json()["staff"] == []


async def test_the_pool_carries_an_etag_and_a_stale_if_match_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    url = await setup(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    support, slt = world.login(Role.SUPPORT_STAFF), world.login(Role.SCHOOL_ADMIN)
    pool_url = f"{url}/second-adults"
    empty = await client.get(pool_url, headers=admin)
    seen = empty.headers["ETag"]

    # A colleague replaces the pool meanwhile: the ETag moves with its members.
    theirs = await client.put(pool_url, json={"staff_ids": [str(support.staff_id)]}, headers=admin)
    assert theirs.status_code == 200, theirs.text
    assert theirs.headers["ETag"] != seen
    assert (await client.get(pool_url, headers=admin)).headers["ETag"] == theirs.headers["ETag"]

    mine = {"staff_ids": [str(slt.staff_id)]}
    assert_problem(await client.put(pool_url, json=mine, headers=admin | {"If-Match": seen}), 412)
    kept = (await client.get(pool_url, headers=admin)).json()["staff"]
    assert [s["staff_id"] for s in kept] == [str(support.staff_id)]

    current = {"If-Match": theirs.headers["ETag"]}
    replaced = await client.put(pool_url, json=mine, headers=admin | current)
    assert replaced.status_code == 200, replaced.text
    # The same members in another order are the same pool, with the same ETag.
    both = [str(support.staff_id), str(slt.staff_id)]
    one = await client.put(pool_url, json={"staff_ids": both}, headers=admin)
    other = await client.put(pool_url, json={"staff_ids": both[::-1]}, headers=admin)
    assert one.headers["ETag"] == other.headers["ETag"]
