"""The one way any area sends a message: `write` adds it to the outbox in the caller's own
transaction, so a message exists exactly when the change that caused it commits.

A worker sends it later (see worker.py). Writing the same cause to the same recipient on the
same channel again writes nothing: the outbox's unique key makes every cause safe to handle
twice. Family messages falling in quiet hours wait until they end; each programme's messages
a day are capped.
"""

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.london import LONDON, local_time
from app.core.sealing import seal, unseal
from app.core.settings import get_settings
from app.core.types import utcnow
from app.notifications import repository
from app.notifications.exceptions import DailyCapReached
from app.notifications.models import STAFF_KINDS, MessageKind, MessageStatus
from app.notifications.reach import Recipient

# Values that are secrets: stored sealed, opened only to render the message being sent.
SEALED_VALUES = frozenset({"code", "link"})


@dataclass(frozen=True)
class Draft:
    """A message to be written: what it is, to whom, and the event it follows from."""

    kind: MessageKind
    school_id: UUID
    recipient: Recipient
    cause_kind: str
    cause_id: UUID
    values: Mapping[str, str] = field(default_factory=dict)
    programme_id: UUID | None = None
    household_id: UUID | None = None


async def write(
    session: AsyncSession, trust_id: UUID, drafts: Sequence[Draft], *, now: datetime | None = None
) -> list[UUID]:
    """Add the drafts to the outbox; the ids of those new to it (a cause already written is
    skipped). Raises DailyCapReached (429), writing nothing, when a programme's messages today
    would pass THRESHOLD_MESSAGES_DAILY_CAP_PER_PROGRAMME."""
    at = now or utcnow()
    rows = [_row(trust_id, draft, at) for draft in drafts]
    written = await repository.insert_new(session, rows)
    if written:
        await _ensure_under_cap(session, trust_id, rows, set(written), at)
    return written


def _row(trust_id: UUID, draft: Draft, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "trust_id": trust_id,
        "school_id": draft.school_id,
        "programme_id": draft.programme_id,
        "household_id": draft.household_id,
        "kind": draft.kind,
        "channel": draft.recipient.channel,
        "language": draft.recipient.language,
        "recipient_type": draft.recipient.type,
        "recipient_id": draft.recipient.id,
        "cause_kind": draft.cause_kind,
        "cause_id": draft.cause_id,
        "values": sealed(draft.values),
        "status": MessageStatus.CREATED,
        "send_after": send_after(draft.kind, now),
        "attempts": 0,
        "locked_by": None,
        "locked_until": None,
        "ambiguous": False,
        "notify_id": None,
        "sent_at": None,
        "delivered_at": None,
        "failed_at": None,
        "status_reason": None,
        "created_at": now,
        "updated_at": now,
    }


def sealed(values: Mapping[str, str]) -> dict[str, str]:
    return {k: seal(v) if k in SEALED_VALUES else v for k, v in values.items()}


def opened(values: Mapping[str, Any]) -> dict[str, str]:
    """A message's values as the wording needs them; a secret sealed with a retired key is left
    empty rather than failing the send (the office can issue a new code)."""
    return {k: (unseal(v) or "") if k in SEALED_VALUES else str(v) for k, v in values.items()}


def send_after(kind: MessageKind, now: datetime) -> datetime:
    """Now, or for a family message in quiet hours (Europe/London), when they end."""
    if kind in STAFF_KINDS:
        return now
    settings = get_settings()
    start, end = settings.messages_quiet_hours_start, settings.messages_quiet_hours_end
    local = local_time(now)
    if not _quiet(local.time(), start, end):
        return now
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=LONDON).astimezone(now.tzinfo)


def _quiet(moment: time, start: time, end: time) -> bool:
    if start <= end:  # a window within one day
        return start <= moment < end
    return moment >= start or moment < end  # across midnight, 20:00-08:00


def start_of_day(now: datetime) -> datetime:
    """Midnight in England today, as the instant it is: the cap's day."""
    local = local_time(now)
    return datetime.combine(local.date(), time(0), tzinfo=LONDON).astimezone(now.tzinfo)


async def _ensure_under_cap(
    session: AsyncSession,
    trust_id: UUID,
    rows: list[dict[str, Any]],
    written: set[UUID],
    now: datetime,
) -> None:
    new = Counter(r["programme_id"] for r in rows if r["id"] in written and r["programme_id"])
    if not new:
        return
    await _lock_programmes(session, sorted(new))
    cap = get_settings().messages_daily_cap_per_programme
    today = await repository.written_since(session, trust_id, sorted(new), start_of_day(now))
    for programme_id, count in sorted(new.items()):
        total = today.get(programme_id, 0)
        if total > cap:
            raise DailyCapReached(
                f"This would write {count} messages for programme {programme_id}, {total} in "
                f"all today, over its daily cap of {cap}. Nothing was sent or changed. If this "
                "is intended, send the rest tomorrow or ask for the cap "
                "(THRESHOLD_MESSAGES_DAILY_CAP_PER_PROGRAMME) to be raised.",
                retry_after=_seconds_to_tomorrow(now),
                extra={"programme_id": str(programme_id), "cap": cap, "today": total},
            )


async def _lock_programmes(session: AsyncSession, programme_ids: list[UUID]) -> None:
    """Two writers for one programme count one after the other, so both cannot pass the cap
    together (SQLite's single writer already serialises them)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for programme_id in programme_ids:
        key = func.hashtextextended(f"threshold.messages:{programme_id}", 0)
        await session.execute(select(func.pg_advisory_xact_lock(key)))


def _seconds_to_tomorrow(now: datetime) -> int:
    return int((start_of_day(now) + timedelta(days=1, hours=1) - now).total_seconds())
