"""Manual changes to a planned schedule: each is checked against every hard rule by the
independent validator and refused with 409 naming the rule it would break."""

from typing import Any

import httpx

from app.core.jobs import run_pending
from app.core.permissions import Role
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
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
    body = assert_problem(refused, 409, "schedule-rule-broken")
    assert "train" in body["detail"].lower(), body


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
