"""Reads of a programme's messages for the office, and the letters it posts. Every statement
runs through the trust floor and names the programme, which the caller was permitted to."""

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select, update

from app.notifications.models import (
    Message,
    MessageChannel,
    MessageKind,
    MessageStatus,
    MessageTemplate,
    RecipientType,
)
from app.notifications.wording import Wording
from app.roster.models import Contact, Household
from app.staff.models import StaffMember


def messages_of(
    programme_id: UUID,
    *,
    kind: MessageKind | None = None,
    status: MessageStatus | None = None,
    channel: MessageChannel | None = None,
    household_id: UUID | None = None,
) -> Any:
    statement = select(Message).where(col(Message.programme_id) == programme_id)
    for column, value in (
        (Message.kind, kind),
        (Message.status, status),
        (Message.channel, channel),
        (Message.household_id, household_id),
    ):
        if value is not None:
            statement = statement.where(col(column) == value)
    return statement


async def family_messages(session: AsyncSession, programme_id: UUID) -> Sequence[Message]:
    """Every message of the programme to a family, each household's newest first."""
    rows = await session.scalars(
        select(Message)
        .where(
            col(Message.programme_id) == programme_id,
            col(Message.household_id).is_not(None),
            col(Message.recipient_type) != RecipientType.STAFF,
        )
        .order_by(col(Message.household_id), col(Message.created_at).desc(), col(Message.id))
    )
    return rows.all()


async def messages_for_causes(
    session: AsyncSession, programme_id: UUID, cause_kind: str, cause_ids: Collection[UUID]
) -> Sequence[Message]:
    """The messages these causes wrote, oldest first (so the newest wins in a dict)."""
    if not cause_ids:
        return []
    rows = await session.scalars(
        select(Message)
        .where(
            col(Message.programme_id) == programme_id,
            col(Message.cause_kind) == cause_kind,
            col(Message.cause_id).in_(list(cause_ids)),
        )
        .order_by(col(Message.created_at), col(Message.id))
    )
    return rows.all()


async def letters_to_post(session: AsyncSession, programme_id: UUID) -> Sequence[Message]:
    rows = await session.scalars(
        select(Message)
        .where(
            col(Message.programme_id) == programme_id,
            col(Message.kind) == MessageKind.INVITATION,
            col(Message.channel) == MessageChannel.LETTER,
            col(Message.status) == MessageStatus.CREATED,
        )
        .order_by(col(Message.created_at), col(Message.id))
    )
    return rows.all()


async def mark_posted(
    session: AsyncSession, programme_id: UUID, message_ids: Collection[UUID], now: datetime
) -> list[UUID]:
    """The letters among `message_ids` still to post, marked sent; their ids."""
    if not message_ids:
        return []
    result = await session.execute(
        update(Message)
        .where(
            col(Message.programme_id) == programme_id,
            col(Message.id).in_(list(message_ids)),
            col(Message.channel) == MessageChannel.LETTER,
            col(Message.status) == MessageStatus.CREATED,
        )
        .values(
            status=MessageStatus.SENT,
            sent_at=now,
            updated_at=now,
            status_reason="Posted by the office.",
        )
        .returning(col(Message.id))
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())


async def contacts_by_id(session: AsyncSession, ids: Collection[UUID]) -> dict[UUID, Contact]:
    if not ids:
        return {}
    rows = await session.scalars(select(Contact).where(col(Contact.id).in_(list(ids))))
    return {c.id: c for c in rows}


async def contacts_of(session: AsyncSession, households: Collection[UUID]) -> Sequence[Contact]:
    if not households:
        return []
    rows = await session.scalars(
        select(Contact)
        .where(col(Contact.household_id).in_(list(households)))
        .order_by(col(Contact.household_id), col(Contact.priority), col(Contact.id))
    )
    return rows.all()


async def staff_names(session: AsyncSession, ids: Collection[UUID]) -> dict[UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(
        select(StaffMember.id, StaffMember.full_name).where(col(StaffMember.id).in_(list(ids)))
    )
    return dict(rows.all())


async def households(session: AsyncSession, ids: Collection[UUID]) -> dict[UUID, Household]:
    if not ids:
        return {}
    rows = await session.scalars(select(Household).where(col(Household.id).in_(list(ids))))
    return {h.id: h for h in rows}


async def trust_wordings(
    session: AsyncSession, kind: MessageKind, channel: MessageChannel
) -> dict[tuple[MessageKind, MessageChannel, str], Wording]:
    """The trust's own wordings of one kind on one channel, by language (wording.choose)."""
    rows = await session.scalars(
        select(MessageTemplate).where(
            col(MessageTemplate.kind) == kind, col(MessageTemplate.channel) == channel
        )
    )
    return {(t.kind, t.channel, t.language): Wording(t.body, t.subject) for t in rows}
