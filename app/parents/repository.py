"""Reads and writes of invitations. An exchange happens before anyone is signed in, so looking a
code up crosses trusts (the code is the key); everything else runs in the caller's scope."""

from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select, update

from app.core.lean import LeanQuery, trust_of
from app.core.tenancy import scoped, system_scope
from app.core.types import utcnow
from app.notifications.models import Message
from app.parents.models import Invitation, is_live
from app.programmes.models import ProgrammeStatus, VisitProgramme
from app.roster.models import Household

_invitation = Invitation.__table__  # type: ignore[attr-defined]


class Holder(NamedTuple):
    """HOLDER's row: what a parent token reaches, and whether its code still holds."""

    trust_id: UUID
    school_id: UUID
    household_id: UUID
    programme_id: UUID
    revoked_at: datetime | None
    expires_at: datetime

    def is_live(self, now: datetime) -> bool:
        return is_live(self.revoked_at, self.expires_at, now)


HOLDER = LeanQuery(
    # tenancy-exempt: a parent token's invitation, read before the parent (so the trust) is known
    sa.select(
        _invitation.c.trust_id,
        _invitation.c.school_id,
        _invitation.c.household_id,
        _invitation.c.programme_id,
        _invitation.c.revoked_at,
        _invitation.c.expires_at,
    ).where(_invitation.c.id == sa.bindparam("invitation_id"))
)


_programme = VisitProgramme.__table__  # type: ignore[attr-defined]
_household = Household.__table__  # type: ignore[attr-defined]
# The parent's PUT: the programme (its answer window) at the parent's school, and whether the
# household is there, in one round trip. Both keep to the parent's trust.
ANSWER_TARGET = LeanQuery(
    sa.select(
        _programme.c.id,
        _programme.c.trust_id,
        _programme.c.school_id,
        _programme.c.status,
        _programme.c.visit_days,
        _programme.c.preferences_open_at,
        _programme.c.preferences_close_at,
        sa.exists()
        .where(
            _household.c.id == sa.bindparam("household_id"),
            _household.c.trust_id == sa.bindparam("trust_id"),
        )
        .label("household_found"),
    ).where(
        _programme.c.id == sa.bindparam("programme_id"),
        _programme.c.trust_id == sa.bindparam("trust_id"),
        _programme.c.school_id == sa.bindparam("school_id"),
    )
)


class AnswerTarget(NamedTuple):
    """ANSWER_TARGET's row."""

    id: UUID
    trust_id: UUID
    school_id: UUID
    status: str
    visit_days: list[str]
    preferences_open_at: datetime | None
    preferences_close_at: datetime | None
    household_found: bool


async def answer_target(
    session: AsyncSession, programme_id: UUID, household_id: UUID, school_id: UUID
) -> AnswerTarget | None:
    """See ANSWER_TARGET; None when the programme is not the parent's school's."""
    row = await ANSWER_TARGET.first(
        session,
        programme_id=programme_id,
        household_id=household_id,
        school_id=school_id,
        trust_id=trust_of(session),
    )
    return None if row is None else AnswerTarget(**row)


def _live_now() -> tuple[Any, ...]:
    """models.is_live, as SQL."""
    return col(Invitation.revoked_at).is_(None), col(Invitation.expires_at) > utcnow()


class InvitationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_code_digest(self, code_digest: str) -> Invitation | None:
        with scoped(self.session, system_scope("exchange a parent's invitation code")):
            rows = await self.session.scalars(
                select(Invitation).where(col(Invitation.code_digest) == code_digest)
            )
            return rows.one_or_none()

    async def holder(self, invitation_id: UUID) -> Holder | None:
        """What a parent token reaches, reloaded on every request so that revoking or re-issuing
        the code ends it at once. Before the parent is known: no trust yet."""
        row = await HOLDER.first(self.session, invitation_id=invitation_id)
        return None if row is None else Holder(**row)

    async def live_for(self, programme_id: UUID, households: list[UUID]) -> list[Invitation]:
        rows = await self.session.scalars(
            select(Invitation)
            .where(
                col(Invitation.programme_id) == programme_id,
                col(Invitation.household_id).in_(households),
                *_live_now(),
            )
            .order_by(col(Invitation.issued_at).desc())
        )
        return list(rows)

    async def live_households(self, programme_id: UUID) -> set[UUID]:
        rows = await self.session.scalars(
            select(Invitation.household_id).where(
                col(Invitation.programme_id) == programme_id, *_live_now()
            )
        )
        return set(rows)

    async def revoke_live(self, programme_id: UUID, household_id: UUID, reason: str) -> bool:
        result = await self.session.execute(
            update(Invitation)
            .where(
                col(Invitation.programme_id) == programme_id,
                col(Invitation.household_id) == household_id,
                col(Invitation.revoked_at).is_(None),
            )
            .values(revoked_at=utcnow(), revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_delivered(self, invitation_id: UUID, at: datetime) -> None:
        """The family has the code: its message was delivered (the first delivery counts)."""
        await self.session.execute(
            update(Invitation)
            .where(col(Invitation.id) == invitation_id, col(Invitation.delivered_at).is_(None))
            .values(delivered_at=at)
            .execution_options(synchronize_session=False)
        )

    async def follow_merge(self, from_id: UUID, to_id: UUID) -> None:
        """The merged family's codes keep working for the household kept, unless it holds its
        own live code for that programme: one live code per household and programme."""
        kept_live = select(Invitation.programme_id).where(
            col(Invitation.household_id) == to_id, col(Invitation.revoked_at).is_(None)
        )
        await self.session.execute(
            update(Invitation)
            .where(
                col(Invitation.household_id) == from_id,
                col(Invitation.revoked_at).is_(None),
                col(Invitation.programme_id).in_(kept_live),
            )
            .values(revoked_at=utcnow(), revoked_reason="household_merged")
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(Invitation)
            .where(col(Invitation.household_id) == from_id)
            .values(household_id=to_id)
            .execution_options(synchronize_session=False)
        )


class Closing(NamedTuple):
    trust_id: UUID
    school_id: UUID
    programme_id: UUID
    preferences_close_at: datetime
    answer_reminder_days: int


async def closing_soon(session: AsyncSession, now: datetime, within: timedelta) -> list[Closing]:
    """Every trust's programmes collecting answers whose window closes within `within` and that
    remind families at all: those whose answer reminders may be due. The planner reads across
    trusts and writes each programme's messages in its own trust's scope."""
    rows = await session.execute(
        sa.select(  # tenancy: the answer-reminder planner's system scope, across trusts by design
            col(VisitProgramme.trust_id),
            col(VisitProgramme.school_id),
            col(VisitProgramme.id),
            col(VisitProgramme.preferences_close_at),
            col(VisitProgramme.answer_reminder_days),
        ).where(
            col(VisitProgramme.status) == ProgrammeStatus.COLLECTING,
            col(VisitProgramme.answer_reminder_days) > 0,
            col(VisitProgramme.preferences_close_at) > now,
            col(VisitProgramme.preferences_close_at) <= now + within,
        )
    )
    return [Closing(t, s, p, closes, days) for t, s, p, closes, days in rows.all() if closes]


async def live_unanswered(
    session: AsyncSession, programme_id: UUID, households: Select[Any], cause_kind: str
) -> list[Invitation]:
    """The programme's live invitations of `households` (a statement of household ids) that no
    message of `cause_kind` has followed yet: those still to remind."""
    reminded = select(Message.cause_id).where(col(Message.cause_kind) == cause_kind)
    rows = await session.scalars(
        select(Invitation).where(
            col(Invitation.programme_id) == programme_id,
            col(Invitation.household_id).in_(households),
            col(Invitation.id).not_in(reminded),
            *_live_now(),
        )
    )
    return list(rows)
