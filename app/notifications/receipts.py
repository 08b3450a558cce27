"""Notify's delivery receipts: each callback moves one message's status on, never back.

The caller is Notify, not a user: it proves itself with the bearer token configured in Notify's
callback settings (THRESHOLD_NOTIFY_CALLBACK_TOKEN), compared in constant time; without a token
configured every receipt is refused. The message is found by `reference` (our message id, which
the worker sends) or, failing that, by Notify's own id, whichever trust it belongs to.

A final status stays final: a `delivered` arriving after a `permanent-failure` (receipts can
cross) is recorded in the log and changes nothing, so the household stays on the office's
"could not reach" list until someone speaks to them. A receipt for a message we do not know
answers 2xx all the same, or Notify would retry it for ever. Nothing here logs the `to`.

Other areas act on a delivery through hooks (app/registry.py): an invitation's message
delivered marks the invitation delivered, without notifications importing parents.
"""

import hmac
import logging
import uuid
from collections.abc import Awaitable, Callable
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select, update

from app.core.errors import Unauthorized
from app.core.settings import get_settings
from app.core.tenancy import scoped, system_scope
from app.core.types import utcnow
from app.notifications.models import FINAL_STATUSES, Message, MessageStatus
from app.notifications.schemas import DeliveryReceipt

log = logging.getLogger("threshold.messages")

# Notify's words for a notification's state, as ours.
NOTIFY_STATUSES: dict[str, MessageStatus] = {
    "sent": MessageStatus.SENT,  # an international text: sent, no receipt will follow
    "delivered": MessageStatus.DELIVERED,
    "permanent-failure": MessageStatus.PERMANENT_FAILURE,
    "temporary-failure": MessageStatus.TEMPORARY_FAILURE,
    "technical-failure": MessageStatus.TECHNICAL_FAILURE,
}
# How far along each status is: a receipt only moves a message to a later one.
_RANK: dict[MessageStatus, int] = {
    MessageStatus.CREATED: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.TEMPORARY_FAILURE: 3,
    **dict.fromkeys(FINAL_STATUSES, 4),
}
# Why, in words the office reads on its lists. Never the number or address itself.
REASONS: dict[MessageStatus, str] = {
    MessageStatus.SENT: "Sent abroad: no delivery receipt will follow.",
    MessageStatus.DELIVERED: "Delivered.",
    MessageStatus.PERMANENT_FAILURE: "Could not be delivered: the phone number or email address "
    "is not in use or refused it. Check it with the family.",
    MessageStatus.TEMPORARY_FAILURE: "Could not be delivered for now (the phone was off or the "
    "inbox full) and Notify stopped trying. Phone the family.",
    MessageStatus.TECHNICAL_FAILURE: "Notify had a technical problem and did not deliver it.",
}

# Called, in the receipt's transaction, for each message newly delivered.
DeliveryHook = Callable[[AsyncSession, Message], Awaitable[None]]
_HOOKS: list[DeliveryHook] = []


def register_delivery_hook(hook: DeliveryHook) -> None:
    if hook not in _HOOKS:
        _HOOKS.append(hook)


def delivery_hooks() -> list[DeliveryHook]:
    return list(_HOOKS)


def authenticate(authorization: str | None) -> None:
    """401, writing nothing, unless the request carries the configured callback token."""
    expected = get_settings().notify_callback_token
    if not expected:
        raise Unauthorized(
            "Delivery receipts are not accepted: no callback token is configured "
            "(THRESHOLD_NOTIFY_CALLBACK_TOKEN)."
        )
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise Unauthorized("The callback's bearer token is missing or wrong.")


async def apply(session: AsyncSession, receipt: DeliveryReceipt) -> MessageStatus | None:
    """Record a receipt; the message's status after it (None for a message we do not know)."""
    status = NOTIFY_STATUSES.get(receipt.status)
    with scoped(session, system_scope("a delivery receipt: the caller is Notify, not a user")):
        message = await _find(session, receipt)
        if message is None:
            log.warning(
                "a delivery receipt for no message we know",
                extra={"reference": receipt.reference, "notify_id": receipt.id},
            )
            return None
        if status is None:
            log.warning(
                "a delivery receipt with a status we do not know",
                extra={"message_id": str(message.id), "notify_status": receipt.status},
            )
            return message.status
        if not await _move(session, message, status, receipt):
            _log_unmoved(message, status)
            return message.status
        log.info(
            "delivery receipt recorded",
            extra={"message_id": str(message.id), "status": status.value},
        )
        if status is MessageStatus.DELIVERED:
            for hook in _HOOKS:
                await hook(session, message)
        return status


async def _find(session: AsyncSession, receipt: DeliveryReceipt) -> Message | None:
    by_reference = _uuid(receipt.reference)
    if by_reference is not None:
        # tenancy: Notify's receipt names its message, whichever trust it belongs to
        found = await session.get(Message, by_reference)
        if found is not None:
            return found
    rows = await session.scalars(
        # tenancy: Notify's receipt names its message, whichever trust it belongs to
        select(Message).where(col(Message.notify_id) == receipt.id).limit(1)
    )
    return rows.first()


def _uuid(text: str | None) -> UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


async def _move(
    session: AsyncSession, message: Message, status: MessageStatus, receipt: DeliveryReceipt
) -> bool:
    """One conditional UPDATE: it applies only while the message is at an earlier status, so
    two receipts racing (or a worker marking it sent) never move it backwards."""
    earlier = [s for s, rank in _RANK.items() if rank < _RANK[status]]
    now = utcnow()
    at = receipt.completed_at or now
    values: dict[str, object] = {
        "status": status,
        "status_reason": REASONS[status],
        "notify_id": message.notify_id or receipt.id,
        "sent_at": message.sent_at or receipt.sent_at or receipt.created_at or at,
        "updated_at": now,
    }
    if status is MessageStatus.DELIVERED:
        values["delivered_at"] = at
    elif status is not MessageStatus.SENT:
        values["failed_at"] = at
    result = await session.execute(
        update(Message)  # tenancy: the message found above, by its id
        .where(col(Message.id) == message.id, col(Message.status).in_(earlier))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await session.refresh(message)
    return True


def _log_unmoved(message: Message, status: MessageStatus) -> None:
    # A repeat of the same receipt is routine; a contradiction (delivered after a permanent
    # failure) is worth a look, and is kept as it was: see the module's description.
    level = logging.INFO if message.status is status else logging.WARNING
    log.log(
        level,
        "delivery receipt left the message as it was",
        extra={
            "message_id": str(message.id),
            "status": message.status.value,
            "receipt_status": status.value,
        },
    )
