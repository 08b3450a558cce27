"""Inviting households to answer: one live code per household and programme.

Codes go out by SMS once notifications exist; until then the office reads them to families.
Reading a code is audited, like any other disclosure of a secret.
"""

import uuid
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select, update

from app.core import audit
from app.core.bulk import insert_rows
from app.core.errors import NotFound
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.sealing import seal, unseal
from app.core.settings import get_settings
from app.core.types import utcnow
from app.parents import codes
from app.parents.models import Invitation
from app.parents.schemas import InvitationCode, InvitationsIssued
from app.programmes.exceptions import TransitionRefused
from app.programmes.models import HouseholdExemption, ProgrammeStatus, VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.programmes.service import ensure_household_in_scope
from app.roster.households import on_household_merge

# Long enough to cover July's answers, September's visits and the feedback survey after them.
LIFETIME = timedelta(days=120)
INVITING = frozenset({ProgrammeStatus.DRAFT, ProgrammeStatus.COLLECTING})


@on_household_merge
async def _follow_merge(session: AsyncSession, from_id: UUID, to_id: UUID) -> None:
    """The merged family's codes keep working for the household kept, unless it holds its own
    live code for that programme: one live code per household and programme."""
    kept_live = select(Invitation.programme_id).where(
        col(Invitation.household_id) == to_id, col(Invitation.revoked_at).is_(None)
    )
    await session.execute(
        update(Invitation)
        .where(
            col(Invitation.household_id) == from_id,
            col(Invitation.revoked_at).is_(None),
            col(Invitation.programme_id).in_(kept_live),
        )
        .values(revoked_at=utcnow(), revoked_reason="household_merged")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Invitation)
        .where(col(Invitation.household_id) == from_id)
        .values(household_id=to_id)
        .execution_options(synchronize_session=False)
    )


async def _programme(session: AsyncSession, who: Principal, programme_id: UUID) -> VisitProgramme:
    programme = await ProgrammeRepository(session, who).get(programme_id)
    who.ensure(Permission.FAMILIES_CHASE, programme.school_id)
    return programme


def _ensure_inviting(programme: VisitProgramme) -> None:
    if programme.status not in INVITING:
        raise TransitionRefused(
            f"Invitations are issued while a programme is a draft or collecting; it is "
            f"{programme.status}."
        )


def _new_row(programme: VisitProgramme, household_id: UUID, who: Principal) -> dict[str, Any]:
    code = codes.new_code()
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "trust_id": programme.trust_id,
        "school_id": programme.school_id,
        "programme_id": programme.id,
        "household_id": household_id,
        "code_digest": codes.code_digest(code),
        "code_sealed": seal(code),
        "issued_at": now,
        "issued_by": who.id,
        "expires_at": now + LIFETIME,
        "revoked_at": None,
        "revoked_reason": None,
        "delivered_at": None,
        "last_used_at": None,
    }


async def issue_all(session: AsyncSession, who: Principal, programme_id: UUID) -> InvitationsIssued:
    """An invitation for every household in scope that has none live and is not exempt."""
    programme = await _programme(session, who, programme_id)
    _ensure_inviting(programme)
    reached = {h for h, _, _ in await ProgrammeRepository(session, who).in_scope(programme)}
    exempt = set(
        await session.scalars(
            select(HouseholdExemption.household_id).where(
                col(HouseholdExemption.programme_id) == programme.id,
                col(HouseholdExemption.kind) == "exempt",
            )
        )
    )
    live = set(
        await session.scalars(
            select(Invitation.household_id).where(
                col(Invitation.programme_id) == programme.id,
                col(Invitation.revoked_at).is_(None),
                col(Invitation.expires_at) > utcnow(),
            )
        )
    )
    wanted = sorted(reached - exempt - live)
    await insert_rows(
        session,
        Invitation.__table__,  # type: ignore[attr-defined]
        [_new_row(programme, h, who) for h in wanted],
    )
    await _audit(session, who, programme, "invitation.issue_all", None, {"issued": len(wanted)})
    return InvitationsIssued(
        issued=len(wanted),
        already_invited=len(reached & live - exempt),
        exempt=len(reached & exempt),
    )


async def reissue(
    session: AsyncSession, who: Principal, programme_id: UUID, household_id: UUID
) -> InvitationCode:
    """A new code for one household; the old one stops working at once."""
    programme = await _programme(session, who, programme_id)
    _ensure_inviting(programme)
    await ensure_household_in_scope(session, who, programme, household_id)
    await _revoke_live(session, programme.id, household_id, "reissued")
    row = _new_row(programme, household_id, who)
    await insert_rows(session, Invitation.__table__, [row])  # type: ignore[attr-defined]
    await _audit(session, who, programme, "invitation.issue", household_id)
    return _code_of(Invitation.model_validate(row))


async def read_code(
    session: AsyncSession, who: Principal, programme_id: UUID, household_id: UUID
) -> InvitationCode:
    programme = await _programme(session, who, programme_id)
    await ensure_household_in_scope(session, who, programme, household_id)
    invitation = await _live(session, programme.id, household_id)
    if invitation is None:
        raise NotFound("This household has no live invitation; issue one.")
    await _audit(session, who, programme, "invitation.read_code", household_id)
    return _code_of(invitation)


async def revoke(
    session: AsyncSession, who: Principal, programme_id: UUID, household_id: UUID
) -> None:
    """Ends the code and every portal session made with it (checked on each request)."""
    programme = await _programme(session, who, programme_id)
    await ensure_household_in_scope(session, who, programme, household_id)
    if not await _revoke_live(session, programme.id, household_id, "revoked"):
        raise NotFound("This household has no live invitation to revoke.")
    await _audit(session, who, programme, "invitation.revoke", household_id)


async def _live(session: AsyncSession, programme_id: UUID, household_id: UUID) -> Invitation | None:
    rows = await session.scalars(
        select(Invitation)
        .where(
            col(Invitation.programme_id) == programme_id,
            col(Invitation.household_id) == household_id,
            col(Invitation.revoked_at).is_(None),
            col(Invitation.expires_at) > utcnow(),
        )
        .order_by(col(Invitation.issued_at).desc())
    )
    return rows.first()


async def _revoke_live(
    session: AsyncSession, programme_id: UUID, household_id: UUID, reason: str
) -> bool:
    result = await session.execute(
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


def _code_of(invitation: Invitation) -> InvitationCode:
    code = unseal(invitation.code_sealed)
    if code is None:
        raise NotFound(
            "This invitation's code was sealed with a key that has been retired; issue a new one."
        )
    return InvitationCode(
        invitation_id=invitation.id,
        programme_id=invitation.programme_id,
        household_id=invitation.household_id,
        code=codes.display(code),
        link=f"{get_settings().parent_portal_url.rstrip('/')}/{code}",
        issued_at=invitation.issued_at,
        expires_at=invitation.expires_at,
        delivered_at=invitation.delivered_at,
        last_used_at=invitation.last_used_at,
    )


async def _audit(
    session: AsyncSession,
    who: Principal,
    programme: VisitProgramme,
    action: str,
    household_id: UUID | None,
    details: dict[str, Any] | None = None,
) -> None:
    await audit.record(
        session,
        who,
        action,
        subject_type="household" if household_id else "visit_programme",
        subject_id=household_id or programme.id,
        school_id=programme.school_id,
        details={"programme_id": str(programme.id), **(details or {})},
    )
