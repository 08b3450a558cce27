"""What families and staff are told about their visits, through the outbox: a confirmation per
family and word to each adult on publishing, said once; a change confirmation when a visit the
family heard of moves; a cancellation when a re-run takes it away; reminders when they fall due."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from app.core.jobs import run_pending
from app.core.permissions import Role
from app.notifications.models import Message, MessageChannel, MessageKind, MessageStatus
from app.synthetic.generator import World
from app.visits.messages import plan_reminders, reminder_moment
from tests.conftest import bearer
from tests.notifications.helpers import mark_sent, messages
from tests.programmes.test_programmes import move, publish
from tests.visits.helpers import planned_programme


async def _about_visits(kind: MessageKind | None = None) -> list[Message]:
    wanted = {
        MessageKind.VISIT_CONFIRMATION,
        MessageKind.VISIT_CHANGED,
        MessageKind.VISIT_CANCELLED,
        MessageKind.VISIT_REMINDER,
        MessageKind.ITINERARY_PUBLISHED,
    }
    return [m for m in await messages() if m.kind in ({kind} if kind else wanted)]


async def _published(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    programme = await planned_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    published = await publish(client, programme["id"], admin)
    assert published.status_code == 200, published.text
    return programme


async def _patch(
    client: httpx.AsyncClient, headers: dict[str, str], visit_id: str, body: dict[str, Any]
) -> httpx.Response:
    url = f"/api/v1/visits/{visit_id}"
    etag = (await client.get(url, headers=headers)).headers["etag"]
    return await client.patch(url, json=body, headers=headers | {"If-Match": etag})


async def _free_slot(client: httpx.AsyncClient, programme: dict[str, Any], admin: Any) -> Any:
    """A slot on a day with no other visit, so no travel between homes constrains a move."""
    busy = {v["starts_at"][:10] for v in programme["visits"]}
    slots = await client.get(
        f"/api/v1/programmes/{programme['id']}/slots", params={"limit": 200}, headers=admin
    )
    return next(s for s in slots.json()["items"] if s["day"] not in busy)


async def test_publishing_confirms_each_family_s_visit_and_tells_each_adult_once(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await _published(client, world)
    confirmations = await _about_visits(MessageKind.VISIT_CONFIRMATION)
    visits = {UUID(v["household_id"]): v for v in programme["visits"]}
    assert {m.household_id for m in confirmations} == set(visits)
    for message in confirmations:
        visit = visits[message.household_id]  # type: ignore[index]
        assert message.cause_id == UUID(visit["id"])
        assert message.status is MessageStatus.CREATED
        assert message.values["place"] == "at your home"
        assert "class teacher" in message.values["visitors"]
        # The minimum the family needs: never an address, SEND, FSM or a note.
        assert not {"address", "postcode", "send", "fsm", "notes"} & set(message.values)
    # Aisha Khan agreed to texts; the Browns can be reached only by letter.
    assert {m.channel for m in confirmations} == {MessageChannel.SMS, MessageChannel.LETTER}
    itineraries = await _about_visits(MessageKind.ITINERARY_PUBLISHED)
    adults = {a["staff_id"] for v in programme["visits"] for a in v["adults"]}
    assert {str(m.recipient_id) for m in itineraries} == adults
    counts = {str(m.recipient_id): m.values["visit_count"] for m in itineraries}
    for adult in adults:
        on = [v for v in programme["visits"] if adult in {a["staff_id"] for a in v["adults"]}]
        assert counts[adult] == str(len(on))

    # Reopened and published again with nothing changed: nobody hears anything twice.
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    reason = "The head wants one more look"
    assert (await move(client, programme["id"], admin, "scheduling", reason=reason)).is_success
    before = {m.id for m in await _about_visits()}
    assert (await publish(client, programme["id"], admin)).status_code == 200
    assert {m.id for m in await _about_visits()} == before


async def test_a_move_before_the_confirmation_went_is_confirmed_at_the_new_time(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await _published(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    visit = programme["visits"][0]
    (waiting,) = [m for m in await _about_visits() if m.household_id == UUID(visit["household_id"])]
    free = await _free_slot(client, programme, admin)
    assert (await _patch(client, admin, visit["id"], {"slot_id": free["id"]})).status_code == 200
    mine = [m for m in await _about_visits() if m.household_id == UUID(visit["household_id"])]
    old = next(m for m in mine if m.id == waiting.id)
    assert old.status is MessageStatus.CANCELLED  # never sent: its time no longer holds
    (fresh,) = [m for m in mine if m.status is MessageStatus.CREATED]
    # Not "moved": the family never heard the first time.
    assert fresh.kind is MessageKind.VISIT_CONFIRMATION
    assert fresh.values["visit_day"] != old.values["visit_day"]


async def test_a_move_after_the_confirmation_went_says_from_when_to_when(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await _published(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    visit = programme["visits"][0]
    household = UUID(visit["household_id"])
    (confirmation,) = [m for m in await _about_visits() if m.household_id == household]
    await mark_sent(confirmation.id, "notify-1")
    free = await _free_slot(client, programme, admin)
    moved = await _patch(client, admin, visit["id"], {"slot_id": free["id"], "note": "Rang"})
    assert moved.status_code == 200, moved.text
    (changed,) = await _about_visits(MessageKind.VISIT_CHANGED)
    assert changed.household_id == household
    assert changed.values["previous_day"] == confirmation.values["visit_day"]
    assert changed.values["previous_time"] == confirmation.values["visit_time"]
    assert changed.values["visit_day"] != confirmation.values["visit_day"]
    history = await client.get(f"/api/v1/visits/{visit['id']}/changes", headers=admin)
    assert changed.cause_id == UUID(history.json()["items"][-1]["id"])  # caused by the move

    # Locking it (confirmed with the family) tells the family nothing more.
    assert (await _patch(client, admin, visit["id"], {"locked": True})).status_code == 200
    assert len(await _about_visits(MessageKind.VISIT_CHANGED)) == 1


async def test_a_rerun_that_takes_a_visit_away_tells_the_family_it_is_cancelled(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await _published(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    confirmations = {m.household_id: m for m in await _about_visits()}
    told, untold = (UUID(v["household_id"]) for v in programme["visits"])
    await mark_sent(confirmations[told].id, "notify-1")
    url = f"/api/v1/programmes/{programme['id']}/households"
    for household in (told, untold):
        exempt = await client.put(
            f"{url}/{household}/exemption",
            json={"kind": "exempt", "reason": "Moved"},
            headers=admin,
        )
        assert exempt.status_code == 200, exempt.text
    rerun = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs",
        json={"time_limit_seconds": 2},
        headers=admin,
    )
    assert rerun.status_code == 202, rerun.text
    assert await run_pending() == 1
    (cancelled,) = await _about_visits(MessageKind.VISIT_CANCELLED)
    assert cancelled.household_id == told
    assert cancelled.values["visit_day"] == confirmations[told].values["visit_day"]
    assert cancelled.values["reason"]
    # The family that had not been sent its confirmation yet is simply not sent it.
    withdrawn = next(m for m in await _about_visits() if m.id == confirmations[untold].id)
    assert withdrawn.status is MessageStatus.CANCELLED
    assert "cancelled" in (withdrawn.status_reason or "")


async def test_visit_reminders_fall_due_at_the_programme_s_lead_and_go_once(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await _published(client, world)
    read = await client.get(
        f"/api/v1/programmes/{programme['id']}",
        headers=await bearer(world.login(Role.SCHOOL_ADMIN)),
    )
    lead = read.json()["reminder_lead_days"]
    first = min(programme["visits"], key=lambda v: v["starts_at"])
    starts_at = datetime.fromisoformat(first["starts_at"].replace("Z", "+00:00"))
    due = reminder_moment(starts_at, lead)
    assert await plan_reminders(due - timedelta(minutes=1)) == 0
    assert await plan_reminders(due + timedelta(minutes=1)) >= 1
    reminders = await _about_visits(MessageKind.VISIT_REMINDER)
    assert first["id"] in {str(m.cause_id) for m in reminders}
    reminded = next(m for m in reminders if str(m.cause_id) == first["id"])
    assert reminded.household_id == UUID(first["household_id"])
    assert reminded.values["visit_time"]
    # A second run, or a second worker, writes nothing more.
    assert await plan_reminders(due + timedelta(minutes=2)) == 0
    assert len(await _about_visits(MessageKind.VISIT_REMINDER)) == len(reminders)


async def test_a_visit_called_off_before_it_begins_tells_the_family(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await _published(client, world)
    confirmations = {m.household_id: m for m in await _about_visits()}
    visit = programme["visits"][0]
    await mark_sent(confirmations[UUID(visit["household_id"])].id, "notify-1")
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/visits/{visit['id']}"
    etag = (await client.get(url, headers=admin)).headers["etag"]
    called_off = await client.post(
        f"{url}/outcome",
        json={"outcome": "cancelled", "reason": "Teacher unwell"},
        headers=admin | {"If-Match": etag},
    )
    assert called_off.status_code == 200, called_off.text
    (cancelled,) = await _about_visits(MessageKind.VISIT_CANCELLED)
    assert cancelled.household_id == UUID(visit["household_id"])
    assert "unwell" not in cancelled.values["reason"]  # the school's words, not the staff note
