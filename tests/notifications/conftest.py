"""Fixtures for messages: a local fake of GOV.UK Notify, served on a free port for the test,
and a gateway that reaches it through Notify's official client."""

from collections.abc import Iterator
from datetime import time
from uuid import uuid4

import pytest

from app.core.settings import get_settings
from app.notifications.fake_notify import RunningFake, running_fake_notify
from app.notifications.notify import NotifyGateway

# Short, so the slow-answer fault (which answers after longer) fails the call within a test.
CLIENT_TIMEOUT_SECONDS = 0.5


@pytest.fixture
def notify_fake() -> Iterator[RunningFake]:
    with running_fake_notify() as running:
        yield running


@pytest.fixture
def gateway(notify_fake: RunningFake) -> NotifyGateway:
    return NotifyGateway(notify_fake.api_key, notify_fake.base_url, CLIENT_TIMEOUT_SECONDS)


@pytest.fixture
def sending_through_fake(notify_fake: RunningFake, monkeypatch: pytest.MonkeyPatch) -> RunningFake:
    """Messages delivered through Notify (the fake), with the client's short timeout."""
    settings = get_settings()
    for name, value in {
        "messages_delivery": "notify",
        "notify_api_key": notify_fake.api_key,
        "notify_base_url": notify_fake.base_url,
        "notify_timeout_seconds": CLIENT_TIMEOUT_SECONDS,
        "notify_sms_template_id": str(uuid4()),
        "notify_email_template_id": str(uuid4()),
        # No quiet hours: what is written is due at once, whatever the time the tests run.
        "messages_quiet_hours_start": time(0),
        "messages_quiet_hours_end": time(0),
    }.items():
        monkeypatch.setattr(settings, name, value)
    return notify_fake
