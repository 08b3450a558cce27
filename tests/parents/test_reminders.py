"""Families who have not answered are reminded before the window closes, with the code they were
sent, once; the office sends a family its code again when it was lost, only at its own school."""

from datetime import datetime, timedelta
from uuid import UUID

import httpx

from app.core.permissions import Role
from app.notifications import outbox
from app.notifications.models import MessageKind
from app.parents.reminders import plan_answer_reminders, reminder_moment
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.notifications.helpers import issued, messages


async def _reminders() -> list[UUID | None]:
    return [m.household_id for m in await messages() if m.kind is MessageKind.ANSWER_REMINDER]


async def test_only_families_who_have_not_answered_are_reminded_once_when_it_falls_due(
    client: httpx.AsyncClient, world: World
) -> None:
    sent = await issued(client, world)
    office = await bearer(world.login(Role.OFFICE))
    slots = await client.get(f"/api/v1/programmes/{sent.programme_id}/slots", headers=office)
    first = slots.json()["items"][0]["id"]
    answered = await client.put(
        f"/api/v1/programmes/{sent.programme_id}/households/{sent.khans}/answer",
        json={"preferred_slot_ids": [first]},
        headers=office,
    )
    assert answered.status_code == 200, answered.text
    closes = datetime.fromisoformat(sent.programme["preferences_close_at"])
    due = reminder_moment(closes, sent.programme["answer_reminder_days"])
    assert await plan_answer_reminders(due - timedelta(minutes=1)) == 0
    assert await _reminders() == []

    assert await plan_answer_reminders(due + timedelta(minutes=1)) == 1
    assert await _reminders() == [sent.browns]  # the Khans answered
    (reminder,) = [m for m in await messages() if m.kind is MessageKind.ANSWER_REMINDER]
    # The code they were sent, not a new one: both still work.
    assert outbox.opened(reminder.values)["code"] == outbox.opened(sent.letter.values)["code"]
    assert reminder.channel is sent.letter.channel

    # A second run, or a second worker, writes nothing more.
    assert await plan_answer_reminders(due + timedelta(minutes=2)) == 0
    assert await _reminders() == [sent.browns]


async def test_the_office_sends_a_lost_code_again_as_a_new_message(
    client: httpx.AsyncClient, world: World
) -> None:
    sent = await issued(client, world)
    office = await bearer(world.login(Role.OFFICE))
    url = f"/api/v1/programmes/{sent.programme_id}/households/{sent.khans}/invitation/resend"
    again = await client.post(url, headers=office)
    assert again.status_code == 201, again.text
    body = again.json()
    assert body["household_id"] == str(sent.khans)
    by_id = {m.id: m for m in await messages()}
    resent = by_id[UUID(body["message_id"])]
    assert resent.id != sent.sms.id
    assert resent.kind is MessageKind.INVITATION
    assert outbox.opened(resent.values)["code"] == outbox.opened(sent.sms.values)["code"]
    # A family that lost it twice gets it twice.
    twice = await client.post(url, headers=office)
    assert twice.status_code == 201, twice.text
    assert twice.json()["message_id"] not in {body["message_id"], str(sent.sms.id)}

    # Another school's office cannot, and learns nothing: as if the household did not exist.
    other = await bearer(world.login(Role.OFFICE, school=1))
    before = len(await messages())
    assert_problem(await client.post(url, headers=other), 404)
    assert len(await messages()) == before
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(await client.post(url, headers=teacher), 403)


async def test_a_household_without_a_live_invitation_is_not_sent_one(
    client: httpx.AsyncClient, world: World
) -> None:
    sent = await issued(client, world)
    office = await bearer(world.login(Role.OFFICE))
    base = f"/api/v1/programmes/{sent.programme_id}/households/{sent.browns}/invitation"
    assert (await client.delete(base, headers=office)).status_code == 204
    before = len(await messages())
    problem = assert_problem(await client.post(f"{base}/resend", headers=office), 404)
    assert "no live invitation" in problem["detail"]
    assert len(await messages()) == before
