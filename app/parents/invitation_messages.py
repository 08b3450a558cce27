"""Invitations leave through the outbox: each one issued writes, in the same transaction, the
message that carries its code to the family (by text, email or letter: see notifications.reach)."""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.london import local_time
from app.core.principal import Principal
from app.notifications import outbox, reach
from app.notifications.models import MessageKind
from app.programmes.households import family_labels
from app.programmes.models import VisitProgramme
from app.trusts.repository import SchoolRepository

CAUSE = "invitation"


async def send_codes(
    session: AsyncSession,
    who: Principal,
    programme: VisitProgramme,
    issued: Sequence[tuple[UUID, UUID, str, str]],
) -> None:
    """`issued`: (invitation id, household id, code as shown, link) for each new invitation."""
    if not issued:
        return
    households = [household for _, household, _, _ in issued]
    recipients = await reach.families(session, programme.trust_id, households)
    labels = await family_labels(session, who, programme, households)
    common = await school_values(session, who, programme)
    drafts = [
        outbox.Draft(
            kind=MessageKind.INVITATION,
            school_id=programme.school_id,
            programme_id=programme.id,
            household_id=household,
            recipient=recipients[household],
            cause_kind=CAUSE,
            cause_id=invitation,
            values={**common, "family_name": labels[household].name, "code": code, "link": link},
        )
        for invitation, household, code, link in issued
    ]
    await outbox.write(session, programme.trust_id, drafts)


async def school_values(
    session: AsyncSession, who: Principal, programme: VisitProgramme
) -> dict[str, str]:
    """What every family message of a programme says about the school and its deadline."""
    school = await SchoolRepository(session, who).get(programme.school_id)
    closes = programme.preferences_close_at
    return {
        "school_name": school.name,
        "school_phone": getattr(school, "phone", None) or "the school office",
        "closes_on": local_time(closes).strftime("%A %-d %B") if closes else "the date given",
    }
