"""Reads and writes of invitations. An exchange happens before anyone is signed in, so looking a
code up crosses trusts (the code is the key); everything else runs in the caller's scope."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select, update

from app.core.tenancy import scoped, system_scope
from app.core.types import utcnow
from app.parents.models import Invitation


class InvitationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_code_digest(self, code_digest: str) -> Invitation | None:
        with scoped(self.session, system_scope("exchange a parent's invitation code")):
            rows = await self.session.scalars(
                select(Invitation).where(col(Invitation.code_digest) == code_digest)
            )
            return rows.one_or_none()

    async def by_id(self, invitation_id: UUID) -> Invitation | None:
        with scoped(self.session, system_scope("load a parent's invitation")):
            rows = await self.session.scalars(
                select(Invitation).where(col(Invitation.id) == invitation_id)
            )
            return rows.one_or_none()

    async def live_for(self, programme_id: UUID, households: list[UUID]) -> list[Invitation]:
        rows = await self.session.scalars(
            select(Invitation)
            .where(
                col(Invitation.programme_id) == programme_id,
                col(Invitation.household_id).in_(households),
                col(Invitation.revoked_at).is_(None),
                col(Invitation.expires_at) > utcnow(),
            )
            .order_by(col(Invitation.issued_at).desc())
        )
        return list(rows)

    async def live_households(self, programme_id: UUID) -> set[UUID]:
        rows = await self.session.scalars(
            select(Invitation.household_id).where(
                col(Invitation.programme_id) == programme_id,
                col(Invitation.revoked_at).is_(None),
                col(Invitation.expires_at) > utcnow(),
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
