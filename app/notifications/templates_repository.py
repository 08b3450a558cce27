"""Reads of a trust's own wording. Every statement names its trust."""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.notifications.models import MessageChannel, MessageKind, MessageTemplate


async def templates_of(session: AsyncSession, trust_id: UUID) -> Sequence[MessageTemplate]:
    """Every template the trust has written, in a stable order: kind, channel, language."""
    found = await session.scalars(
        select(MessageTemplate)
        .where(col(MessageTemplate.trust_id) == trust_id)
        .order_by(
            col(MessageTemplate.kind), col(MessageTemplate.channel), col(MessageTemplate.language)
        )
    )
    return found.all()


async def find(
    session: AsyncSession,
    trust_id: UUID,
    kind: MessageKind,
    channel: MessageChannel,
    language: str,
    *,
    for_update: bool = False,
) -> MessageTemplate | None:
    statement = select(MessageTemplate).where(
        col(MessageTemplate.trust_id) == trust_id,
        col(MessageTemplate.kind) == kind,
        col(MessageTemplate.channel) == channel,
        col(MessageTemplate.language) == language,
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()
