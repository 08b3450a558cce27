"""Manual changes to a planned schedule: each is checked against every hard rule by the
independent validator and refused with 409 naming the rule it would break."""

import asyncio
from typing import Any
from uuid import uuid4

import httpx
import pytest

from app.core.jobs import run_pending
from app.core.permissions import Role
from app.synthetic.generator import World
from app.visits import changes
from tests.conftest import IS_POSTGRES, assert_problem, bearer
from tests.visits.helpers import planned_programme


async def _patch(
    client: httpx.AsyncClient, headers: dict[str, str], visit_id: str, body: dict[str, Any]
) -> httpx.Response:
    url = f"/api/v1/visits/{visit_id}"
    etag = (await client.get(url, headers=headers)).headers["etag"]
    return await client.patch(url, json=body, headers=headers | {"If-Match": etag})


async def test_a_move_that_double_books_an_adult_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await planned_programme(client, world)
    first, second = programme["visits"]
    shared = {a["staff_id"] for a in first["adults"]} & {a["staff_id"] for a in second["adults"]}
    assert shared, "both Reception families are visited by the Robins' teacher"
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    refused = await _patch(client, admin, first["id"], {"slot_id": second["slot_id"]})
    body = assert_problem(refused, 409, "schedule-rule-broken")
    assert any("10:" in v or "at" in v for v in body["violations"]), body
    unchanged = (await client.get(f"/api/v1/visits/{first['id']}", headers=admin)).json()
    assert unchanged["slot_id"] == first["slot_id"]
    assert unchanged["version"] == first["version"]


async def test_a_move_to_a_free_time_is_made_and_recorded(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await planned_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    visit = next(v for v in programme["visits"] if v["household_id"] != programme["home"])
    # A day with no other visit, so no travel between homes constrains the move.
    busy = {v["starts_at"][:10] for v in programme["visits"]}
    slots = await client.get(
        f"/api/v1/programmes/{programme['id']}/slots", params={"limit": 200}, headers=admin
    )
    free = next(s["id"] for s in slots.json()["items"] if s["day"] not in busy)
    moved = await _patch(client, admin, visit["id"], {"slot_id": free, "note": "Parent rang"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["slot_id"] == free
    assert moved.json()["version"] == visit["version"] + 1
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(await _patch(client, teacher, visit["id"], {"slot_id": free}), 403)
    stale = await client.patch(
        f"/api/v1/visits/{visit['id']}",
        json={"slot_id": visit["slot_id"]},
        headers=admin | {"If-Match": f'"{visit["id"].replace("-", "")}.1"'},
    )
    assert_problem(stale, 412)


async def test_two_visits_swap_times(client: httpx.AsyncClient, world: World) -> None:
    programme = await planned_programme(client, world)
    first, second = programme["visits"]
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    swapped = await client.post(
        f"/api/v1/programmes/{programme['id']}/visits/swap",
        json={"first_visit_id": first["id"], "second_visit_id": second["id"]},
        headers=admin,
    )
    assert swapped.status_code == 200, swapped.text
    after = {v["id"]: v["slot_id"] for v in swapped.json()}
    assert after == {first["id"]: second["slot_id"], second["id"]: first["slot_id"]}


async def test_an_untrained_second_adult_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await planned_programme(client, world)
    visit = programme["visits"][0]
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    office = world.login(Role.OFFICE)  # office staff have no visit training in the generator
    refused = await _patch(client, admin, visit["id"], {"second_adult_id": str(office.staff_id)})
    body = assert_problem(refused, 422, "staff-not-eligible")
    assert "train" in body["detail"].lower(), body
    assert body["errors"][0]["pointer"] == "#/second_adult_id", body


@pytest.mark.parametrize("who", ["another school's support staff", "nobody at all"])
async def test_a_second_adult_from_outside_the_school_is_refused_as_teams_are(
    client: httpx.AsyncClient, world: World, who: str
) -> None:
    """One eligibility rule for every way an adult is put on a visit: the teams and pool
    endpoints refuse a colleague from another school, and so does a visit's PATCH."""
    programme = await planned_programme(client, world)
    visit = programme["visits"][0]
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    elsewhere = world.login(Role.SUPPORT_STAFF, school=1).staff_id
    staff_id = str(elsewhere) if who.startswith("another") else str(uuid4())
    refused = await _patch(client, admin, visit["id"], {"second_adult_id": staff_id})
    body = assert_problem(refused, 422, "staff-not-eligible")
    assert body["errors"][0]["pointer"] == "#/second_adult_id", body
    assert "not a member of staff at this school" in body["detail"], body
    pool = await client.put(
        f"/api/v1/programmes/{programme['id']}/second-adults",
        json={"staff_ids": [staff_id]},
        headers=admin,
    )
    assert_problem(pool, 422, "staff-not-eligible")
    after = (await client.get(f"/api/v1/visits/{visit['id']}", headers=admin)).json()
    assert after["adults"] == visit["adults"]
    assert after["version"] == visit["version"]


async def test_a_locked_visit_stays_through_a_rerun(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await planned_programme(client, world)
    visit = programme["visits"][0]
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    locked = await _patch(client, admin, visit["id"], {"locked": True})
    assert locked.json()["locked"] is True
    other_slot = next(s for s in programme["slots"] if s != visit["slot_id"])
    assert_problem(
        await _patch(client, admin, visit["id"], {"slot_id": other_slot}),
        409,
        "visit-not-changeable",
    )
    rerun = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs",
        json={"time_limit_seconds": 2},
        headers=admin,
    )
    assert rerun.status_code == 202, rerun.text
    assert await run_pending() == 1
    run = (await client.get(f"/api/v1/schedule-runs/{rerun.json()['id']}", headers=admin)).json()
    assert run["status"] == "succeeded", run
    assert run["moved"] == 0
    kept = (await client.get(f"/api/v1/visits/{visit['id']}", headers=admin)).json()
    assert kept["slot_id"] == visit["slot_id"]
    assert kept["locked"] is True
    listed = await client.get(f"/api/v1/programmes/{programme['id']}/visits", headers=admin)
    assert len(listed.json()["items"]) == 2


@pytest.mark.skipif(
    not IS_POSTGRES,
    reason="PostgreSQL's row lock serialises changes; SQLite takes none (development only)",
)
async def test_two_moves_at_once_cannot_double_book_an_adult(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each move alone is valid; together they would put the shared teacher in two homes at
    once. Checked at the same moment, only one may win (found by bench/load.py)."""
    read_plan = changes.current_plan

    async def slowly(repository: Any, programme: Any) -> Any:
        plan = await read_plan(repository, programme)
        await asyncio.sleep(0.3)  # widen the race: both would read before either writes
        return plan

    monkeypatch.setattr(changes, "current_plan", slowly)
    programme = await planned_programme(client, world)
    first, second = programme["visits"]
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    busy = {v["starts_at"][:10] for v in programme["visits"]}
    slots = await client.get(
        f"/api/v1/programmes/{programme['id']}/slots", params={"limit": 200}, headers=admin
    )
    free = next(s["id"] for s in slots.json()["items"] if s["day"] not in busy)
    tags = [
        (await client.get(f"/api/v1/visits/{v['id']}", headers=admin)).headers["etag"]
        for v in (first, second)
    ]
    two_admins = [admin, await bearer(world.login(Role.SCHOOL_ADMIN))]
    moves = await asyncio.gather(
        *(
            client.patch(
                f"/api/v1/visits/{v['id']}",
                json={"slot_id": free},
                headers=who | {"If-Match": tag},
            )
            for v, tag, who in zip((first, second), tags, two_admins, strict=True)
        )
    )
    assert sorted(m.status_code for m in moves) == [200, 409], [m.text for m in moves]
    assert_problem(next(m for m in moves if m.status_code == 409), 409, "schedule-rule-broken")
    listed = await client.get(f"/api/v1/programmes/{programme['id']}/visits", headers=admin)
    assert sum(v["slot_id"] == free for v in listed.json()["items"]) == 1


async def test_visits_wait_for_a_schedule_run_under_way(
    client: httpx.AsyncClient, world: World
) -> None:
    """A run writes a schedule solved without any change made meanwhile: a family unlocked
    while it solved would be left with no visit at all, so changes wait for it."""
    programme = await planned_programme(client, world)
    visit = programme["visits"][0]
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    assert (await _patch(client, admin, visit["id"], {"locked": True})).status_code == 200
    rerun = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs",
        json={"time_limit_seconds": 2},
        headers=admin,
    )
    assert rerun.status_code == 202, rerun.text
    refused = await _patch(client, admin, visit["id"], {"locked": False})
    assert_problem(refused, 409, "schedule-run-under-way")
    assert await run_pending() == 1
    unlocked = await _patch(client, admin, visit["id"], {"locked": False})
    assert unlocked.status_code == 200, unlocked.text
    listed = await client.get(f"/api/v1/programmes/{programme['id']}/visits", headers=admin)
    assert {v["household_id"] for v in listed.json()["items"]} == {
        v["household_id"] for v in programme["visits"]
    }


async def test_a_rerun_keeps_each_family_s_visit_and_records_a_move(
    client: httpx.AsyncClient, world: World
) -> None:
    """A client holding a visit id (a staff app, a sent confirmation) follows a re-run: the
    family's visit keeps its id, and a move shows in its version and history."""
    programme = await planned_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    chosen = next(v for v in programme["visits"] if v["household_id"] == programme["home"])
    assert chosen["slot_id"] == programme["slots"][3], "F-1's only choice"
    busy = {v["starts_at"][:10] for v in programme["visits"]}
    slots = await client.get(
        f"/api/v1/programmes/{programme['id']}/slots", params={"limit": 200}, headers=admin
    )
    elsewhere = next(s["id"] for s in slots.json()["items"] if s["day"] not in busy)
    moved = await _patch(client, admin, chosen["id"], {"slot_id": elsewhere})
    assert moved.status_code == 200, moved.text
    rerun = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs",
        json={"time_limit_seconds": 2},
        headers=admin,
    )
    assert rerun.status_code == 202, rerun.text
    assert await run_pending() == 1
    listed = await client.get(f"/api/v1/programmes/{programme['id']}/visits", headers=admin)
    after = {v["household_id"]: v for v in listed.json()["items"]}
    before = {v["household_id"]: v for v in programme["visits"]}
    assert {h: v["id"] for h, v in after.items()} == {h: v["id"] for h, v in before.items()}
    back = after[programme["home"]]
    assert back["slot_id"] == programme["slots"][3], "the re-run gives F-1 its choice again"
    assert back["version"] == moved.json()["version"] + 1
    history = await client.get(f"/api/v1/visits/{back['id']}/changes", headers=admin)
    assert [c["kind"] for c in history.json()["items"]] == ["moved", "rescheduled"]
    other = next(v for h, v in after.items() if h != programme["home"])
    assert other["version"] == before[other["household_id"]]["version"], "unchanged, untouched"


async def test_a_refusal_names_families_as_the_office_knows_them(
    client: httpx.AsyncClient, world: World
) -> None:
    """The validator's reasons name each family by surname and MIS family id, never by id."""
    programme = await planned_programme(client, world)
    earlier, later = sorted(programme["visits"], key=lambda v: v["starts_at"])
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    slots = await client.get(
        f"/api/v1/programmes/{programme['id']}/slots", params={"limit": 200}, headers=admin
    )
    # The slot right after the earlier visit: 15 minutes, too little to drive between homes.
    following = min(
        (s for s in slots.json()["items"] if s["starts_at"] > earlier["starts_at"]),
        key=lambda s: s["starts_at"],
    )
    assert following["day"] == earlier["starts_at"][:10]
    refused = await _patch(client, admin, later["id"], {"slot_id": following["id"]})
    body = assert_problem(refused, 409, "schedule-rule-broken")
    assert "travel from" in body["detail"], body
    assert "Khan family (F-1)" in body["detail"], body
    assert "Brown family (F-2)" in body["detail"], body
    for visit in (earlier, later):
        assert visit["household_id"] not in refused.text
