"""Invitations leave through the outbox: each one issued writes, in the same transaction, the
message that carries its code to the family (by text, email or a letter: see notifications.reach);
and the office may ask for the same code to be sent again."""

import uuid
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.notifications import outbox, reach
from app.notifications.models import MessageKind
from app.programmes.messages import family_names, school_values
from app.programmes.models import VisitProgramme

CAUSE = "invitation"
# A resend the office asked for: a cause of its own, new on each request, so asking twice sends
# twice (the request's Idempotency-Key keeps a retried request to one).
RESEND_CAUSE = "invitation_resend"


async def send_codes(
    session: AsyncSession,
    programme: VisitProgramme,
    issued: Sequence[tuple[UUID, UUID, str, str]],
    *,
    kind: MessageKind = MessageKind.INVITATION,
    cause_kind: str = CAUSE,
) -> list[UUID]:
    """`issued`: (cause id, household id, code as shown, link) for each household; the cause is
    the invitation for an invitation or a reminder. The ids of the messages written."""
    if not issued:
        return []
    households = [household for _, household, _, _ in issued]
    recipients = await reach.families(session, programme.trust_id, households)
    names = await family_names(session, programme, households)
    common = await school_values(session, programme)
    drafts = [
        outbox.Draft(
            kind=kind,
            school_id=programme.school_id,
            programme_id=programme.id,
            household_id=household,
            recipient=recipients[household],
            cause_kind=cause_kind,
            cause_id=cause,
            values={**common, "family_name": names[household], "code": code, "link": link},
        )
        for cause, household, code, link in issued
    ]
    return await outbox.write(session, programme.trust_id, drafts)


async def resend_code(
    session: AsyncSession, programme: VisitProgramme, household_id: UUID, code: str, link: str
) -> UUID:
    """The household's live code once more, as a new message; its id."""
    written = await send_codes(
        session, programme, [(uuid.uuid4(), household_id, code, link)], cause_kind=RESEND_CAUSE
    )
    return written[0]
