"""The parent's journey: a code from the school, a token for one household in one programme, an
answer given, changed and refused once the window closes."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.core.permissions import Role
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.parents.helpers import (
    answer_url,
    close_window,
    collecting_programme,
    household_of,
    invitation_code,
    parent_headers,
    slot_ids,
)
from tests.programmes.test_programmes import (
    THURSDAY,
    TUESDAY,
    WEDNESDAY,
    move,
    new_programme,
    programmes_url,
)


async def test_a_parent_answers_changes_and_is_refused_after_the_window(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await collecting_programme(client, world)
    home = await household_of("P-1")
    parent = await parent_headers(
        client, await invitation_code(client, world, programme["id"], home)
    )

    me = (await client.get("/api/v1/parent/session", headers=parent)).json()
    assert me["household_id"] == str(home)
    assert me["programme_id"] == programme["id"]
    children = (await client.get(f"/api/v1/parent/households/{home}", headers=parent)).json()
    # Only the Reception child is in this programme, and only first name and class are shown.
    assert children["children"] == [
        {"first_name": "Yusuf", "class_name": "Robins", "year_group": "R"}
    ]
    slots = await slot_ids(client, parent, programme["id"])
    url = answer_url(programme["id"], home)
    assert (await client.get(url, headers=parent)).json()["status"] == "not_answered"

    first = await client.put(
        url,
        json={
            "preferred_slot_ids": [slots[-1], slots[0]],
            "unavailable": [{"day": WEDNESDAY.isoformat(), "part": "morning"}],
            "interpreter_language": "Urdu",
        },
        headers=parent,
    )
    assert first.status_code == 200, first.text
    saved = first.json()
    assert [p["slot_id"] for p in saved["preferred"]] == [slots[-1], slots[0]]
    assert saved["answered_by"] == "parent"
    assert saved["version"] == 1

    changed = await client.put(
        url, json={"kind": "declined", "decline_reason": "We are away"}, headers=parent
    )
    assert changed.json()["status"] == "declined"
    assert changed.json()["preferred"] == []
    assert changed.json()["version"] == 2

    await close_window(programme["id"])
    late = await client.put(url, json={"preferred_slot_ids": [slots[0]]}, headers=parent)
    body = assert_problem(late, 409, "preferences-closed")
    assert "contact the school" in body["detail"]
    kept = (await client.get(url, headers=parent)).json()
    assert kept["status"] == "declined"
    view = (await client.get(f"/api/v1/parent/programmes/{programme['id']}", headers=parent)).json()
    assert view["accepting_answers"] is False


async def test_a_parent_reaches_only_their_own_household_and_programme(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await collecting_programme(client, world)
    mine, theirs = await household_of("P-1"), await household_of("P-4")
    parent = await parent_headers(
        client, await invitation_code(client, world, programme["id"], mine)
    )
    for response in (
        await client.get(f"/api/v1/parent/households/{theirs}", headers=parent),
        await client.get(answer_url(programme["id"], theirs), headers=parent),
        await client.put(answer_url(programme["id"], theirs), json={}, headers=parent),
    ):
        assert_problem(response, 404)
    other = await client.post(
        programmes_url(world),
        json=new_programme(name="Another"),
        headers=await bearer(world.login(Role.SCHOOL_ADMIN)),
    )
    other_id = other.json()["id"]
    assert_problem(await client.get(f"/api/v1/parent/programmes/{other_id}", headers=parent), 404)
    assert_problem(await client.put(answer_url(other_id, mine), json={}, headers=parent), 404)
    # Staff routes are not for parents, whatever they name.
    for path in (
        f"/api/v1/programmes/{programme['id']}",
        "/api/v1/me",
        f"/api/v1/households/{mine}",
    ):
        assert_problem(await client.get(path, headers=parent), 403)
    # And a staff token is not a parent's.
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(await client.get("/api/v1/parent/session", headers=teacher), 403)


async def test_invalid_answers_are_refused_whole(client: httpx.AsyncClient, world: World) -> None:
    programme = await collecting_programme(client, world)
    home = await household_of("P-1")
    parent = await parent_headers(
        client, await invitation_code(client, world, programme["id"], home)
    )
    slots = await slot_ids(client, parent, programme["id"])
    url = answer_url(programme["id"], home)
    assert (
        await client.put(url, json={"preferred_slot_ids": slots[:2]}, headers=parent)
    ).is_success
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    other = await client.post(
        programmes_url(world), json=new_programme(name="Other"), headers=admin
    )
    foreign_slot = (
        await client.get(f"/api/v1/programmes/{other.json()['id']}/slots", headers=admin)
    ).json()["items"][0]["id"]
    first_day_slot = slots[0]  # Tuesday 09:00 local
    bad: list[tuple[dict[str, Any], str]] = [
        ({"preferred_slot_ids": ["00000000-0000-4000-8000-000000000000"]}, "/preferred_slot_ids/0"),
        ({"preferred_slot_ids": [slots[2], foreign_slot]}, "/preferred_slot_ids/1"),
        ({"preferred_slot_ids": [slots[2], slots[2]]}, "/preferred_slot_ids/1"),
        (
            {
                "preferred_slot_ids": [first_day_slot],
                "unavailable": [{"day": TUESDAY.isoformat(), "part": "morning"}],
            },
            "/preferred_slot_ids/0",
        ),
        (
            {"preferred_slot_ids": [first_day_slot], "unavailable": [{"day": TUESDAY.isoformat()}]},
            "/preferred_slot_ids/0",
        ),
        ({"unavailable": [{"day": THURSDAY.isoformat()}]}, "/unavailable/0/day"),
    ]
    for answer, pointer in bad:
        refused = assert_problem(
            await client.put(url, json=answer, headers=parent), 422, "answer-invalid"
        )
        assert pointer in [e["pointer"] for e in refused["errors"]], refused
    for answer in (
        {"preferred_slot_ids": slots[:6]},
        {"kind": "declined"},
        {"kind": "declined", "decline_reason": "No", "preferred_slot_ids": slots[:1]},
        {"preferred_slot_ids": slots[:1], "colour": "blue"},
    ):
        assert_problem(await client.put(url, json=answer, headers=parent), 422)
    kept = (await client.get(url, headers=parent)).json()
    assert [p["slot_id"] for p in kept["preferred"]] == slots[:2]
    assert kept["version"] == 1


async def test_an_afternoon_off_leaves_the_morning_open(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await collecting_programme(client, world)
    home = await household_of("P-1")
    parent = await parent_headers(
        client, await invitation_code(client, world, programme["id"], home)
    )
    view = (await client.get(f"/api/v1/parent/programmes/{programme['id']}", headers=parent)).json()
    day = view["days"][0]
    morning = [s["slot_id"] for s in day["slots"] if s["local_start"] < "12:00"]
    afternoon = [s["slot_id"] for s in day["slots"] if s["local_start"] >= "13:00"]
    url = answer_url(programme["id"], home)
    off = [{"day": day["day"], "part": "afternoon"}]
    ok = await client.put(
        url, json={"preferred_slot_ids": morning[:2], "unavailable": off}, headers=parent
    )
    assert ok.status_code == 200, ok.text
    refused = await client.put(
        url, json={"preferred_slot_ids": afternoon[:1], "unavailable": off}, headers=parent
    )
    assert_problem(refused, 422, "answer-invalid")


async def test_two_submissions_at_once_leave_one_coherent_answer(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await collecting_programme(client, world)
    home = await household_of("P-1")
    code = await invitation_code(client, world, programme["id"], home)
    phone, laptop = await parent_headers(client, code), await parent_headers(client, code)
    slots = await slot_ids(client, phone, programme["id"])
    url = answer_url(programme["id"], home)
    one = {"preferred_slot_ids": slots[:3], "interpreter_language": "Polish"}
    other = {"preferred_slot_ids": slots[5:7], "accessibility": "Step-free access please"}
    for _ in range(3):
        results = await asyncio.gather(
            client.put(url, json=one, headers=phone), client.put(url, json=other, headers=laptop)
        )
        assert all(r.status_code == 200 for r in results), [r.text for r in results]
        final = (await client.get(url, headers=phone)).json()
        got = {
            "preferred_slot_ids": [p["slot_id"] for p in final["preferred"]],
            "interpreter_language": final["interpreter_language"],
            "accessibility": final["accessibility"],
        }
        expected = [
            {"interpreter_language": None, "accessibility": None} | one,
            {"interpreter_language": None, "accessibility": None} | other,
        ]
        assert got in expected
    assert final["version"] == 6


async def test_the_office_enters_an_answer_for_a_family(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await collecting_programme(client, world)
    home = await household_of("P-4")
    office = await bearer(world.login(Role.OFFICE))
    url = f"/api/v1/programmes/{programme['id']}/households/{home}/answer"
    entered = await client.put(
        url, json={"notes_for_visitors": "Dog in the garden"}, headers=office
    )
    assert entered.status_code == 200, entered.text
    assert entered.json()["answered_by"] == "staff"
    assert (await client.get(url, headers=office)).json()[
        "notes_for_visitors"
    ] == "Dog in the garden"
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(await client.put(url, json={}, headers=teacher), 403)
    # The window closing does not stop the office taking a late answer while scheduling.
    await close_window(programme["id"])
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    moved = await move(client, programme["id"], admin, "scheduling")
    assert moved.status_code == 200, moved.text
    late = await client.put(
        url, json={"kind": "declined", "decline_reason": "Moving away"}, headers=office
    )
    assert late.status_code == 200, late.text
    audit = await client.get(
        "/api/v1/audit-events",
        params={"action": "answer.entered_for_family"},
        headers=await bearer(world.login(Role.TRUST_ADMIN)),
    )
    entries = audit.json()["items"]
    assert len(entries) == 2
    assert {e["subject_id"] for e in entries} == {str(home)}


async def test_times_are_london_time_across_the_clock_change(
    client: httpx.AsyncClient, world: World
) -> None:
    # The clocks go forward on Sunday 28 March 2027: Friday is GMT, Monday BST.
    closes = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    programme = await collecting_programme(
        client,
        world,
        visit_days=["2027-03-26", "2027-03-29"],
        breaks=[],
        preferences_close_at=closes,
    )
    home = await household_of("P-1")
    parent = await parent_headers(
        client, await invitation_code(client, world, programme["id"], home)
    )
    view = (await client.get(f"/api/v1/parent/programmes/{programme['id']}", headers=parent)).json()
    before, after = view["days"]
    assert before["slots"][0]["local_start"] == after["slots"][0]["local_start"] == "09:00"
    assert before["slots"][0]["starts_at"].startswith("2027-03-26T09:00")  # GMT
    assert after["slots"][0]["starts_at"].startswith("2027-03-29T08:00")  # BST
