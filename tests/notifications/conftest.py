"""Fixtures for messages: a local fake of GOV.UK Notify, served on a free port for the test,
and a gateway that reaches it through Notify's official client."""

from collections.abc import Iterator

import pytest

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
