"""The DSLs' alert by text: a DSL with a work mobile on record is texted as well as emailed, in
the transaction that raises the concern, at any hour, and the text names no one and nothing."""

from datetime import datetime, time

import httpx
import pytest
from sqlmodel import select

from app.core import db
from app.core.permissions import Role
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.notifications import outbox
from app.notifications.models import MessageChannel, MessageKind
from app.roster.models import Pupil
from app.synthetic.generator import World
from tests.conftest import all_rows, bearer
from tests.safeguarding.helpers import ACCOUNT, a_roster, alerts_written, concern_body, raise_one
from tests.safeguarding.test_alerts import render_one
from tests.staff.test_work_mobile import E164, MOBILE, set_own_mobile


async def test_a_dsl_with_a_mobile_is_texted_and_emailed_with_the_concern(
    client: httpx.AsyncClient, world: World
) -> None:
    dsl = world.login(Role.DSL)
    assert (await set_own_mobile(client, dsl, MOBILE)).status_code == 200
    receipt = await raise_one(client, world, "immediate_danger")
    alerts = await alerts_written()
    to_dsl = {m.channel for m in alerts if m.recipient_id == dsl.staff_id}
    assert to_dsl == {MessageChannel.SMS, MessageChannel.EMAIL}
    # The others, with no mobile on record, are emailed only.
    others = [m for m in alerts if m.recipient_id != dsl.staff_id]
    assert all(m.channel is MessageChannel.EMAIL for m in others)
    (text,) = [m for m in alerts if m.channel is MessageChannel.SMS]
    raised_at = datetime.fromisoformat(receipt["raised_at"])
    assert text.created_at == raised_at  # written by the raising transaction itself
    assert text.send_after == raised_at
    assert set(text.values) == {"school_name", "school_phone", "urgency", "staff_name"}
    assert E164 not in str(text.values)  # the address is read at sending, never stored here

    words = await render_one(text)
    assert "immediate danger" in words
    assert world.trusts[0].schools[0].name in words
    for secret in (ACCOUNT, "physical", "Bruising", "kitchen", receipt["id"], "http"):
        assert secret not in words
    async with db.open_session(system_scope("test: the pupils' names")) as session:
        rows = (await session.execute(select(Pupil.legal_first_name, Pupil.legal_last_name))).all()
    assert rows
    assert not any(name in words for row in rows for name in row)


async def test_the_text_ignores_quiet_hours(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()
    # Quiet hours all day long: a family's message written now would wait.
    monkeypatch.setattr(settings, "messages_quiet_hours_start", time(0))
    monkeypatch.setattr(settings, "messages_quiet_hours_end", time(23, 59, 59, 999999))
    dsl = world.login(Role.DSL)
    assert (await set_own_mobile(client, dsl, MOBILE)).status_code == 200
    receipt = await raise_one(client, world, "urgent")
    raised_at = datetime.fromisoformat(receipt["raised_at"])
    assert outbox.send_after(MessageKind.INVITATION, raised_at) > raised_at
    (text,) = [m for m in await alerts_written() if m.channel is MessageChannel.SMS]
    assert text.send_after == raised_at


async def test_a_refused_concern_texts_nobody(client: httpx.AsyncClient, world: World) -> None:
    dsl = world.login(Role.DSL)
    assert (await set_own_mobile(client, dsl, MOBILE)).status_code == 200
    pupil_id = await a_roster(world)
    body = concern_body(pupil_id) | {"visit_id": "00000000-0000-4000-8000-000000000000"}
    teacher = await bearer(world.login(Role.TEACHER))
    before = await all_rows()
    refused = await client.post(
        f"/api/v1/schools/{world.trusts[0].schools[0].id}/concerns", json=body, headers=teacher
    )
    assert refused.status_code == 422, refused.text
    assert await all_rows() == before
    assert await alerts_written() == []


async def test_the_worker_texts_the_mobile_on_record_when_it_sends(
    client: httpx.AsyncClient, world: World
) -> None:
    from app.notifications.models import LoggedMessage
    from app.notifications.worker import send_pending

    dsl = world.login(Role.DSL)
    assert (await set_own_mobile(client, dsl, MOBILE)).status_code == 200
    await raise_one(client, world, "urgent")
    assert await send_pending() >= 2
    (text,) = [m for m in await alerts_written() if m.channel is MessageChannel.SMS]
    async with db.open_session(system_scope("test: what was sent")) as session:
        sent = await session.scalar(
            select(LoggedMessage).where(LoggedMessage.message_id == text.id)
        )
    assert sent is not None
    assert sent.to == E164
    assert sent.subject is None
    assert ACCOUNT not in sent.body
