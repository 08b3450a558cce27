"""Placing a family by hand: the office or SLT give a family the schedule could not place a visit
at a free time with its class's teachers and a second adult, checked against every rule."""

from typing import Any
from uuid import UUID

import httpx

from app.core.jobs import run_pending
from app.core.permissions import Role
from app.notifications.models import MessageKind
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.notifications.helpers import messages
from tests.programmes.test_programmes import publish
from tests.visits.helpers import published_programme, scheduling_programme


async def _run(client: httpx.AsyncClient, programme_id: str, headers: Any) -> None:
    started = await client.post(
        f"/api/v1/programmes/{programme_id}/schedule-runs",
        json={"time_limit_seconds": 2},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    assert await run_pending() == 1


async def _unplaced_khans(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """The Khans came into scope after the run (exempt while it ran): they have no visit."""
    programme = await scheduling_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{programme['id']}/households/{programme['home']}/exemption"
    exempt = await client.put(url, json={"kind": "exempt", "reason": "Abroad"}, headers=admin)
    assert exempt.status_code == 200, exempt.text
    await _run(client, programme["id"], admin)
    assert (await client.delete(url, headers=admin)).status_code == 204
    visits = await _visits(client, programme["id"], admin)
    assert programme["home"] not in {v["household_id"] for v in visits}
    return programme | {"visits": visits}


async def _visits(client: httpx.AsyncClient, programme_id: str, headers: Any) -> list[Any]:
    listed = await client.get(f"/api/v1/programmes/{programme_id}/visits", headers=headers)
    items: list[Any] = listed.json()["items"]
    return items


def _free_slot(programme: dict[str, Any], slots: list[Any]) -> str:
    busy = {v["starts_at"][:10] for v in programme["visits"]}
    return str(next(s["id"] for s in slots if s["day"] not in busy))


async def _slots(client: httpx.AsyncClient, programme_id: str, headers: Any) -> list[Any]:
    listed = await client.get(
        f"/api/v1/programmes/{programme_id}/slots", params={"limit": 200}, headers=headers
    )
    items: list[Any] = listed.json()["items"]
    return items


async def test_the_office_places_a_family_the_schedule_left_out(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await _unplaced_khans(client, world)
    office = await bearer(world.login(Role.OFFICE))
    slot = _free_slot(programme, await _slots(client, programme["id"], office))
    assistant = str(world.login(Role.SUPPORT_STAFF).staff_id)
    body = {"household_id": programme["home"], "slot_id": slot, "second_adult_id": assistant}
    url = f"/api/v1/programmes/{programme['id']}/visits"
    placed = await client.post(url, json=body | {"note": "Back from abroad"}, headers=office)
    assert placed.status_code == 201, placed.text
    visit = placed.json()
    assert visit["slot_id"] == slot
    assert visit["status"] == "proposed"  # not published yet: nobody is told
    roles = {a["staff_id"]: a["role"] for a in visit["adults"]}
    assert roles == {str(world.login(Role.TEACHER).staff_id): "teacher", assistant: "second_adult"}
    assert len(visit["pupil_ids"]) == 1
    history = await client.get(f"/api/v1/visits/{visit['id']}/changes", headers=office)
    assert [(c["kind"], c["note"]) for c in history.json()["items"]] == [
        ("placed", "Back from abroad")
    ]
    # Once it has a visit, the family is moved, not placed again.
    again = assert_problem(await client.post(url, json=body, headers=office), 409)
    assert again["type"].endswith("household-has-a-visit")


async def test_a_placement_that_breaks_a_rule_is_refused_naming_it(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await _unplaced_khans(client, world)
    office = await bearer(world.login(Role.OFFICE))
    (browns,) = programme["visits"]
    # The teacher is at the Browns' then: one place at a time.
    body = {
        "household_id": programme["home"],
        "slot_id": browns["slot_id"],
        "second_adult_id": str(world.login(Role.SUPPORT_STAFF).staff_id),
    }
    url = f"/api/v1/programmes/{programme['id']}/visits"
    refused = assert_problem(await client.post(url, json=body, headers=office), 409)
    assert refused["type"].endswith("schedule-rule-broken")
    assert refused["violations"]
    assert len(await _visits(client, programme["id"], office)) == 1
    # An untrained or unknown second adult is a bad request, naming the field.
    stranger = body | {"second_adult_id": str(world.login(Role.SCHOOL_ADMIN, school=1).staff_id)}
    bad = assert_problem(await client.post(url, json=stranger, headers=office), 422)
    assert [e["pointer"] for e in bad["errors"]] == ["#/second_adult_id"]


async def test_only_slt_and_the_office_of_the_school_place_families(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await _unplaced_khans(client, world)
    office = await bearer(world.login(Role.OFFICE))
    body = {
        "household_id": programme["home"],
        "slot_id": _free_slot(programme, await _slots(client, programme["id"], office)),
        "second_adult_id": str(world.login(Role.SUPPORT_STAFF).staff_id),
    }
    url = f"/api/v1/programmes/{programme['id']}/visits"
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(await client.post(url, json=body, headers=teacher), 403)
    other_office = await bearer(world.login(Role.OFFICE, school=1))
    assert_problem(await client.post(url, json=body, headers=other_office), 404)
    assert len(await _visits(client, programme["id"], office)) == 1


async def test_after_publishing_a_cancelled_family_gets_its_visit_back_and_is_told(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await scheduling_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    await _run(client, programme["id"], admin)
    assert (await publish(client, programme["id"], admin)).status_code == 200
    before = {v["household_id"]: v for v in await _visits(client, programme["id"], admin)}
    khans = before[programme["home"]]
    # Exempt meanwhile, the Khans' visit is cancelled by a re-run; then they come back.
    url = f"/api/v1/programmes/{programme['id']}/households/{programme['home']}/exemption"
    await client.put(url, json={"kind": "exempt", "reason": "Abroad"}, headers=admin)
    await _run(client, programme["id"], admin)
    assert (await client.delete(url, headers=admin)).status_code == 204
    after = {v["household_id"]: v for v in await _visits(client, programme["id"], admin)}
    assert after[programme["home"]]["status"] == "cancelled"

    placed = await client.post(
        f"/api/v1/programmes/{programme['id']}/visits",
        json={
            "household_id": programme["home"],
            "slot_id": khans["slot_id"],
            "second_adult_id": str(world.login(Role.SUPPORT_STAFF).staff_id),
        },
        headers=admin,
    )
    assert placed.status_code == 201, placed.text
    assert placed.json()["id"] == khans["id"]  # the family's one visit, given again
    assert placed.json()["status"] == "scheduled"
    confirmations = [
        m
        for m in await messages()
        if m.kind is MessageKind.VISIT_CONFIRMATION and m.household_id == UUID(programme["home"])
    ]
    assert len(confirmations) == 2  # on publishing, and now


async def test_a_family_nobody_could_reach_is_offered_another_time(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    teacher = await bearer(world.login(Role.TEACHER))
    office = await bearer(world.login(Role.OFFICE))
    first, second = programme["visits"]
    for visit in (first, second):
        missed = await client.post(
            f"/api/v1/visits/{visit['id']}/outcome",
            json={"outcome": "no_access", "reason": "Nobody answered the door"},
            headers=teacher,
        )
        assert missed.status_code == 200, missed.text
    closed = await client.post(
        f"/api/v1/visits/{second['id']}/close", json={"reason": "Moved away"}, headers=office
    )
    assert closed.status_code == 200, closed.text
    slot = _free_slot(programme, await _slots(client, programme["id"], office))
    assistant = str(world.login(Role.SUPPORT_STAFF).staff_id)
    url = f"/api/v1/programmes/{programme['id']}/visits"
    offered = await client.post(
        url,
        json={"household_id": first["household_id"], "slot_id": slot, "second_adult_id": assistant},
        headers=office,
    )
    assert offered.status_code == 201, offered.text
    body = offered.json()
    assert (body["id"], body["status"], body["slot_id"]) == (first["id"], "scheduled", slot)
    assert body["outcome"] is None  # the missed attempt stays in the history
    history = await client.get(f"/api/v1/visits/{first['id']}/changes", headers=office)
    kinds = [c["kind"] for c in history.json()["items"]]
    assert kinds.index("outcome_recorded") < kinds.index("offered_another_time")
    told = [
        m
        for m in await messages()
        if m.household_id == UUID(first["household_id"])
        and m.kind in (MessageKind.VISIT_CHANGED, MessageKind.VISIT_CONFIRMATION)
    ]
    assert told[-1].values["visit_day"] != told[0].values["visit_day"]
    # A visit closed as not visited is not offered again.
    refused = await client.post(
        url,
        json={
            "household_id": second["household_id"],
            "slot_id": slot,
            "second_adult_id": assistant,
        },
        headers=office,
    )
    assert_problem(refused, 409, "household-has-a-visit")
