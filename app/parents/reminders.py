"""A reminder to families who have not answered, the programme's `answer_reminder_days` before
its window closes (at 9:00 in England that day, or at the planner's first run after it): the
same live code and link as their invitation, through the outbox. A household that has answered
(or declined), or that SLT exempted, or that left the programme's scope, is not reminded; each
invitation is reminded once (its id is the reminder's cause)."""

import logging
from collections import defaultdict
from datetime import datetime, time, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import open_session
from app.core.logs import failure
from app.core.london import LONDON, local_time
from app.core.sealing import unseal
from app.core.tenancy import Scope, system_scope
from app.notifications.exceptions import DailyCapReached
from app.notifications.models import MessageKind
from app.parents import answers_repository, codes, invitation_messages, repository
from app.parents.invitations import link
from app.parents.repository import Closing
from app.programmes.models import ProgrammeStatus, VisitProgramme

log = logging.getLogger("threshold.messages")

CAUSE = "answer_reminder"
REMIND_AT = time(9)
# A programme's reminder is never more than this before its window closes (the setting's most).
_FURTHEST = timedelta(days=31)


def reminder_moment(closes_at: datetime, days: int) -> datetime:
    """9:00 in England, `days` before the day the window closes."""
    day = local_time(closes_at).date() - timedelta(days=days)
    return datetime.combine(day, REMIND_AT, tzinfo=LONDON)


async def plan_answer_reminders(now: datetime) -> int:
    """The message planner for answer reminders (run about once a minute by the message worker).
    Each programme is written in its own transaction: one past its daily cap (logged) holds up
    no other. How many reminders were written."""
    async with open_session(system_scope("answer reminders falling due")) as session:
        closing = await repository.closing_soon(session, now, _FURTHEST)
    written = 0
    for programme in closing:
        if now < reminder_moment(programme.preferences_close_at, programme.answer_reminder_days):
            continue
        scope = Scope(trust_id=programme.trust_id, school_ids=frozenset({programme.school_id}))
        try:
            async with open_session(scope) as session:
                written += await remind(session, programme, now)
        except DailyCapReached as exc:
            log.warning(
                "answer reminders held back by the daily cap",
                extra={"programme_id": str(programme.programme_id), **failure(exc)},
            )
    return written


async def remind(session: AsyncSession, closing: Closing, now: datetime) -> int:
    programme = await session.get(VisitProgramme, closing.programme_id)  # tenancy: its trust
    if programme is None or programme.status is not ProgrammeStatus.COLLECTING:
        return 0
    unanswered = answers_repository.to_chase(programme)
    outgoing: list[tuple[UUID, UUID, str, str]] = []
    seen: defaultdict[UUID, int] = defaultdict(int)
    for invitation in await repository.live_unanswered(session, programme.id, unanswered, CAUSE):
        code = unseal(invitation.code_sealed)
        seen[invitation.household_id] += 1
        if code is None:  # sealed with a retired key: the office issues a new code
            continue
        outgoing.append((invitation.id, invitation.household_id, codes.display(code), link(code)))
    written = await invitation_messages.send_codes(
        session, programme, outgoing, kind=MessageKind.ANSWER_REMINDER, cause_kind=CAUSE
    )
    return len(written)
