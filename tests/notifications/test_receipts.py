"""Notify's delivery receipts: only with the configured token, a status only moves on, and an
invitation delivered is marked so on the invitation and the chase list."""

import logging
from datetime import UTC, datetime

import httpx
import pytest

from app.core.permissions import Role
from app.core.settings import get_settings
from app.notifications.models import MessageStatus
from app.synthetic.generator import World
from tests.conftest import all_rows, assert_problem, bearer
from tests.notifications.helpers import (
    RECEIPTS,
    TOKEN,
    invitation,
    issued,
    mark_sent,
    message,
    notify_headers,
    receipt,
)


@pytest.fixture(autouse=True)
def callback_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "notify_callback_token", TOKEN)


async def test_a_receipt_without_the_right_token_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = await issued(client, world)
    await mark_sent(state.sms.id, "n-1")
    body = receipt(await message(state.sms.id), "delivered")
    before = await all_rows()
    for headers in (
        notify_headers("wrong-token-of-the-same-shape-xx"),
        notify_headers(TOKEN + "x"),
        {"Authorization": TOKEN},  # no scheme
        {},
    ):
        refused = await client.post(RECEIPTS, json=body, headers=headers)
        assert_problem(refused, 401)
    # A token the caller cannot know is refused before its body is read.
    malformed = await client.post(RECEIPTS, json={"nothing": 1}, headers=notify_headers("x"))
    assert_problem(malformed, 401)
    # With no token configured every receipt is refused, whatever it carries.
    monkeypatch.setattr(get_settings(), "notify_callback_token", None)
    unconfigured = await client.post(RECEIPTS, json=body, headers=notify_headers())
    assert "no callback token is configured" in assert_problem(unconfigured, 401)["detail"]
    assert await all_rows() == before


async def test_delivered_marks_the_message_and_the_invitation(
    client: httpx.AsyncClient, world: World
) -> None:
    state = await issued(client, world)
    await mark_sent(state.sms.id, "n-1")
    answer = await client.post(
        RECEIPTS, json=receipt(await message(state.sms.id), "delivered"), headers=notify_headers()
    )
    assert answer.status_code == 204, answer.text
    delivered = await message(state.sms.id)
    assert delivered.status is MessageStatus.DELIVERED
    assert delivered.delivered_at == datetime(2026, 7, 1, 10, 0, 5, tzinfo=UTC)
    assert delivered.status_reason == "Delivered."
    invited = await invitation(state.sms.cause_id)
    assert invited.delivered_at == delivered.delivered_at
    # The letter's invitation is untouched.
    assert (await invitation(state.letter.cause_id)).delivered_at is None
    office = await bearer(world.login(Role.OFFICE))
    code = await client.get(
        f"/api/v1/programmes/{state.programme_id}/households/{state.khans}/invitation",
        headers=office,
    )
    assert code.status_code == 200, code.text
    assert code.json()["delivered_at"] is not None
    assert code.json()["delivery"]["summary"] == "sms delivered"
    # A repeat of the receipt changes nothing.
    again = await client.post(
        RECEIPTS, json=receipt(delivered, "delivered"), headers=notify_headers()
    )
    assert again.status_code == 204
    assert (await message(state.sms.id)).updated_at == delivered.updated_at


async def test_a_receipt_found_by_notify_id_when_it_carries_no_reference(
    client: httpx.AsyncClient, world: World
) -> None:
    state = await issued(client, world)
    await mark_sent(state.sms.id, "b6a8f2a4-5a8b-4d0b-9a3c-8d1f0f2a1b2c")
    body = receipt(await message(state.sms.id), "temporary-failure", reference=None)
    answer = await client.post(RECEIPTS, json=body, headers=notify_headers())
    assert answer.status_code == 204, answer.text
    failed = await message(state.sms.id)
    assert failed.status is MessageStatus.TEMPORARY_FAILURE
    assert failed.failed_at is not None
    # A temporary failure is not final: a later delivery moves it on.
    late = await client.post(
        RECEIPTS, json=receipt(failed, "delivered", reference=None), headers=notify_headers()
    )
    assert late.status_code == 204
    assert (await message(state.sms.id)).status is MessageStatus.DELIVERED


async def test_a_final_status_stays_final(client: httpx.AsyncClient, world: World) -> None:
    """Decided: a `delivered` after a `permanent-failure` (receipts crossing, or a provider
    contradicting itself) changes nothing. The family stays on the list to phone: better one
    call too many than a family who never got their code."""
    state = await issued(client, world)
    await mark_sent(state.sms.id, "n-1")
    sent = await message(state.sms.id)
    failed = await client.post(
        RECEIPTS, json=receipt(sent, "permanent-failure"), headers=notify_headers()
    )
    assert failed.status_code == 204
    late = await client.post(RECEIPTS, json=receipt(sent, "delivered"), headers=notify_headers())
    assert late.status_code == 204
    kept = await message(state.sms.id)
    assert kept.status is MessageStatus.PERMANENT_FAILURE
    assert kept.delivered_at is None
    assert (await invitation(state.sms.cause_id)).delivered_at is None


async def test_a_receipt_for_an_unknown_message_is_answered_and_logged_without_the_number(
    client: httpx.AsyncClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    state = await issued(client, world)
    before = await all_rows()
    body = receipt(state.sms, "delivered", reference="not-ours", id="n-unknown")
    with caplog.at_level(logging.INFO, logger="threshold.messages"):
        answer = await client.post(RECEIPTS, json=body, headers=notify_headers())
        known = receipt(state.sms, "delivered", id="n-2")
        assert (
            await client.post(RECEIPTS, json=known, headers=notify_headers())
        ).status_code == 204
    assert answer.status_code == 204, answer.text
    assert "no message we know" in caplog.text
    for record in caplog.records:
        assert "07911123456" not in str(record.__dict__)
    # The unknown receipt wrote nothing; the known one moved its message on.
    assert (await message(state.sms.id)).status is MessageStatus.DELIVERED
    after = await all_rows()
    assert set(after) == set(before)
    assert after["parent_invitation"] != before["parent_invitation"]
