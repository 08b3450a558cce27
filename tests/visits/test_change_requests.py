"""Families' changes of plan: the portal shows the booked visit and takes a change request; the
office lists open requests oldest first, moves the visit within the rules and closes them."""

from typing import Any
from uuid import UUID

import httpx

from app.core.permissions import Role
from app.notifications.models import MessageKind, MessageStatus
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.notifications.helpers import messages
from tests.parents.helpers import household_of, parent_bearer
from tests.programmes.test_programmes import publish
from tests.visits.helpers import planned_programme


async def _published(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    programme = await planned_programme(client, world)
    khans = await household_of("P-1")
    parent = await parent_bearer(UUID(programme["id"]), khans)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    assert (await publish(client, programme["id"], admin)).status_code == 200
    visit = next(v for v in programme["visits"] if v["household_id"] == str(khans))
    base = f"/api/v1/parent/programmes/{programme['id']}/households/{khans}/visit"
    return programme | {"parent": parent, "khans": khans, "visit": visit, "base": base}


ASK = {
    "kind": "new_time",
    "reason": "Grandad's hospital appointment that afternoon",
    "workable_times": "Any morning that week",
}


async def test_a_family_sees_its_visit_as_it_was_told_of_it(
    client: httpx.AsyncClient, world: World
) -> None:
    booked = await _published(client, world)
    seen = await client.get(booked["base"], headers=booked["parent"])
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["visit_id"] == booked["visit"]["id"]
    assert body["place"] == "at your home"
    assert body["time"].endswith(("am", "pm"))
    teacher = world.login(Role.TEACHER)
    visitors = {(v["first_name"], v["role"]) for v in body["visitors"]}
    assert (teacher.full_name.split()[0], "class teacher") in visitors
    assert len(visitors) == 2
    assert body["open_request"] is None
    # Another family's visit answers as a missing one.
    browns = await household_of("P-4")
    other = booked["base"].replace(str(booked["khans"]), str(browns))
    assert_problem(await client.get(other, headers=booked["parent"]), 404)


async def test_nothing_is_shown_before_the_school_has_published(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await planned_programme(client, world)
    khans = await household_of("P-1")
    parent = await parent_bearer(UUID(programme["id"]), khans)
    url = f"/api/v1/parent/programmes/{programme['id']}/households/{khans}/visit"
    problem = assert_problem(await client.get(url, headers=parent), 404)
    assert "not been arranged yet" in problem["detail"]
    assert_problem(await client.post(f"{url}/change-requests", json=ASK, headers=parent), 404)


async def test_a_family_asks_once_and_bad_requests_are_refused_whole(
    client: httpx.AsyncClient, world: World
) -> None:
    booked = await _published(client, world)
    url = f"{booked['base']}/change-requests"
    for body in (
        {**ASK, "kind": "cancel"},  # times only with a new time
        {**ASK, "preferred_slot_ids": [str(UUID(int=7))]},  # not a slot of the programme
        {**ASK, "reason": ""},
        {**ASK, "colour": "red"},
    ):
        assert_problem(await client.post(url, json=body, headers=booked["parent"]), 422)
    slot = booked["slots"][0]
    asked = await client.post(
        url, json={**ASK, "preferred_slot_ids": [slot]}, headers=booked["parent"]
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "open"
    assert asked.json()["preferred_slot_ids"] == [slot]
    again = assert_problem(await client.post(url, json=ASK, headers=booked["parent"]), 409)
    assert "already asked" in again["detail"]
    seen = await client.get(booked["base"], headers=booked["parent"])
    assert seen.json()["open_request"]["id"] == asked.json()["id"]


async def test_the_office_moves_the_visit_and_closes_the_request(
    client: httpx.AsyncClient, world: World
) -> None:
    booked = await _published(client, world)
    asked = await client.post(
        f"{booked['base']}/change-requests", json=ASK, headers=booked["parent"]
    )
    office = await bearer(world.login(Role.OFFICE))
    listed = await client.get(f"/api/v1/programmes/{booked['id']}/change-requests", headers=office)
    assert listed.status_code == 200, listed.text
    (request,) = listed.json()["items"]
    assert (request["family_name"], request["reference"]) == ("Khan", "F-1")
    assert request["reason"] == ASK["reason"]
    assert request["visit_starts_at"] == booked["visit"]["starts_at"]

    # The office (not only SLT) moves the visit, within every rule.
    busy = {v["starts_at"][:10] for v in booked["visits"]}
    slots = await client.get(
        f"/api/v1/programmes/{booked['id']}/slots", params={"limit": 200}, headers=office
    )
    free = next(s["id"] for s in slots.json()["items"] if s["day"] not in busy)
    visit_url = f"/api/v1/visits/{booked['visit']['id']}"
    etag = (await client.get(visit_url, headers=office)).headers["etag"]
    moved = await client.patch(
        visit_url, json={"slot_id": free}, headers=office | {"If-Match": etag}
    )
    assert moved.status_code == 200, moved.text

    close_url = f"/api/v1/change-requests/{asked.json()['id']}/close"
    closed = await client.post(
        close_url, json={"resolution": "moved", "note": "Tuesday 10am suits"}, headers=office
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["resolution"] == "moved"
    assert_problem(await client.post(close_url, json={"resolution": "kept"}, headers=office), 409)
    still_open = await client.get(
        f"/api/v1/programmes/{booked['id']}/change-requests", headers=office
    )
    assert still_open.json()["items"] == []
    handled = await client.get(
        f"/api/v1/programmes/{booked['id']}/change-requests",
        params={"status": "closed"},
        headers=office,
    )
    assert [r["id"] for r in handled.json()["items"]] == [asked.json()["id"]]
    seen = await client.get(booked["base"], headers=booked["parent"])
    assert seen.json()["open_request"] is None
    assert seen.json()["starts_at"] == moved.json()["starts_at"]
    # The family is sent the new time through the outbox.
    told = [
        m
        for m in await messages()
        if m.household_id == booked["khans"]
        and m.kind in (MessageKind.VISIT_CHANGED, MessageKind.VISIT_CONFIRMATION)
        and m.status is not MessageStatus.CANCELLED
    ]
    assert told[-1].values["visit_day"] == seen.json()["day"]
    assert told[-1].values["visit_time"] == seen.json()["time"]
    history = await client.get(f"{visit_url}/changes", headers=office)
    assert [(c["kind"], c["changed_by"]) for c in history.json()["items"]] == [
        ("change_requested_new_time", None),
        ("moved", str(world.login(Role.OFFICE).staff_id)),
        ("change_request_moved", str(world.login(Role.OFFICE).staff_id)),
    ]
    assert ASK["reason"] not in history.text  # the family's words stay in the request


async def test_an_office_move_that_double_books_an_adult_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    booked = await _published(client, world)
    office = await bearer(world.login(Role.OFFICE))
    other = next(v for v in booked["visits"] if v["id"] != booked["visit"]["id"])
    url = f"/api/v1/visits/{booked['visit']['id']}"
    etag = (await client.get(url, headers=office)).headers["etag"]
    refused = await client.patch(
        url, json={"slot_id": other["slot_id"]}, headers=office | {"If-Match": etag}
    )
    assert_problem(refused, 409, "schedule-rule-broken")
    assert (await client.get(url, headers=office)).json()["slot_id"] == booked["visit"]["slot_id"]


async def test_only_the_schools_office_and_slt_see_and_close_requests(
    client: httpx.AsyncClient, world: World
) -> None:
    booked = await _published(client, world)
    asked = await client.post(
        f"{booked['base']}/change-requests", json=ASK, headers=booked["parent"]
    )
    url = f"/api/v1/programmes/{booked['id']}/change-requests"
    close_url = f"/api/v1/change-requests/{asked.json()['id']}/close"
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(await client.get(url, headers=teacher), 403)
    assert_problem(await client.post(close_url, json={"resolution": "kept"}, headers=teacher), 403)
    other = await bearer(world.login(Role.OFFICE, school=1))
    assert_problem(await client.get(url, headers=other), 404)
    assert_problem(await client.post(close_url, json={"resolution": "kept"}, headers=other), 404)
    slt = await bearer(world.login(Role.SCHOOL_ADMIN))
    kept = await client.post(close_url, json={"resolution": "kept"}, headers=slt)
    assert kept.status_code == 200, kept.text
