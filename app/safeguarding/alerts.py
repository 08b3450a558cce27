"""Telling the DSLs a concern awaits, at once, and again until one of them acknowledges it.

Raising a concern writes, in its own transaction, an email to each of the day's on-call DSLs
(`on_call_for`), and a text to each who has a work mobile on record, quiet hours or not (the
kind is a staff kind, which the outbox never holds back). A concern marked `urgent` or `immediate_danger` that no DSL
has moved on (acknowledged) within THRESHOLD_SAFEGUARDING_ESCALATE_MINUTES (10) of being raised
is escalated: the on-call DSLs, the deputies and the trust's DSLs are told, and told again every
THRESHOLD_SAFEGUARDING_REPEAT_MINUTES (20) after that until one acknowledges it. The message
worker runs the planner about once a minute; each escalation reaches each person once (the
outbox's unique key). A message says only that a concern of an urgency awaits at a school: no
name, no category, no link (KCSIE: need-to-know; an email or a text is read on a lock screen).
Safeguarding messages are not counted against any programme's daily cap.
"""

import logging
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import open_session
from app.core.london import local_time
from app.core.permissions import Role
from app.core.phones import spoken
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.notifications import outbox, reach
from app.notifications.models import MessageKind
from app.programmes import duties_repository as duties
from app.programmes.messages import NO_PHONE
from app.programmes.models import Duty
from app.safeguarding import repository
from app.safeguarding.models import Concern, ConcernUrgency
from app.visits.messages import first_name

log = logging.getLogger("threshold.safeguarding")

CAUSE = "safeguarding_concern"
URGENCY_WORDS = {
    ConcernUrgency.IMMEDIATE_DANGER: "immediate danger",
    ConcernUrgency.URGENT: "urgent",
    ConcernUrgency.ROUTINE: "routine",
}

Person = tuple[UUID, str]


async def on_call_for(
    session: AsyncSession, trust_id: UUID, school_id: UUID, day: date
) -> list[Person]:
    """The DSL the programme's duty rota names on call at the school on `day`. On a day it names
    none (outside the visit days), every DSL of the school is; a school without one falls back
    to the trust's DSLs, who can cover (KCSIE: a DSL is always available)."""
    named = (await duties.named_on(session, school_id, day)).get(Duty.DSL_ON_CALL)
    if named:
        return named
    found = await repository.holders(session, Role.DSL, trust_id, school_id)
    return found or await repository.holders(session, Role.TRUST_DSL, trust_id, None)


async def deputies_for(
    session: AsyncSession, trust_id: UUID, school_id: UUID, day: date
) -> list[Person]:
    """Whom an escalation reaches besides the on-call DSLs: the day's named deputies first, then
    the school's other DSLs and the trust's DSLs."""
    on_call = {staff_id for staff_id, _ in await on_call_for(session, trust_id, school_id, day)}
    named = (await duties.named_on(session, school_id, day)).get(Duty.DSL_DEPUTY, [])
    school = await repository.holders(session, Role.DSL, trust_id, school_id)
    trust = await repository.holders(session, Role.TRUST_DSL, trust_id, None)
    found: list[Person] = []
    for person in [*named, *school, *trust]:
        if person[0] not in on_call and person not in found:
            found.append(person)
    return found


async def alert_at_once(session: AsyncSession, concern: Concern) -> int:
    """In the raising transaction: the day's on-call DSLs are told a concern awaits."""
    day = local_time(concern.raised_at).date()
    people = await on_call_for(session, concern.trust_id, concern.school_id, day)
    drafts = await _drafts(session, concern, people, uuid.uuid5(concern.id, "raised"))
    return len(await outbox.write(session, concern.trust_id, drafts, now=concern.raised_at))


async def plan_escalations(now: datetime) -> int:
    """The planner: escalate each urgent concern nobody has acknowledged as far as it is due.
    How many messages it wrote."""
    settings = get_settings()
    first = timedelta(minutes=settings.safeguarding_escalate_minutes)
    repeat = timedelta(minutes=settings.safeguarding_repeat_minutes)
    async with open_session(
        system_scope("escalate unacknowledged safeguarding concerns")
    ) as session:
        drafts: dict[UUID, list[outbox.Draft]] = defaultdict(list)
        for concern in await repository.unacknowledged(session, now - first):
            level = 1 + int((now - concern.raised_at - first) / repeat)
            day = local_time(now).date()
            people = [
                *await on_call_for(session, concern.trust_id, concern.school_id, day),
                *await deputies_for(session, concern.trust_id, concern.school_id, day),
            ]
            cause = uuid.uuid5(concern.id, f"escalation {level}")
            drafts[concern.trust_id] += await _drafts(session, concern, people, cause)
        written = 0
        for trust_id, for_trust in drafts.items():
            written += len(await outbox.write(session, trust_id, for_trust, now=now))
        return written


async def _drafts(
    session: AsyncSession, concern: Concern, people: list[Person], cause_id: UUID
) -> list[outbox.Draft]:
    if not people:
        log.error("a concern's school has no DSL to tell", extra={"concern": str(concern.id)})
        return []
    school = await repository.school(session, concern.school_id)
    assert school is not None, "a concern's school is kept"
    values = {
        "school_name": school.name,
        "school_phone": spoken(school.phone) if school.phone else NO_PHONE,
        "urgency": URGENCY_WORDS[concern.urgency],
    }
    mobiles = await repository.work_mobiles(session, [staff_id for staff_id, _ in people])
    drafts = []
    for staff_id, name in people:
        to_whom = [reach.staff(staff_id)]
        if staff_id in mobiles:
            to_whom.append(reach.staff_mobile(staff_id))
        drafts += [
            outbox.Draft(
                kind=MessageKind.SAFEGUARDING_CONCERN,
                school_id=concern.school_id,
                recipient=recipient,
                cause_kind=CAUSE,
                cause_id=cause_id,
                values={**values, "staff_name": first_name(name)},
            )
            for recipient in to_whom
        ]
    return drafts
