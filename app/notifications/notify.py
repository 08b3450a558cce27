"""GOV.UK Notify, through its official client: send one text or email, or ask whether Notify
already holds a notification with a given reference.

Notify has no idempotency key. What it offers instead is the `reference` we give each
notification (the message id) and a search by it. So every failure is sorted by what it says
about Notify's side:

- `Accepted`: Notify stored it; its id is kept.
- `Permanent`: Notify refused it (400 bad number or template, 403 key): sending again cannot help.
- `Retry`: Notify was too busy (429: refused before storing, so not `ambiguous`), or the answer
  never came or was a 5xx (`ambiguous`: it may have been stored, so look the reference up
  before sending again).

Reasons name the status and Notify's error class only. Notify's messages can quote what was
sent, and nothing of a phone number, an email address or a body may reach a log or a row.

The client is synchronous (requests) and not thread-safe: each thread gets its own, and async
callers reach it on the gateway's own threads.
"""

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import requests
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

Channel = Literal["sms", "email"]
T = TypeVar("T")

# The client logs every failed call at WARNING with Notify's error message, which can quote the
# request: kept to its errors, our own records say what failed (status and class only).
logging.getLogger("notifications_python_client").setLevel(logging.ERROR)

# Notify's rate limit is per minute; waiting less than this would meet it again.
RATE_LIMITED_RETRY_SECONDS = 60.0
UNAVAILABLE_RETRY_SECONDS = 30.0
# Fields of Notify's validation messages that name what was wrong without quoting it.
_FIELDS = ("phone_number", "email_address", "template_id", "personalisation", "reference")


@dataclass(frozen=True)
class Accepted:
    notify_id: str


@dataclass(frozen=True)
class Permanent:
    reason: str


@dataclass(frozen=True)
class Retry:
    reason: str
    after_seconds: float
    # The request may have reached Notify and been stored: look the reference up first.
    ambiguous: bool


Outcome = Accepted | Permanent | Retry


class NotifyUnavailable(Exception):
    """A reference look-up got no answer: whether Notify holds the notification is unknown, so
    the message must neither be sent again nor given up on yet."""


class NotifyGateway:
    """One Notify API key's sending and look-ups."""

    def __init__(
        self, api_key: str, base_url: str, timeout_seconds: float, *, threads: int = 8
    ) -> None:
        # Parsed now, so a malformed key fails at start-up rather than at the first send.
        NotificationsAPIClient(api_key, base_url=base_url, timeout=timeout_seconds)
        self._api_key = api_key
        self._base_url = base_url
        self._timeout = timeout_seconds
        self._local = threading.local()
        # Calls wait on the network, not the CPU: a batch's sends go out side by side, on
        # threads of their own rather than the default pool's few (sized for the cores).
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="notify")

    async def _call(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, call, *args)

    def _client(self) -> NotificationsAPIClient:
        client: NotificationsAPIClient | None = getattr(self._local, "client", None)
        if client is None:
            client = NotificationsAPIClient(
                self._api_key, base_url=self._base_url, timeout=self._timeout
            )
            self._local.client = client
        return client

    async def send(
        self,
        channel: Channel,
        to: str,
        template_id: str,
        personalisation: dict[str, str],
        reference: str,
    ) -> Outcome:
        """Send one text or email with `reference` (the message id); never raises for what
        Notify or the network does."""
        return await self._call(
            self.send_blocking, channel, to, template_id, personalisation, reference
        )

    def send_blocking(
        self,
        channel: Channel,
        to: str,
        template_id: str,
        personalisation: dict[str, str],
        reference: str,
    ) -> Outcome:
        client = self._client()
        try:
            if channel == "sms":
                answer = client.send_sms_notification(
                    to, template_id, personalisation=personalisation, reference=reference
                )
            else:
                answer = client.send_email_notification(
                    to, template_id, personalisation=personalisation, reference=reference
                )
        except APIError as error:
            return classify(error)
        notify_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(notify_id, str):
            # A 2xx without an id: stored, most likely, but unproven.
            return Retry("Notify answered without an id", UNAVAILABLE_RETRY_SECONDS, True)
        return Accepted(notify_id)

    async def find_by_reference(self, reference: str) -> str | None:
        """Notify's id for the notification sent with `reference`, or None when Notify holds
        none. Raises NotifyUnavailable when Notify cannot say."""
        return await self._call(self.find_by_reference_blocking, reference)

    def find_by_reference_blocking(self, reference: str) -> str | None:
        try:
            answer = self._client().get_all_notifications(reference=reference)
        except APIError as error:
            raise NotifyUnavailable(_describe(error)) from None
        found = answer.get("notifications") if isinstance(answer, dict) else None
        if not isinstance(found, list):
            raise NotifyUnavailable("Notify's answer held no list of notifications")
        for notification in found:
            if isinstance(notification, dict) and notification.get("reference") == reference:
                return str(notification["id"])
        return None


def classify(error: APIError) -> Outcome:
    """What a failed send means: see the module's docstring."""
    reason = _describe(error)
    if error.response is None:
        # No answer. A connection that was never made sent nothing; anything later may have.
        never_sent = isinstance(error.__cause__, requests.ConnectTimeout)
        return Retry(reason, UNAVAILABLE_RETRY_SECONDS, ambiguous=not never_sent)
    status = error.status_code
    if status == 429:
        return Retry(reason, RATE_LIMITED_RETRY_SECONDS, ambiguous=False)
    if 400 <= status < 500:
        return Permanent(reason)
    return Retry(reason, UNAVAILABLE_RETRY_SECONDS, ambiguous=True)


def _describe(error: APIError) -> str:
    """Status and Notify's error class (and which field, for validation errors): never its
    message, which may quote the recipient or the body."""
    if error.response is None:
        cause = error.__cause__
        kind = type(cause).__name__ if cause is not None else "no answer"
        return f"Notify did not answer ({kind})"
    status = error.status_code
    first = _first_error(error.response)
    kind = str(first.get("error", "")) if first else ""
    message = str(first.get("message", "")) if first else ""
    field = next((name for name in _FIELDS if message.startswith(name + " ")), None)
    described = f"Notify {status}" + (f" {kind}" if kind.isidentifier() else "")
    return described + (f" ({field})" if field else "")


def _first_error(response: Any) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    return None
