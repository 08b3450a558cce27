"""The outbox: a message is written with the change that causes it or not at all, once per
cause and recipient, to the channel the family can be reached on, never in quiet hours, and
never past a programme's daily cap."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlmodel import col, select

from app.core import db
from app.core.permissions import Role
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.notifications import outbox, reach
from app.notifications.models import (
    Message,
    MessageChannel,
    MessageKind,
    MessageStatus,
    RecipientType,
)
from app.notifications.wording import DEFAULTS, Wording, choose, language_code, render
from app.parents.models import Invitation
from app.roster.models import Contact
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.parents.helpers import collecting_programme, household_of


async def _messages() -> list[Message]:
    async with db.open_session(system_scope("test: read the outbox")) as session:
        return list((await session.scalars(select(Message).order_by(col(Message.channel)))).all())


async def _invitations() -> list[Invitation]:
    async with db.open_session(system_scope("test: read invitations")) as session:
        return list((await session.scalars(select(Invitation))).all())


async def _issue(client: httpx.AsyncClient, world: World, programme: dict[str, Any]) -> Any:
    office = await bearer(world.login(Role.OFFICE))
    return await client.post(f"/api/v1/programmes/{programme['id']}/invitations", headers=office)


async def test_issuing_invitations_writes_each_familys_message_with_it(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await collecting_programme(client, world)
    issued = await _issue(client, world, programme)
    assert issued.status_code == 200, issued.text
    assert issued.json()["issued"] == 2
    messages = await _messages()
    invitations = {i.id: i for i in await _invitations()}
    assert {m.cause_id for m in messages} == set(invitations)
    by_household = {m.household_id: m for m in messages}
    khans, browns = await household_of("P-1"), await household_of("P-4")
    # Aisha Khan agreed to texts; Zoë Brown has a mobile but never agreed, and no email: a letter.
    assert by_household[khans].channel is MessageChannel.SMS
    assert by_household[browns].channel is MessageChannel.LETTER
    assert by_household[browns].language == "pl"
    for message in messages:
        assert message.kind is MessageKind.INVITATION
        assert message.status is MessageStatus.CREATED
        assert message.programme_id == UUID(programme["id"])
        # The code travels sealed: it is opened only to render the message being sent.
        code = outbox.opened(message.values)["code"]
        assert code
        assert code not in str(message.values)
        assert message.values["school_name"]


async def test_a_rejected_request_writes_neither_invitations_nor_messages(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    programme = await collecting_programme(client, world)
    monkeypatch.setattr(get_settings(), "messages_daily_cap_per_programme", 1)
    refused = await _issue(client, world, programme)
    problem = assert_problem(refused, 429)
    assert "daily cap of 1" in problem["detail"]
    assert "Nothing was sent or changed" in problem["detail"]
    assert refused.headers["Retry-After"]
    assert await _messages() == []
    assert await _invitations() == []
    monkeypatch.setattr(get_settings(), "messages_daily_cap_per_programme", 2)
    assert (await _issue(client, world, programme)).status_code == 200
    assert len(await _messages()) == 2


async def test_one_cause_writes_one_message_per_recipient_and_channel(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await collecting_programme(client, world)
    household = await household_of("P-1")
    draft = outbox.Draft(
        kind=MessageKind.VISIT_REMINDER,
        school_id=UUID(programme["school_id"]),
        programme_id=UUID(programme["id"]),
        household_id=household,
        recipient=reach.Recipient(RecipientType.CONTACT, uuid4(), MessageChannel.SMS),
        cause_kind="visit_reminder",
        cause_id=uuid4(),
    )
    trust_id = world.trusts[0].trust.id
    async with db.open_session(system_scope("test: write twice")) as session:
        first = await outbox.write(session, trust_id, [draft, draft])
        again = await outbox.write(session, trust_id, [draft])
        other_channel = await outbox.write(
            session,
            trust_id,
            [
                outbox.Draft(
                    **{
                        **draft.__dict__,
                        "recipient": reach.Recipient(
                            RecipientType.CONTACT, draft.recipient.id, MessageChannel.EMAIL
                        ),
                    }
                )
            ],
        )
    assert (len(first), len(again), len(other_channel)) == (1, 0, 1)


def _london(hour: int, minute: int = 0) -> datetime:
    # 3 December: GMT, so London's wall clock is UTC's.
    return datetime(2026, 12, 3, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (_london(12), _london(12)),
        (_london(19, 59), _london(19, 59)),
        (_london(20), datetime(2026, 12, 4, 8, tzinfo=UTC)),
        (_london(23, 30), datetime(2026, 12, 4, 8, tzinfo=UTC)),
        (_london(3), _london(8)),
        (_london(8), _london(8)),
    ],
)
def test_family_messages_wait_out_quiet_hours(now: datetime, expected: datetime) -> None:
    assert outbox.send_after(MessageKind.VISIT_REMINDER, now) == expected


def test_quiet_hours_follow_british_summer_time() -> None:
    # 21:30 London in July is 20:30 UTC; quiet hours end at 08:00 London, 07:00 UTC.
    evening = datetime(2026, 7, 10, 20, 30, tzinfo=UTC)
    assert outbox.send_after(MessageKind.INVITATION, evening) == datetime(
        2026, 7, 11, 7, tzinfo=UTC
    )


def test_staff_messages_ignore_quiet_hours() -> None:
    late = _london(22)
    assert outbox.send_after(MessageKind.ITINERARY_PUBLISHED, late) == late


def _contact(**fields: Any) -> Contact:
    base: dict[str, Any] = {
        "household_id": uuid4(),
        "trust_id": uuid4(),
        "source_school_id": uuid4(),
        "name": "A Parent",
    }
    return Contact(**(base | fields))


def test_a_family_is_texted_only_with_consent_and_a_mobile() -> None:
    household = uuid4()
    no_consent = _contact(mobile="+447911123456", email="a@example.org")
    consent_no_mobile = _contact(sms_consent=True, landline="+441634000000")
    texted = _contact(mobile="+447911123457", sms_consent=True)
    assert reach.choose(household, [no_consent]).channel is MessageChannel.EMAIL
    assert reach.choose(household, [consent_no_mobile]).channel is MessageChannel.LETTER
    chosen = reach.choose(household, [no_consent, texted])
    assert (chosen.channel, chosen.id) == (MessageChannel.SMS, texted.id)
    nobody = reach.choose(household, [])
    assert (nobody.type, nobody.id, nobody.channel) == (
        RecipientType.HOUSEHOLD,
        household,
        MessageChannel.LETTER,
    )


def test_wording_falls_back_to_english_and_fills_every_placeholder() -> None:
    assert language_code("Polish") == "pl"
    assert language_code(" english ") == "en"
    assert language_code(None) == "en"
    assert language_code("Twi") == "twi"
    welsh = Wording(body="Croeso ((family_name))")
    trust = {(MessageKind.INVITATION, MessageChannel.SMS, "cy"): welsh}
    assert choose(MessageKind.INVITATION, MessageChannel.SMS, "cy", trust) == (welsh, "cy")
    default, used = choose(MessageKind.INVITATION, MessageChannel.SMS, "pl", trust)
    assert (default, used) == (DEFAULTS[MessageKind.INVITATION], "en")
    text = render(default, {"family_name": "Khan", "code": "ABCD"}).body
    assert "Khan" in text
    assert "ABCD" in text
    assert "((" not in text
