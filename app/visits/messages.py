"""What families and staff are told about visits, written through the outbox in the same
transaction as the change that causes it.

One rule covers publishing, a schedule run after publishing, a manual change and a cancellation:
a family is told what contradicts what it was last told. A visit it has heard nothing about gets
its confirmation (day, time, the visitors' first names and roles, the place); a visit that moved
or changed adults after it was told gets a change confirmation (from the time it was told to the
new one); a visit cancelled after it was told gets a cancellation. Whatever it had not been sent
yet about the visit (a confirmation waiting out quiet hours, a reminder) is cancelled first, so a
family never receives a time that no longer holds: a visit moved before its confirmation went is
simply confirmed at its new time, rather than "moved" from a time the family never heard.

Nothing is said while a schedule is being planned (or reopened): only published and in-progress
programmes tell families. Staff hear once per programme that their itinerary is published. No
message names an address (the family knows it), SEND, FSM or notes.
"""

import logging
import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, time, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import open_session
from app.core.logs import failure
from app.core.london import LONDON, local_time
from app.core.tenancy import Scope, system_scope
from app.notifications import outbox, reach
from app.notifications import repository as outbox_repository
from app.notifications.exceptions import DailyCapReached
from app.notifications.models import Message, MessageKind, MessageStatus
from app.programmes.messages import day_of, family_names, school_values, time_of
from app.programmes.models import VisitProgramme
from app.programmes.transitions import TransitionContext
from app.visits import messages_repository as repository
from app.visits.messages_repository import TOLD, Upcoming, VisitFacts
from app.visits.models import VisitLocation, VisitRole, VisitStatus

log = logging.getLogger("threshold.messages")

CONFIRMATION = "visit_confirmation"
REMINDER = repository.REMINDER_CAUSE
CHANGED = "visit_changed"
CANCELLED = "visit_cancelled"
ITINERARY = "itinerary_published"
# Every message that tells a family about its visit, oldest to newest.
ABOUT_THE_VISIT = (
    MessageKind.VISIT_CONFIRMATION,
    MessageKind.VISIT_REMINDER,
    MessageKind.VISIT_CHANGED,
    MessageKind.VISIT_CANCELLED,
)
# What a family was told, compared with what holds now.
SAID = ("visit_day", "visit_time", "visitors", "place")
ROLE_WORDS = {VisitRole.TEACHER: "class teacher", VisitRole.SECOND_ADULT: "second adult"}
# Reminders go at this time in England, the programme's lead before the visit's day.
REMINDER_AT = time(9)
NO_REASON = "the school will be in touch to arrange another time"
SUPERSEDED = "not sent: the visit changed before it went, and a newer message says so"
WITHDRAWN = "not sent: the visit was cancelled before it went"


async def confirm_on_publishing(
    session: AsyncSession, programme: VisitProgramme, context: TransitionContext
) -> None:
    """The PUBLISHED transition's hook, after scheduling's (which confirms the visits): every
    family its visit's confirmation, every adult on a visit word that its itinerary is out, in
    the publishing transaction. Past the daily cap, publishing is refused (429) with nothing
    written."""
    facts = await repository.visit_facts(session, programme.id)
    common = await school_words(session, programme)
    drafts = await _about_visits(session, programme, facts, common, {}, NO_REASON)
    drafts.extend(_itineraries(programme, facts, common))
    await outbox.write(session, programme.trust_id, drafts)


async def tell_families(
    session: AsyncSession,
    programme: VisitProgramme,
    causes: Mapping[UUID, UUID] | None = None,
    *,
    reason: str | None = None,
) -> None:
    """After visits of a published or in-progress programme changed: each family told what
    contradicts what it was last told. `causes`: the visits changed, each with the change that
    caused it (its VisitChange id, the message's cause); None: every visit of the programme (a
    schedule run), each message's cause then derived from what it says."""
    if programme.status not in TOLD:
        return
    await session.flush()
    facts = await repository.visit_facts(session, programme.id, causes.keys() if causes else None)
    common = await school_words(session, programme)
    drafts = await _about_visits(
        session, programme, facts, common, causes or {}, reason or NO_REASON
    )
    await outbox.write(session, programme.trust_id, drafts)


async def tell_cancelled(
    session: AsyncSession,
    programme: VisitProgramme,
    visit_id: UUID,
    cause_id: UUID,
    reason: str | None = None,
) -> None:
    """A visit just cancelled (status CANCELLED, with its VisitChange `cause_id`): its family is
    told, if it had been told of the visit, and nothing not yet sent about it goes. `reason` is
    read by the family: plain words, never a note about them."""
    await tell_families(session, programme, {visit_id: cause_id}, reason=reason)


async def tell_after_run(session: AsyncSession, programme_id: UUID) -> None:
    """A schedule run has rewritten a programme's visits: if the families had their visits,
    each is told what changed (a run while planning, or reopened, tells nobody)."""
    programme = await repository.programme(session, programme_id)
    if programme is not None:
        await tell_families(session, programme)


async def school_words(session: AsyncSession, programme: VisitProgramme) -> dict[str, str]:
    values = await school_values(session, programme)
    return {k: values[k] for k in ("school_name", "school_phone")}


async def _about_visits(
    session: AsyncSession,
    programme: VisitProgramme,
    facts: Sequence[VisitFacts],
    common: Mapping[str, str],
    causes: Mapping[UUID, UUID],
    reason: str,
) -> list[outbox.Draft]:
    households = [f.household_id for f in facts]
    history: dict[UUID, list[Message]] = defaultdict(list)
    for message in await outbox_repository.of_households(
        session, programme.trust_id, programme.id, households, ABOUT_THE_VISIT
    ):
        assert message.household_id is not None
        history[message.household_id].append(message)
    wanted = {f.id: what_is_said(f, common) for f in facts}
    to_settle = [f for f in facts if _contradicted(f, wanted[f.id], history[f.household_id])]
    if not to_settle:
        return []
    pending = [
        m.id
        for f in to_settle
        for m in history[f.household_id]
        if m.status is MessageStatus.CREATED
    ]
    cancelled = await _cancel(session, programme, to_settle, history, pending)
    names = await family_names(session, programme, [f.household_id for f in to_settle])
    recipients = await reach.families(
        session, programme.trust_id, [f.household_id for f in to_settle]
    )
    drafts = []
    for visit in to_settle:
        told = _last_told(history[visit.household_id], cancelled)
        settling = _message(visit, told, wanted[visit.id], reason, causes.get(visit.id))
        if settling is None:
            continue
        kind, cause_kind, cause_id, values = settling
        drafts.append(
            outbox.Draft(
                kind=kind,
                school_id=programme.school_id,
                programme_id=programme.id,
                household_id=visit.household_id,
                recipient=recipients[visit.household_id],
                cause_kind=cause_kind,
                cause_id=cause_id,
                values={**common, "family_name": names[visit.household_id], **values},
            )
        )
    return drafts


def what_is_said(visit: VisitFacts, common: Mapping[str, str]) -> dict[str, str]:
    """What a message about the visit says of it as it stands."""
    return {
        "visit_day": day_of(visit.starts_at),
        "visit_time": time_of(visit.starts_at),
        "visitors": _visitors(visit),
        "place": "at your home"
        if visit.location is VisitLocation.HOME
        else f"at {common['school_name']}",
    }


def _visitors(visit: VisitFacts) -> str:
    """ "Sarah (class teacher) and Tom (second adult)": first names and roles only."""
    named = [f"{first_name(a.full_name)} ({ROLE_WORDS[a.role]})" for a in visit.adults]
    if len(named) < 2:
        return "".join(named) or "two members of staff"
    return ", ".join(named[:-1]) + " and " + named[-1]


def first_name(full_name: str) -> str:
    return full_name.split()[0] if full_name.strip() else full_name


def _contradicted(visit: VisitFacts, said: Mapping[str, str], history: list[Message]) -> bool:
    """Whether the family's latest word about the visit (sent or waiting) no longer holds."""
    latest = next((m for m in reversed(history) if m.status is not MessageStatus.CANCELLED), None)
    if visit.status is VisitStatus.CANCELLED:
        return latest is not None and latest.kind is not MessageKind.VISIT_CANCELLED
    if latest is None or latest.kind is MessageKind.VISIT_CANCELLED:
        return True
    return any(latest.values.get(k) != said[k] for k in SAID)


async def _cancel(
    session: AsyncSession,
    programme: VisitProgramme,
    visits: Sequence[VisitFacts],
    history: Mapping[UUID, list[Message]],
    pending: list[UUID],
) -> set[UUID]:
    """Withdraw what was not sent yet; the ids withdrawn (one a worker had already claimed is on
    its way, and counts as told)."""
    gone = {
        m.id for v in visits if v.status is VisitStatus.CANCELLED for m in history[v.household_id]
    }
    cancelled = await outbox_repository.cancel_unsent(
        session, programme.trust_id, [m for m in pending if m in gone], WITHDRAWN
    )
    return cancelled | await outbox_repository.cancel_unsent(
        session, programme.trust_id, [m for m in pending if m not in gone], SUPERSEDED
    )


def _last_told(history: list[Message], cancelled: set[UUID]) -> Message | None:
    """The latest message about the visit that went (or is going) to the family."""
    for message in reversed(history):
        if message.status is not MessageStatus.CANCELLED and message.id not in cancelled:
            return message
    return None


def _message(
    visit: VisitFacts,
    told: Message | None,
    said: dict[str, str],
    reason: str,
    cause_id: UUID | None,
) -> tuple[MessageKind, str, UUID, dict[str, str]] | None:
    """The message that puts the family right, if one is needed: its kind, cause and values."""
    heard_of_it = told is not None and told.kind is not MessageKind.VISIT_CANCELLED
    if visit.status is VisitStatus.CANCELLED:
        if not heard_of_it:
            return None
        assert told is not None
        values = {k: str(told.values.get(k, "")) for k in ("visit_day", "visit_time")}
        cause = cause_id or uuid.uuid5(visit.id, f"cancelled {visit.starts_at.isoformat()}")
        return MessageKind.VISIT_CANCELLED, CANCELLED, cause, {**values, "reason": reason}
    state = "|".join(said[k] for k in SAID)
    if not heard_of_it:
        # The first confirmation of a visit is caused by the visit itself; a later one (the
        # first was withdrawn before it went) by what it now says.
        cause = cause_id or (visit.id if told is None else uuid.uuid5(visit.id, state))
        return MessageKind.VISIT_CONFIRMATION, CONFIRMATION, cause, said
    assert told is not None
    previous = {
        "previous_day": str(told.values.get("visit_day", "")),
        "previous_time": str(told.values.get("visit_time", "")),
    }
    cause = cause_id or uuid.uuid5(visit.id, state)
    return MessageKind.VISIT_CHANGED, CHANGED, cause, {**said, **previous}


def _itineraries(
    programme: VisitProgramme, facts: Sequence[VisitFacts], common: Mapping[str, str]
) -> list[outbox.Draft]:
    """Each adult with visits: word that the itinerary is published (once per programme)."""
    visits: dict[UUID, list[datetime]] = defaultdict(list)
    names: dict[UUID, str] = {}
    for visit in facts:
        if visit.status is not VisitStatus.SCHEDULED:
            continue
        for adult in visit.adults:
            visits[adult.staff_id].append(visit.starts_at)
            names[adult.staff_id] = adult.full_name
    return [
        outbox.Draft(
            kind=MessageKind.ITINERARY_PUBLISHED,
            school_id=programme.school_id,
            programme_id=programme.id,
            recipient=reach.staff(staff_id),
            cause_kind=ITINERARY,
            cause_id=programme.id,
            values={
                "school_name": common["school_name"],
                "school_phone": common["school_phone"],
                "staff_name": first_name(names[staff_id]),
                "visit_count": str(len(starts)),
                "first_day": day_of(min(starts)),
            },
        )
        for staff_id, starts in sorted(visits.items())
    ]


async def plan_reminders(now: datetime) -> int:
    """The message planner for visit reminders (run about once a minute by the message worker):
    each visit of a published or in-progress programme is reminded at 9:00 in England, the
    programme's `reminder_lead_days` before its day, or at the first run after that if the worker
    was down. Each programme is written in its own transaction, so one past its cap (logged)
    holds up no other. The outbox's unique key makes a second run, or a second worker, write
    nothing more; how many were written."""
    async with open_session(system_scope("visit reminders falling due")) as session:
        upcoming = await repository.upcoming_visits(session, now)
    due: dict[UUID, list[Upcoming]] = defaultdict(list)
    for visit in upcoming:
        if now >= reminder_moment(visit.starts_at, visit.reminder_lead_days):
            due[visit.programme_id].append(visit)
    written = 0
    for programme_id, visits in due.items():
        scope = Scope(trust_id=visits[0].trust_id, school_ids=frozenset({visits[0].school_id}))
        try:
            async with open_session(scope) as session:
                written += await _remind(session, programme_id, [v.visit_id for v in visits], now)
        except DailyCapReached as exc:
            log.warning(
                "visit reminders held back by the daily cap",
                extra={"programme_id": str(programme_id), **failure(exc)},
            )
    return written


def reminder_moment(starts_at: datetime, lead_days: int) -> datetime:
    """When a visit's reminder falls due: 9:00 in England, `lead_days` before its day."""
    day = local_time(starts_at).date() - timedelta(days=lead_days)
    return datetime.combine(day, REMINDER_AT, tzinfo=LONDON)


async def _remind(
    session: AsyncSession, programme_id: UUID, visit_ids: Collection[UUID], now: datetime
) -> int:
    programme = await repository.programme(session, programme_id)
    if programme is None or programme.status not in TOLD:
        return 0
    facts = [
        f
        for f in await repository.visit_facts(session, programme.id, visit_ids)
        if f.status is VisitStatus.SCHEDULED
    ]
    if not facts:
        return 0
    common = await school_words(session, programme)
    households = [f.household_id for f in facts]
    names = await family_names(session, programme, households)
    recipients = await reach.families(session, programme.trust_id, households)
    drafts = [
        outbox.Draft(
            kind=MessageKind.VISIT_REMINDER,
            school_id=programme.school_id,
            programme_id=programme.id,
            household_id=visit.household_id,
            recipient=recipients[visit.household_id],
            cause_kind=REMINDER,
            cause_id=visit.id,
            values={
                **common,
                "family_name": names[visit.household_id],
                **what_is_said(visit, common),
            },
        )
        for visit in facts
    ]
    return len(await outbox.write(session, programme.trust_id, drafts, now=now))
