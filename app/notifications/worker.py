"""The worker that sends the outbox: any number of them, on any number of machines.

A round (`send_due`):
1. The sweeper takes back messages left `sending` past their lease (a worker died or stalled):
   they return to `created`, marked ambiguous, since the dead worker may have sent them.
2. Uses of the Notify key's allowance are reserved in the database (THRESHOLD_NOTIFY_RATE_PER_
   MINUTE, counted over every worker: each send and each look-up is one request to Notify).
3. A small batch of due messages (`created`, `send_after` passed; never letters) is claimed
   under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the UPDATE repeats the
   condition), each claim with its own lock token.
4. Each is sent with Notify's `reference` set to its id. One that was ambiguous is first looked
   up by reference, and marked sent without sending when Notify has it: Notify has no
   idempotency key, and this look-up is what stops a second text.
5. Each outcome is written with an attempt row, and only while the claim is still this worker's
   (a worker whose lease was taken back writes its attempt but leaves the message alone):
   accepted → `sent`; refused (4xx) → `permanent_failure`, never retried; 429, 5xx, no answer →
   back to `created` after a back-off, and after MAX_ATTEMPTS → `technical_failure`.

The lease is long beside the client's timeout, so a live worker's claim is never taken back
while its request may still reach Notify (which would let the look-up miss it).

With THRESHOLD_MESSAGES_DELIVERY=log (the default outside production) nothing reaches Notify:
each message is rendered into `logged_message` and marked sent.

Logs name message ids and outcomes, never a recipient or a body.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select, update

from app.core import ratelimit
from app.core.db import open_session
from app.core.logs import failure
from app.core.settings import Settings, get_settings
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.notifications import outbox, planners
from app.notifications.models import (
    LoggedMessage,
    Message,
    MessageAttempt,
    MessageChannel,
    MessageKind,
    MessageStatus,
    MessageTemplate,
    RecipientType,
)
from app.notifications.notify import (
    Accepted,
    NotifyGateway,
    NotifyUnavailable,
    Outcome,
    Permanent,
    Retry,
)
from app.notifications.wording import Wording, choose, default_wording, render
from app.roster.models import Contact
from app.staff.models import StaffMember

log = logging.getLogger("threshold.messages")

BATCH = 20
# Tried this many times (sends and look-ups that got no answer) before giving up.
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
PLAN_EVERY = timedelta(minutes=1)
_RATE_BUCKET = "notify-requests"


def lease(settings: Settings) -> timedelta:
    """Longer than a batch can take: each message makes at most two calls (a look-up and a
    send), each bounded by the client's timeout, on a handful of threads."""
    return timedelta(seconds=60 + 2 * BATCH * settings.notify_timeout_seconds)


@dataclass(frozen=True)
class Claimed:
    id: UUID
    trust_id: UUID
    school_id: UUID
    kind: MessageKind
    channel: MessageChannel
    language: str
    recipient_type: RecipientType
    recipient_id: UUID
    values: dict[str, Any]
    attempts: int
    ambiguous: bool


@dataclass(frozen=True)
class Prepared:
    """What is sent: the address and the words. Held in memory only while sending."""

    to: str
    wording: Wording
    language: str


@dataclass(frozen=True)
class Round:
    claimed: int = 0
    swept: int = 0
    rate_limited: bool = False


# ---- one round ---------------------------------------------------------------------------------


async def send_due(worker: str, *, now: datetime | None = None, batch: int = BATCH) -> Round:
    """Sweep, claim a batch and send it; what happened (a claimed count of 0: nothing due)."""
    settings = get_settings()
    at = now or utcnow()
    swept = await sweep(at)
    notify = settings.messages_delivery == "notify"
    reserved: list[UUID] = []
    wanted = batch
    if notify:
        reserved = await _reserve(settings, batch)
        wanted = len(reserved)
        if not wanted:
            return Round(swept=swept, rate_limited=True)
    claimed = await claim(worker, at, limit=wanted)
    token = claimed[0][1] if claimed else None
    messages = [message for message, _ in claimed]
    if notify:
        # An ambiguous message costs two requests (a look-up, then perhaps a send).
        needed = len(messages) + sum(1 for m in messages if m.ambiguous)
        reserved, spare = reserved[:needed], reserved[needed:]
        if spare:
            await ratelimit.give_back_now(spare)
        if needed > len(reserved):
            reserved += await _reserve(settings, needed - len(reserved))
        messages = await _release_unaffordable(messages, len(reserved), token)
    if messages and token is not None:
        await _send_batch(messages, token, settings)
    return Round(claimed=len(messages), swept=swept)


async def _reserve(settings: Settings, wanted: int) -> list[UUID]:
    limit = ratelimit.Limit(
        bucket=_RATE_BUCKET,
        max_hits=settings.notify_rate_per_minute,
        window_seconds=60,
        message="Notify's rate limit for the key",
    )
    # The allowance is the key's: counted under its service id, never its secret.
    key = (settings.notify_api_key or "")[-73:-37]
    return await ratelimit.reserve(limit, key, wanted)


async def _release_unaffordable(
    messages: list[Claimed], allowance: int, token: str | None
) -> list[Claimed]:
    """Keep the messages the reserved requests pay for; give the rest back untouched."""
    kept: list[Claimed] = []
    spent = 0
    for message in messages:
        cost = 2 if message.ambiguous else 1
        if spent + cost <= allowance:
            kept.append(message)
            spent += cost
    released = [m.id for m in messages if m not in kept]
    if released and token is not None:
        async with open_session(system_scope("give back unaffordable messages")) as session:
            await session.execute(
                update(Message)  # tenancy: system scope, this worker's own claim by id
                .where(col(Message.id).in_(released), col(Message.locked_by) == token)
                .values(status=MessageStatus.CREATED, locked_by=None, locked_until=None)
            )
    return kept


# ---- claiming and sweeping -------------------------------------------------------------------


def _due(now: datetime) -> Any:
    return and_(
        col(Message.status) == MessageStatus.CREATED,
        col(Message.send_after) <= now,
        col(Message.channel) != MessageChannel.LETTER,
    )


async def claim(worker: str, now: datetime, *, limit: int = BATCH) -> list[tuple[Claimed, str]]:
    """Take up to `limit` due messages under a lease, oldest due first; each with the claim's
    lock token (unique to this claim, so a finish is written only while the claim holds)."""
    if limit <= 0:
        return []
    token = f"{worker[:80]}/{uuid.uuid4().hex[:12]}"
    until = now + lease(get_settings())
    async with open_session(system_scope("claim messages to send")) as session:
        candidates = (
            select(Message.id)  # tenancy: system scope (the worker sends for every trust)
            .where(_due(now))
            .order_by(col(Message.send_after))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await session.execute(candidates)).scalars())
        if not ids:
            return []
        await session.execute(
            update(Message)  # tenancy: system scope, the messages just chosen, by id
            .where(col(Message.id).in_(ids), _due(now))  # lost races change nothing (SQLite)
            .values(
                status=MessageStatus.SENDING,
                locked_by=token,
                locked_until=until,
                updated_at=now,
            )
        )
        taken = await session.scalars(
            select(Message).where(  # tenancy: system scope, this claim's messages
                col(Message.id).in_(ids), col(Message.locked_by) == token
            )
        )
        return [(_snapshot(m), token) for m in taken.all()]


def _snapshot(m: Message) -> Claimed:
    return Claimed(
        id=m.id,
        trust_id=m.trust_id,
        school_id=m.school_id,
        kind=m.kind,
        channel=m.channel,
        language=m.language,
        recipient_type=m.recipient_type,
        recipient_id=m.recipient_id,
        values=dict(m.values),
        attempts=m.attempts,
        ambiguous=m.ambiguous,
    )


async def sweep(now: datetime) -> int:
    """Take back messages left `sending` past their lease. Their worker may have sent them
    before it stopped, so they are marked ambiguous: looked up before being sent again."""
    async with open_session(system_scope("take back expired message leases")) as session:
        taken = await session.execute(
            update(Message)  # tenancy: system scope (the sweeper serves every trust)
            .where(
                col(Message.status) == MessageStatus.SENDING,
                col(Message.locked_until) < now,
            )
            .values(
                status=MessageStatus.CREATED,
                ambiguous=True,
                locked_by=None,
                locked_until=None,
                send_after=now,
                updated_at=now,
            )
        )
    swept: int = taken.rowcount  # type: ignore[attr-defined]
    if swept:
        log.warning("messages taken back from an expired lease", extra={"count": swept})
    return swept


# ---- sending ---------------------------------------------------------------------------------


async def _send_batch(messages: list[Claimed], token: str, settings: Settings) -> None:
    async with open_session(system_scope("render messages to send")) as session:
        prepared = await _prepare(session, messages)
    if settings.messages_delivery == "log":
        await _log_batch(messages, prepared, token)
        return
    gateway = _gateway(
        settings.notify_api_key or "", settings.notify_base_url, settings.notify_timeout_seconds
    )
    templates = {
        MessageChannel.SMS: settings.notify_sms_template_id or "",
        MessageChannel.EMAIL: settings.notify_email_template_id or "",
    }
    results = await asyncio.gather(
        *(_deliver(m, prepared[m.id], gateway, templates[m.channel]) for m in messages)
    )
    await _record_all(results, token)


@lru_cache(maxsize=4)
def _gateway(api_key: str, base_url: str, timeout_seconds: float) -> NotifyGateway:
    return NotifyGateway(api_key, base_url, timeout_seconds, threads=BATCH)


# A message, what came of trying it, and the attempt's name (see MessageAttempt.outcome).
Result = tuple[Claimed, Outcome, str]


async def _deliver(
    message: Claimed, prepared: Prepared | str, gateway: NotifyGateway, template_id: str
) -> Result:
    reference = str(message.id)
    if message.ambiguous:
        try:
            found = await gateway.find_by_reference(reference)
        except NotifyUnavailable as unknown:
            return message, Retry(str(unknown), 30.0, True), "lookup_failed"
        if found is not None:
            return message, Accepted(found), "found_by_reference"
    if isinstance(prepared, str):
        return message, Permanent(prepared), "permanent_failure"
    personalisation = {"body": prepared.wording.body}
    if message.channel is MessageChannel.EMAIL:
        personalisation["subject"] = prepared.wording.subject or ""
    outcome = await gateway.send(
        message.channel.value,  # type: ignore[arg-type]  # sms | email: letters are never claimed
        prepared.to,
        template_id,
        personalisation,
        reference,
    )
    return message, outcome, _outcome_name(outcome)


def _outcome_name(outcome: Outcome) -> str:
    if isinstance(outcome, Accepted):
        return "accepted"
    if isinstance(outcome, Permanent):
        return "permanent_failure"
    return "ambiguous" if outcome.ambiguous else "retry"


async def _record(message: Claimed, token: str, outcome: Outcome, name: str) -> None:
    await _record_all([(message, outcome, name)], token)


async def _record_all(
    results: Sequence[Result], token: str, logged: Sequence[LoggedMessage] = ()
) -> None:
    """The batch's attempts, and each message's new state while this claim still holds it: one
    transaction (a worker dying before it commits leaves the batch to the sweeper, which marks
    it ambiguous: nothing is sent twice, only looked up)."""
    now = utcnow()
    async with open_session(system_scope("record message attempts")) as session:
        session.add_all(logged)
        for message, outcome, name in results:
            values, detail = _new_state(message, outcome, name, now)
            await session.execute(
                update(Message)  # tenancy: system scope, the message this claim holds, by id
                .where(
                    col(Message.id) == message.id,
                    col(Message.locked_by) == token,
                    col(Message.status) == MessageStatus.SENDING,
                )
                .values(**values)
            )
            session.add(
                MessageAttempt(
                    message_id=message.id,
                    trust_id=message.trust_id,
                    school_id=message.school_id,
                    attempted_at=now,
                    worker=token[:100],
                    outcome=name,
                    detail=detail[:300] if detail else None,
                )
            )
    for message, _, name in results:
        log.info("message attempt", extra={"message_id": str(message.id), "outcome": name})


def _new_state(
    message: Claimed, outcome: Outcome, name: str, now: datetime
) -> tuple[dict[str, Any], str | None]:
    """The message's columns after this attempt, and the attempt's detail."""
    attempts = message.attempts + (0 if name == "found_by_reference" else 1)
    values: dict[str, Any] = {
        "locked_by": None,
        "locked_until": None,
        "attempts": attempts,
        "updated_at": now,
    }
    if isinstance(outcome, Accepted):
        values.update(
            status=MessageStatus.SENT,
            notify_id=outcome.notify_id,
            sent_at=now,
            ambiguous=False,
            status_reason=None,
        )
        found = name == "found_by_reference"
        return values, "Notify already had it: not sent again" if found else None
    if isinstance(outcome, Permanent):
        values.update(
            status=MessageStatus.PERMANENT_FAILURE,
            failed_at=now,
            ambiguous=False,
            status_reason=outcome.reason,
        )
        return values, outcome.reason
    if attempts >= MAX_ATTEMPTS:
        detail = f"Gave up after {attempts} attempts; the last: {outcome.reason}"
        values.update(
            status=MessageStatus.TECHNICAL_FAILURE,
            failed_at=now,
            ambiguous=outcome.ambiguous or message.ambiguous,
            status_reason=detail[:300],
        )
        return values, detail
    # A look-up that got no answer leaves the message as ambiguous as it was.
    values.update(
        status=MessageStatus.CREATED,
        send_after=now + backoff(attempts, outcome.after_seconds),
        ambiguous=outcome.ambiguous or (message.ambiguous and name == "lookup_failed"),
        status_reason=f"Will try again: {outcome.reason}"[:300],
    )
    return values, outcome.reason


def backoff(attempts: int, at_least_seconds: float) -> timedelta:
    """30 s, 1 min, 2 min, … up to an hour; never sooner than Notify asked."""
    doubled = BACKOFF_FIRST * (1 << min(max(0, attempts - 1), 20))
    return max(min(doubled, BACKOFF_CAP), timedelta(seconds=at_least_seconds))


async def _log_batch(
    messages: list[Claimed], prepared: dict[UUID, Prepared | str], token: str
) -> None:
    """The log channel: what would have been sent, written where the API can show it."""
    results: list[Result] = []
    logged: list[LoggedMessage] = []
    for message in messages:
        ready = prepared[message.id]
        if isinstance(ready, str):
            results.append((message, Permanent(ready), "permanent_failure"))
            continue
        email = message.channel is MessageChannel.EMAIL
        logged.append(
            LoggedMessage(
                message_id=message.id,
                trust_id=message.trust_id,
                school_id=message.school_id,
                channel=message.channel,
                to=ready.to,
                language=ready.language,
                subject=ready.wording.subject if email else None,
                body=ready.wording.body,
            )
        )
        results.append((message, Accepted(f"log:{message.id}"), "logged"))
    await _record_all(results, token, logged)


# ---- rendering -------------------------------------------------------------------------------


async def _prepare(
    session: AsyncSession, messages: Sequence[Claimed]
) -> dict[UUID, Prepared | str]:
    """Each message's address and words, or why it cannot be sent (a permanent failure)."""
    contacts = await _by_id(
        session, Contact, [m.recipient_id for m in messages if m.recipient_type == "contact"]
    )
    staff = await _by_id(
        session, StaffMember, [m.recipient_id for m in messages if m.recipient_type == "staff"]
    )
    wordings = await _trust_wordings(session, {m.trust_id for m in messages})
    prepared: dict[UUID, Prepared | str] = {}
    for m in messages:
        to, missing = _address(m, contacts.get(m.recipient_id), staff.get(m.recipient_id))
        if to is None:
            prepared[m.id] = missing
            continue
        wording, language = choose(m.kind, m.channel, m.language, wordings.get(m.trust_id, {}))
        if m.channel is MessageChannel.EMAIL and not wording.subject:
            wording = Wording(body=wording.body, subject=default_wording(m.kind, m.channel).subject)
        prepared[m.id] = Prepared(to, render(wording, outbox.opened(m.values)), language)
    return prepared


def _address(
    m: Claimed, contact: Contact | None, staff: StaffMember | None
) -> tuple[str | None, str]:
    """The address to use now, or None and why there is none (never naming the address)."""
    if m.recipient_type == RecipientType.STAFF:
        if staff is None or not staff.is_active:
            return None, "The member of staff is no longer active"
        if m.channel is MessageChannel.SMS:
            if not staff.work_mobile:
                return None, "The member of staff no longer has a work mobile"
            return staff.work_mobile, ""
        return staff.email, ""
    if contact is None:
        return None, "The contact is no longer on record"
    if m.channel is MessageChannel.SMS:
        if not (contact.sms_consent and contact.mobile):
            return None, "The contact no longer has a mobile number that agreed to texts"
        return contact.mobile, ""
    if not contact.email:
        return None, "The contact no longer has an email address"
    return contact.email, ""


async def _by_id(session: AsyncSession, model: Any, ids: list[UUID]) -> dict[UUID, Any]:
    if not ids:
        return {}
    found = await session.scalars(
        select(model).where(col(model.id).in_(ids))  # tenancy: system scope, the batch's recipients
    )
    return {row.id: row for row in found.all()}


async def _trust_wordings(
    session: AsyncSession, trust_ids: set[UUID]
) -> dict[UUID, dict[tuple[MessageKind, MessageChannel, str], Wording]]:
    found = await session.scalars(
        select(MessageTemplate).where(  # tenancy: system scope, the batch's trusts
            col(MessageTemplate.trust_id).in_(trust_ids)
        )
    )
    wordings: dict[UUID, dict[tuple[MessageKind, MessageChannel, str], Wording]] = {}
    for t in found.all():
        wordings.setdefault(t.trust_id, {})[(t.kind, t.channel, t.language)] = Wording(
            body=t.body, subject=t.subject
        )
    return wordings


# ---- the loop ----------------------------------------------------------------------------------


async def send_pending(worker: str = "test-worker", *, now: datetime | None = None) -> int:
    """Send until nothing is due (tests and the embedded default); how many were claimed."""
    sent = 0
    while True:
        done = await send_due(worker, now=now)
        sent += done.claimed
        if not done.claimed:
            return sent


async def send_forever(stop: asyncio.Event, worker: str, *, idle_seconds: float = 1.0) -> None:
    """Send rounds until `stop`; plan messages that fall due with time about once a minute."""
    log.info("message sender started", extra={"worker": worker})
    failing = False
    planned_at: datetime | None = None
    while not stop.is_set():
        busy = False
        try:
            now = utcnow()
            if planned_at is None or now - planned_at >= PLAN_EVERY:
                planned_at = now
                await planners.plan_due(now)
            busy = (await send_due(worker)).claimed > 0
            failing = False
        except Exception as exc:
            # The database may be restarting: wait and try again, saying so once per outage.
            if not failing:
                log.error("message sender could not send; retrying", extra=failure(exc))
            failing = True
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=idle_seconds)
