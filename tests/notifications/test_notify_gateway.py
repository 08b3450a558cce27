"""The Notify adapter through the official client against the local fake of Notify's API: what
each answer means for the message (sent, failed for good, retry, and whether it may have been
stored), and that the fake checks the JWT as Notify does."""

import asyncio
import time
from uuid import uuid4

import jwt
import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.notifications.fake_notify import (
    RunningFake,
    new_api_key,
    parse_api_key,
    serving_in_thread,
)
from app.notifications.notify import Accepted, NotifyGateway, Permanent, Retry
from tests.notifications.conftest import CLIENT_TIMEOUT_SECONDS

MOBILE = "07700 900123"
TEMPLATE = str(uuid4())
EMAIL_TEMPLATE = str(uuid4())


async def _text(gateway: NotifyGateway, reference: str, to: str = MOBILE) -> object:
    return await gateway.send("sms", to, TEMPLATE, {"body": "Your visit is on Monday"}, reference)


async def test_a_text_is_accepted_and_stored_with_its_reference(
    gateway: NotifyGateway, notify_fake: RunningFake
) -> None:
    reference = str(uuid4())
    outcome = await _text(gateway, reference)
    assert isinstance(outcome, Accepted)
    [stored] = notify_fake.fake.by_reference(reference)
    assert stored.id == outcome.notify_id
    assert (stored.type, stored.to, stored.body) == ("sms", MOBILE, "Your visit is on Monday")
    assert await gateway.find_by_reference(reference) == outcome.notify_id
    assert await gateway.find_by_reference(str(uuid4())) is None


async def test_an_email_carries_its_subject(
    gateway: NotifyGateway, notify_fake: RunningFake
) -> None:
    reference = str(uuid4())
    personalisation = {"subject": "Your home visit", "body": "Monday at 10:00"}
    outcome = await gateway.send(
        "email", "parent@example.org", EMAIL_TEMPLATE, personalisation, reference
    )
    assert isinstance(outcome, Accepted)
    [stored] = notify_fake.fake.by_reference(reference)
    assert (stored.type, stored.subject, stored.body) == ("email", *personalisation.values())


async def test_the_wrong_key_is_refused(notify_fake: RunningFake) -> None:
    service_id, _ = parse_api_key(notify_fake.api_key)
    wrong_secret = f"threshold_test-{service_id}-{uuid4()}"
    wrong_service = new_api_key()
    for key in (wrong_secret, wrong_service):
        outcome = await NotifyGateway(key, notify_fake.base_url, 5).send(
            "sms", MOBILE, TEMPLATE, {"body": "x"}, str(uuid4())
        )
        assert outcome == Permanent("Notify 403 AuthError")
    assert notify_fake.fake.notifications == []


def _post_with_token(running: RunningFake, claims: dict[str, object], secret: str) -> HTTPError:
    client = NotificationsAPIClient(running.api_key, base_url=running.base_url, timeout=5)
    token = jwt.encode(claims, secret, algorithm="HS256")
    client.generate_headers = lambda _token: {  # type: ignore[method-assign]
        "Content-type": "application/json",
        "Authorization": f"Bearer {token}",
    }
    with pytest.raises(HTTPError) as refused:
        client.send_sms_notification(MOBILE, TEMPLATE, {"body": "x"})
    return refused.value


def test_the_fake_checks_the_jwt_as_notify_does(notify_fake: RunningFake) -> None:
    service_id, secret = parse_api_key(notify_fake.api_key)
    now = int(time.time())
    refusals: dict[str, tuple[dict[str, object], str]] = {
        "signed with another secret": ({"iss": service_id, "iat": now}, str(uuid4())),
        "another service": ({"iss": str(uuid4()), "iat": now}, secret),
        "issued 31 s ago": ({"iss": service_id, "iat": now - 31}, secret),
        "issued 31 s ahead": ({"iss": service_id, "iat": now + 31}, secret),
        "no iat": ({"iss": service_id}, secret),
        "no iss": ({"iat": now}, secret),
    }
    for case, (claims, key) in refusals.items():
        error = _post_with_token(notify_fake, claims, key)
        assert error.status_code == 403, case
        details = error.message
        assert isinstance(details, list), case
        [detail] = details
        assert detail["error"] == "AuthError", case
    clock = _post_with_token(notify_fake, {"iss": service_id, "iat": now - 31}, secret)
    assert "clock must be accurate to within 30 seconds" in str(clock.message)
    assert notify_fake.fake.notifications == []
    # A token 20 seconds old is still good, as at Notify.
    client = NotificationsAPIClient(notify_fake.api_key, base_url=notify_fake.base_url)
    token = jwt.encode({"iss": service_id, "iat": now - 20}, secret, algorithm="HS256")
    client.generate_headers = lambda _token: {  # type: ignore[method-assign]
        "Content-type": "application/json",
        "Authorization": f"Bearer {token}",
    }
    assert client.send_sms_notification(MOBILE, TEMPLATE, {"body": "x"})["id"]


async def test_a_bad_number_is_a_permanent_failure_and_nothing_is_stored(
    gateway: NotifyGateway, notify_fake: RunningFake
) -> None:
    outcome = await _text(gateway, str(uuid4()), to="07700 9001")
    assert outcome == Permanent("Notify 400 ValidationError (phone_number)")
    notify_fake.fake.inject("400")
    outcome = await _text(gateway, str(uuid4()))
    assert outcome == Permanent("Notify 400 ValidationError (phone_number)")
    assert notify_fake.fake.notifications == []


async def test_a_missing_placeholder_or_unknown_template_is_permanent(
    gateway: NotifyGateway, notify_fake: RunningFake
) -> None:
    outcome = await gateway.send("sms", MOBILE, TEMPLATE, {}, str(uuid4()))
    assert outcome == Permanent("Notify 400 BadRequestError")
    outcome = await gateway.send("sms", MOBILE, "not-a-template", {"body": "x"}, str(uuid4()))
    assert outcome == Permanent("Notify 400 ValidationError (template_id)")
    assert notify_fake.fake.notifications == []


async def test_rate_limited_is_retried_and_was_not_stored(
    gateway: NotifyGateway, notify_fake: RunningFake
) -> None:
    notify_fake.fake.inject("429")
    outcome = await _text(gateway, str(uuid4()))
    assert isinstance(outcome, Retry)
    assert (outcome.reason, outcome.ambiguous) == ("Notify 429 RateLimitError", False)
    assert outcome.after_seconds >= 60
    assert notify_fake.fake.notifications == []


async def test_a_server_error_is_retried_as_ambiguous(
    gateway: NotifyGateway, notify_fake: RunningFake
) -> None:
    notify_fake.fake.inject("500", "500-after-store")
    first, second = str(uuid4()), str(uuid4())
    for reference in (first, second):
        outcome = await _text(gateway, reference)
        assert outcome == Retry("Notify 500 Exception", 30.0, ambiguous=True)
    # Both looked the same to the sender; only the look-up tells them apart.
    assert await gateway.find_by_reference(first) is None
    assert await gateway.find_by_reference(second) is not None


async def test_a_slow_answer_is_ambiguous_and_the_reference_finds_it(
    gateway: NotifyGateway, notify_fake: RunningFake
) -> None:
    notify_fake.fake.inject(f"slow:{CLIENT_TIMEOUT_SECONDS * 4}")
    reference = str(uuid4())
    started = time.monotonic()
    outcome = await _text(gateway, reference)
    assert time.monotonic() - started < CLIENT_TIMEOUT_SECONDS * 3
    assert isinstance(outcome, Retry)
    assert outcome.ambiguous
    assert outcome.reason == "Notify did not answer (ReadTimeout)"
    [stored] = notify_fake.fake.by_reference(reference)
    assert await gateway.find_by_reference(reference) == stored.id


async def test_nothing_unreachable_is_taken_for_a_refusal() -> None:
    gateway = NotifyGateway(new_api_key(), "http://127.0.0.1:9", 1)
    outcome = await _text(gateway, str(uuid4()))
    assert isinstance(outcome, Retry)
    assert outcome.reason.startswith("Notify did not answer")


async def test_reasons_never_hold_the_recipient_or_the_body(
    gateway: NotifyGateway, notify_fake: RunningFake
) -> None:
    notify_fake.fake.configure({"refused_recipients": ["07700900999"]})
    outcomes = [
        await _text(gateway, str(uuid4()), to="07700900999"),
        await _text(gateway, str(uuid4()), to="+44 7700 9009 999"),
        await _text(gateway, str(uuid4()), to="07700-900-abc"),
        await gateway.send("email", "not-an-email", TEMPLATE, {"body": "x"}, str(uuid4())),
    ]
    notify_fake.fake.inject("500")
    outcomes.append(await _text(gateway, str(uuid4())))
    assert [type(outcome) for outcome in outcomes] == [Permanent] * 4 + [Retry]
    for outcome in outcomes:
        assert isinstance(outcome, Permanent | Retry)
        for secret in ("07700", "7700", "900", "abc", "not-an", "Monday"):
            assert secret not in outcome.reason


async def test_the_fake_posts_notifys_delivery_receipts(
    gateway: NotifyGateway, notify_fake: RunningFake
) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def receive(request: Request) -> Response:
        received.append((request.headers.get("authorization"), await request.json()))
        return Response(status_code=204)

    receiver = Starlette(routes=[Route("/receipts", receive, methods=["POST"])])
    with serving_in_thread(receiver) as base_url:
        notify_fake.fake.configure(
            {"callback_url": f"{base_url}/receipts", "callback_token": "receipt-token"}
        )
        delivered, failed = str(uuid4()), str(uuid4())
        assert isinstance(await _text(gateway, delivered), Accepted)
        assert isinstance(await _text(gateway, failed, to="07700900002"), Accepted)
        for _ in range(100):
            if len(received) == 2:
                break
            await asyncio.sleep(0.02)
    statuses = {receipt["reference"]: receipt["status"] for _, receipt in received}
    assert statuses == {delivered: "delivered", failed: "permanent-failure"}
    assert {token for token, _ in received} == {"Bearer receipt-token"}
    receipt = received[0][1]
    assert set(receipt) == {
        "id", "reference", "to", "status", "created_at", "completed_at", "sent_at",
        "notification_type", "template_id", "template_version",
    }  # fmt: skip
    assert notify_fake.fake.stats()["callbacks_sent"] == 2
