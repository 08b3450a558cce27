"""Reads and writes of the outbox and of contacts' reachability. Every statement names its trust
(the lean path) or runs through the trust floor (the ORM)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select, update

from app.core.bulk import ensure_in_trust
from app.core.repository import ScopedRepository
from app.core.types import utcnow
from app.notifications.models import (
    Message,
    MessageKind,
    MessageStatus,
    MessageTemplate,
    RecipientType,
)
from app.roster.models import Contact

_message: Table = Message.__table__  # type: ignore[attr-defined]
# Rows per INSERT statement: ~20 columns a row stays well under PostgreSQL's 32,767 parameters.
_CHUNK = 500


class MessageRepository(ScopedRepository[Message]):
    model = Message
    label = "message"


class TemplateRepository(ScopedRepository[MessageTemplate]):
    model = MessageTemplate
    label = "message template"


async def insert_new(session: AsyncSession, rows: list[dict[str, Any]]) -> list[UUID]:
    """Write the messages whose (cause, recipient, channel) is not already in the outbox, in the
    caller's transaction; the ids of those written. One statement per 500 rows, never one per
    message, and no read-then-write race: the unique key decides."""
    if not rows:
        return []
    ensure_in_trust(session, _message, rows)
    await session.flush()
    connection = await session.connection()
    module = postgresql if connection.dialect.name == "postgresql" else sqlite
    written: list[UUID] = []
    for start in range(0, len(rows), _CHUNK):
        # tenancy-exempt: each row was checked against the session's trust just above
        statement = (
            module.insert(_message)
            .values(rows[start : start + _CHUNK])
            .on_conflict_do_nothing(
                index_elements=["cause_kind", "cause_id", "recipient_id", "channel"]
            )
            .returning(_message.c.id)
        )
        written.extend((await connection.execute(statement)).scalars())
    return written


async def written_since(
    session: AsyncSession, trust_id: UUID, programme_ids: Sequence[UUID], since: datetime
) -> dict[UUID, int]:
    """Messages written for each programme since an instant (the start of today, for the cap)."""
    rows = await session.execute(
        select(Message.programme_id, func.count())
        .where(
            col(Message.trust_id) == trust_id,
            col(Message.programme_id).in_(programme_ids),
            col(Message.created_at) >= since,
        )
        .group_by(col(Message.programme_id))
    )
    return {programme_id: count for programme_id, count in rows.all() if programme_id}


async def contacts_of(
    session: AsyncSession, trust_id: UUID, household_ids: Sequence[UUID]
) -> Sequence[Contact]:
    """Every contact of these households, those with parental responsibility and the lowest
    priority number first: the order in which a household is reached."""
    found = await session.scalars(
        select(Contact)
        .where(col(Contact.trust_id) == trust_id, col(Contact.household_id).in_(household_ids))
        .order_by(
            col(Contact.household_id),
            col(Contact.parental_responsibility).desc(),
            col(Contact.priority),
            col(Contact.name),
            col(Contact.id),
        )
    )
    return found.all()


async def follow_household_merge(session: AsyncSession, from_id: UUID, to_id: UUID) -> None:
    """A merged family's messages stay on record under the household kept (a letter addressed
    to the household follows it too); nothing is re-sent."""
    await session.execute(
        update(Message)  # tenancy: both households came through the caller's scope (trust floor)
        .where(col(Message.household_id) == from_id)
        .values(household_id=to_id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Message)  # tenancy: as above
        .where(
            col(Message.recipient_type) == RecipientType.HOUSEHOLD,
            col(Message.recipient_id) == from_id,
        )
        .values(recipient_id=to_id)
        .execution_options(synchronize_session=False)
    )


async def of_households(
    session: AsyncSession,
    trust_id: UUID,
    programme_id: UUID,
    household_ids: Sequence[UUID],
    kinds: Sequence[MessageKind],
) -> list[Message]:
    """A programme's messages of these kinds to these households, oldest first: what each family
    has been told (or is about to be) about its visit."""
    if not household_ids:
        return []
    rows = await session.scalars(
        select(Message)
        .where(
            col(Message.trust_id) == trust_id,
            col(Message.programme_id) == programme_id,
            col(Message.household_id).in_(household_ids),
            col(Message.kind).in_(kinds),
        )
        .order_by(col(Message.created_at), col(Message.id))
    )
    return list(rows)


async def cancel_unsent(
    session: AsyncSession, trust_id: UUID, message_ids: Sequence[UUID], reason: str
) -> set[UUID]:
    """Cancel those of these messages no worker has claimed yet; the ids cancelled. One a worker
    is already sending is left alone: it is on its way."""
    if not message_ids:
        return set()
    result = await session.execute(
        update(Message)
        .where(
            col(Message.trust_id) == trust_id,
            col(Message.id).in_(message_ids),
            col(Message.status) == MessageStatus.CREATED,
        )
        .values(status=MessageStatus.CANCELLED, status_reason=reason, updated_at=utcnow())
        .returning(col(Message.id))
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars())


async def already_written(
    session: AsyncSession, trust_id: UUID, cause_kind: str, cause_ids: Sequence[UUID]
) -> set[UUID]:
    """Which of these causes of one kind already have a message (to any recipient)."""
    if not cause_ids:
        return set()
    rows = await session.scalars(
        select(Message.cause_id)
        .where(
            col(Message.trust_id) == trust_id,
            col(Message.cause_kind) == cause_kind,
            col(Message.cause_id).in_(cause_ids),
        )
        .distinct()
    )
    return set(rows)
