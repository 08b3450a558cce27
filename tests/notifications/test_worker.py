"""The worker that sends the outbox, against the local fake of Notify through the official
client: each message reaches Notify exactly once whatever fails on the way (a refusal, a 5xx, a
429, an answer that never comes, a worker that dies after claiming or after sending)."""

import asyncio
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlmodel import col, select

from app.core import db, ratelimit
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.notifications import outbox, reach, worker
from app.notifications.fake_notify import RunningFake
from app.notifications.models import (
    LoggedMessage,
    Message,
    MessageAttempt,
    MessageChannel,
    MessageKind,
    MessageStatus,
    RecipientType,
)
from app.notifications.notify import Accepted, NotifyGateway
from app.roster.models import Contact
from app.synthetic.generator import World
from tests.conftest import bearer
from tests.parents.helpers import collecting_programme

pytestmark = pytest.mark.usefixtures("sending_through_fake")


async def _invite(client: httpx.AsyncClient, world: World) -> Message:
    """Issue the programme's invitations; the one message that goes by text."""
    from app.core.permissions import Role

    programme = await collecting_programme(client, world)
    office = await bearer(world.login(Role.OFFICE))
    issued = await client.post(f"/api/v1/programmes/{programme['id']}/invitations", headers=office)
    assert issued.status_code == 200, issued.text
    [text] = [m for m in await _messages() if m.channel is MessageChannel.SMS]
    return text


async def _messages() -> list[Message]:
    async with db.open_session(system_scope("test: read the outbox")) as session:
        return list((await session.scalars(select(Message))).all())


async def _message(message: Message) -> Message:
    async with db.open_session(system_scope("test: read a message")) as session:
        found = await session.get(Message, message.id)
    assert found is not None
    return found


async def _outcomes(message: Message) -> list[str]:
    async with db.open_session(system_scope("test: read attempts")) as session:
        attempts = await session.scalars(
            select(MessageAttempt)
            .where(col(MessageAttempt.message_id) == message.id)
            .order_by(col(MessageAttempt.attempted_at))
        )
        return [a.outcome for a in attempts.all()]


def _later(minutes: float) -> datetime:
    return utcnow() + timedelta(minutes=minutes)


def _after_lease(minutes: float = 0) -> datetime:
    return utcnow() + worker.lease(get_settings()) + timedelta(seconds=1, minutes=minutes)


def _held(fake: RunningFake, message: Message) -> int:
    return len(fake.fake.by_reference(str(message.id)))


async def test_a_text_is_sent_once_with_its_reference_and_its_words(
    client: httpx.AsyncClient, world: World, sending_through_fake: RunningFake
) -> None:
    text = await _invite(client, world)
    assert await worker.send_pending("w1") == 1
    assert await worker.send_pending("w1") == 0
    sent = await _message(text)
    [stored] = sending_through_fake.fake.notifications
    assert (stored.reference, stored.type) == (str(text.id), "sms")
    assert (sent.status, sent.notify_id) == (MessageStatus.SENT, stored.id)
    assert sent.sent_at is not None
    assert sent.locked_by is None
    # The code was sealed in the outbox and opened only to render the text.
    assert outbox.opened(text.values)["code"] in stored.body
    assert await _outcomes(text) == ["accepted"]
    # The family reached by letter is left for the office to print.
    letters = [m for m in await _messages() if m.channel is MessageChannel.LETTER]
    assert [m.status for m in letters] == [MessageStatus.CREATED]


async def test_a_refused_number_fails_for_good_and_is_not_retried(
    client: httpx.AsyncClient, world: World, sending_through_fake: RunningFake
) -> None:
    text = await _invite(client, world)
    sending_through_fake.fake.inject("400")
    await worker.send_pending("w1")
    failed = await _message(text)
    assert failed.status is MessageStatus.PERMANENT_FAILURE
    assert failed.status_reason == "Notify 400 ValidationError (phone_number)"
    assert await worker.send_pending("w1", now=_later(24 * 60)) == 0
    assert sending_through_fake.fake.notifications == []
    assert await _outcomes(text) == ["permanent_failure"]


async def test_a_server_error_then_rate_limit_are_retried_and_sent_once(
    client: httpx.AsyncClient, world: World, sending_through_fake: RunningFake
) -> None:
    text = await _invite(client, world)
    sending_through_fake.fake.inject("500", "429")
    await worker.send_pending("w1")
    waiting = await _message(text)
    assert (waiting.status, waiting.ambiguous) == (MessageStatus.CREATED, True)
    assert waiting.send_after > utcnow() + timedelta(seconds=20)  # backed off
    assert await worker.send_pending("w1") == 0  # not due yet
    await worker.send_due("w1", now=_later(5))  # looked up (nothing), sent: 429
    limited = await _message(text)
    assert (limited.status, limited.ambiguous) == (MessageStatus.CREATED, False)
    await worker.send_pending("w1", now=_later(10))
    assert (await _message(text)).status is MessageStatus.SENT
    assert _held(sending_through_fake, text) == 1
    assert await _outcomes(text) == ["ambiguous", "retry", "accepted"]


async def test_stored_before_a_server_error_is_found_and_not_sent_again(
    client: httpx.AsyncClient, world: World, sending_through_fake: RunningFake
) -> None:
    text = await _invite(client, world)
    sending_through_fake.fake.inject("500-after-store")
    await worker.send_pending("w1")
    await worker.send_pending("w1", now=_later(5))
    sent = await _message(text)
    [stored] = sending_through_fake.fake.notifications
    assert (sent.status, sent.notify_id) == (MessageStatus.SENT, stored.id)
    assert await _outcomes(text) == ["ambiguous", "found_by_reference"]
    assert sending_through_fake.fake.stats()["sends"] == 1


async def test_a_slow_answer_then_the_reference_look_up_prevents_a_second_text(
    client: httpx.AsyncClient, world: World, sending_through_fake: RunningFake
) -> None:
    text = await _invite(client, world)
    sending_through_fake.fake.inject("slow:2")
    await worker.send_pending("w1")
    timed_out = await _message(text)
    assert (timed_out.status, timed_out.ambiguous) == (MessageStatus.CREATED, True)
    assert timed_out.status_reason == "Will try again: Notify did not answer (ReadTimeout)"
    await worker.send_pending("w1", now=_later(5))
    assert (await _message(text)).status is MessageStatus.SENT
    assert _held(sending_through_fake, text) == 1
    assert await _outcomes(text) == ["ambiguous", "found_by_reference"]


async def test_a_worker_killed_between_claim_and_send_gives_one_text(
    client: httpx.AsyncClient, world: World, sending_through_fake: RunningFake
) -> None:
    text = await _invite(client, world)
    [(claimed, _token)] = await worker.claim("dies", utcnow())
    assert claimed.id == text.id
    # Held by the dead worker's lease: nobody else takes it meanwhile.
    assert await worker.send_pending("w2") == 0
    assert await worker.send_pending("w2", now=_after_lease()) == 1
    assert (await _message(text)).status is MessageStatus.SENT
    assert _held(sending_through_fake, text) == 1
    # Looked up first (the dead worker might have sent it), found nothing, then sent.
    assert await _outcomes(text) == ["accepted"]
    assert sending_through_fake.fake.stats()["requests"] == 2


async def test_a_worker_killed_between_send_and_marking_sent_gives_one_text(
    client: httpx.AsyncClient, world: World, sending_through_fake: RunningFake
) -> None:
    text = await _invite(client, world)
    [(claimed, _token)] = await worker.claim("dies", utcnow())
    settings = get_settings()
    gateway = NotifyGateway(settings.notify_api_key or "", settings.notify_base_url, 5)
    sent = await gateway.send("sms", "07700900123", str(claimed.id), {"body": "x"}, str(text.id))
    assert isinstance(sent, Accepted)  # ... and the worker dies before writing it down
    assert (await _message(text)).status is MessageStatus.SENDING
    assert await worker.send_pending("w2", now=_after_lease()) == 1
    found = await _message(text)
    assert (found.status, found.notify_id) == (MessageStatus.SENT, sent.notify_id)
    assert _held(sending_through_fake, text) == 1
    assert await _outcomes(text) == ["found_by_reference"]


async def test_a_late_finish_by_a_worker_whose_lease_was_taken_back_changes_nothing(
    client: httpx.AsyncClient, world: World, sending_through_fake: RunningFake
) -> None:
    text = await _invite(client, world)
    [(claimed, stale)] = await worker.claim("stalls", utcnow())
    await worker.send_pending("w2", now=_after_lease())
    done = await _message(text)
    await worker._record(claimed, stale, Accepted("another-id"), "accepted")
    assert await _message(text) == done


async def test_the_rate_is_shared_through_the_database(
    client: httpx.AsyncClient,
    world: World,
    sending_through_fake: RunningFake,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = await _invite(client, world)
    monkeypatch.setattr(get_settings(), "notify_rate_per_minute", 3)
    # Another process's workers have made three requests this minute.
    limit = ratelimit.Limit("notify-requests", 3, 60, "")
    key = (get_settings().notify_api_key or "")[-73:-37]
    taken = await ratelimit.reserve(limit, key, 5)
    assert len(taken) == 3
    held_back = await worker.send_due("w1")
    assert (held_back.claimed, held_back.rate_limited) == (0, True)
    assert (await _message(text)).status is MessageStatus.CREATED
    assert sending_through_fake.fake.notifications == []
    await ratelimit.give_back_now(taken[:1])
    assert (await worker.send_due("w1")).claimed == 1
    assert await ratelimit.reserve(limit, key, 5) == []  # the send spent the one given back


async def test_a_contact_who_withdrew_consent_is_not_texted(
    client: httpx.AsyncClient, world: World, sending_through_fake: RunningFake
) -> None:
    text = await _invite(client, world)
    async with db.open_session(system_scope("test: withdraw consent")) as session:
        contact = await session.get(Contact, text.recipient_id)
        assert contact is not None
        contact.sms_consent = False
    await worker.send_pending("w1")
    failed = await _message(text)
    assert failed.status is MessageStatus.PERMANENT_FAILURE
    assert failed.status_reason == "The contact no longer has a mobile number that agreed to texts"
    assert sending_through_fake.fake.notifications == []


async def test_the_log_channel_records_what_would_have_been_sent(
    client: httpx.AsyncClient,
    world: World,
    sending_through_fake: RunningFake,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(get_settings(), "messages_delivery", "log")
    text = await _invite(client, world)
    await worker.send_pending("w1")
    async with db.open_session(system_scope("test: read the log")) as session:
        [logged] = (await session.scalars(select(LoggedMessage))).all()
    assert logged.message_id == text.id
    assert outbox.opened(text.values)["code"] in logged.body
    assert (await _message(text)).status is MessageStatus.SENT
    assert sending_through_fake.fake.stats()["requests"] == 0


def test_backoff_doubles_up_to_an_hour_and_respects_notifys_wait() -> None:
    waits: list[Any] = [worker.backoff(n, 0).total_seconds() for n in (1, 2, 3, 8, 30)]
    assert waits == [30, 60, 120, 3600, 3600]
    assert worker.backoff(1, 60).total_seconds() == 60


async def test_the_loop_sends_what_falls_due_until_stopped(
    client: httpx.AsyncClient, world: World, sending_through_fake: RunningFake
) -> None:
    text = await _invite(client, world)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.send_forever(stop, "loop", idle_seconds=0.05))
    for _ in range(200):
        if (await _message(text)).status is MessageStatus.SENT:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(running, timeout=10)
    assert (await _message(text)).status is MessageStatus.SENT
    assert _held(sending_through_fake, text) == 1


async def test_workers_side_by_side_send_each_message_once(
    client: httpx.AsyncClient, world: World, sending_through_fake: RunningFake
) -> None:
    text = await _invite(client, world)
    drafts = [
        outbox.Draft(
            kind=MessageKind.VISIT_REMINDER,
            school_id=text.school_id,
            programme_id=text.programme_id,
            household_id=text.household_id,
            recipient=reach.Recipient(RecipientType.CONTACT, text.recipient_id, text.channel),
            cause_kind="test_reminder",
            cause_id=uuid4(),
            values={"school_name": "Test School", "visit_day": "Monday"},
        )
        for _ in range(40)
    ]
    async with db.open_session(system_scope("test: write reminders")) as session:
        assert len(await outbox.write(session, text.trust_id, drafts)) == 40
    claimed = await asyncio.gather(*(worker.send_pending(f"w{n}") for n in range(3)))
    assert sum(claimed) == 41
    assert {m.status for m in await _messages() if m.channel is MessageChannel.SMS} == {
        MessageStatus.SENT
    }
    stats = sending_through_fake.fake.stats()
    assert (stats["stored"], stats["duplicate_references"]) == (41, 0)
