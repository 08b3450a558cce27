"""Inviting households to answer: one live code per household and programme.

Each code issued goes out in the same transaction through the outbox (text, email or a letter
for the office to post: app/parents/invitation_messages.py). The office can also read a code to
a family on the phone; reading it is audited, like any other disclosure of a secret.
"""

import uuid
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.bulk import insert_rows
from app.core.errors import NotFound
from app.core.models import FIRST_VERSION
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.sealing import seal, unseal
from app.core.settings import get_settings
from app.core.types import utcnow
from app.notifications.models import Message, MessageKind
from app.parents import answers_repository, codes, invitation_messages, messages
from app.parents.answers_models import HouseholdAnswer
from app.parents.models import Invitation
from app.parents.repository import InvitationRepository
from app.parents.schemas import InvitationCode, InvitationResent, InvitationsIssued
from app.programmes.exceptions import TransitionRefused
from app.programmes.models import ProgrammeStatus, VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.programmes.service import ensure_household_in_scope
from app.roster.households import move_programme_rows

# Long enough to cover July's answers, September's visits and the feedback survey after them.
LIFETIME = timedelta(days=120)
INVITING = frozenset({ProgrammeStatus.DRAFT, ProgrammeStatus.COLLECTING})


async def follow_household_merge(session: AsyncSession, from_id: UUID, to_id: UUID) -> None:
    """A merged family's answers and invitation codes follow it to the household kept: the
    parents' side of a programme-household pair, moved in one place."""
    await move_programme_rows(session, HouseholdAnswer, from_id, to_id)
    await InvitationRepository(session).follow_merge(from_id, to_id)


async def mark_delivered(session: AsyncSession, message: Message) -> None:
    """A delivery hook (app/registry.py): an invitation's message delivered means the family
    holds its code, which the chase list shows."""
    if message.kind is MessageKind.INVITATION and message.cause_kind == invitation_messages.CAUSE:
        await InvitationRepository(session).mark_delivered(
            message.cause_id, message.delivered_at or utcnow()
        )


def _ensure_inviting(programme: VisitProgramme) -> None:
    if programme.status not in INVITING:
        raise TransitionRefused(
            f"Invitations are issued while a programme is a draft or collecting; it is "
            f"{programme.status}."
        )


def _new_invitation(
    programme: VisitProgramme, household_id: UUID, who: Principal
) -> tuple[dict[str, Any], str]:
    """An invitation's row, and its code in the clear (for its message, never stored so)."""
    code = codes.new_code()
    now = utcnow()
    row = {
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
        "version": FIRST_VERSION,
    }
    return row, code


def _outgoing(row: dict[str, Any], code: str) -> tuple[UUID, UUID, str, str]:
    return row["id"], row["household_id"], codes.display(code), link(code)


def link(code: str) -> str:
    return f"{get_settings().parent_portal_url.rstrip('/')}/{code}"


async def issue_all(session: AsyncSession, who: Principal, programme_id: UUID) -> InvitationsIssued:
    """An invitation for every household in scope that has none live and is not exempt."""
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(programme_id, Permission.FAMILIES_CHASE)
    _ensure_inviting(programme)
    reached = {h for h, _, _ in await programmes.in_scope(programme)}
    kinds = await answers_repository.exemption_kinds(session, programme.id)
    exempt = {h for h, kind in kinds.items() if kind == "exempt"}
    live = await InvitationRepository(session).live_households(programme.id)
    wanted = sorted(reached - exempt - live)
    new = [_new_invitation(programme, h, who) for h in wanted]
    await insert_rows(session, Invitation.__table__, [row for row, _ in new])  # type: ignore[attr-defined]
    await invitation_messages.send_codes(
        session, programme, [_outgoing(row, code) for row, code in new]
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
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(programme_id, Permission.FAMILIES_CHASE)
    _ensure_inviting(programme)
    await ensure_household_in_scope(session, who, programme, household_id)
    await InvitationRepository(session).revoke_live(programme.id, household_id, "reissued")
    row, code = _new_invitation(programme, household_id, who)
    await insert_rows(session, Invitation.__table__, [row])  # type: ignore[attr-defined]
    await invitation_messages.send_codes(session, programme, [_outgoing(row, code)])
    await _audit(session, who, programme, "invitation.issue", household_id)
    return await _with_delivery(session, _code_of(Invitation.model_validate(row)))


async def read_code(
    session: AsyncSession, who: Principal, programme_id: UUID, household_id: UUID
) -> InvitationCode:
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(programme_id, Permission.FAMILIES_CHASE)
    await ensure_household_in_scope(session, who, programme, household_id)
    found = await InvitationRepository(session).live_for(programme.id, [household_id])
    if not found:
        raise NotFound("This household has no live invitation; issue one.")
    await _audit(session, who, programme, "invitation.read_code", household_id)
    return await _with_delivery(session, _code_of(found[0]))


async def _with_delivery(session: AsyncSession, code: InvitationCode) -> InvitationCode:
    """The code with how its message went (or will go) to the family."""
    found = await messages.invitation_deliveries(session, code.programme_id, [code.invitation_id])
    return code.model_copy(update={"delivery": found[code.invitation_id]})


async def resend(
    session: AsyncSession, who: Principal, programme_id: UUID, household_id: UUID
) -> InvitationResent:
    """The household's live code sent again, as the office asked (a family lost the text); the
    code does not change. 404 when the household has no live invitation."""
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(programme_id, Permission.FAMILIES_CHASE)
    await ensure_household_in_scope(session, who, programme, household_id)
    found = await InvitationRepository(session).live_for(programme.id, [household_id])
    if not found:
        raise NotFound("This household has no live invitation to send again; issue one.")
    code = unseal(found[0].code_sealed)
    if code is None:
        raise NotFound(
            "This invitation's code was sealed with a key that has been retired; issue a new one."
        )
    message_id = await invitation_messages.resend_code(
        session, programme, household_id, codes.display(code), link(code)
    )
    await _audit(
        session, who, programme, "invitation.resend", household_id, {"message_id": str(message_id)}
    )
    return InvitationResent(
        invitation_id=found[0].id, household_id=household_id, message_id=message_id
    )


async def revoke(
    session: AsyncSession, who: Principal, programme_id: UUID, household_id: UUID
) -> None:
    """Ends the code and every portal session made with it (checked on each request)."""
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(programme_id, Permission.FAMILIES_CHASE)
    await ensure_household_in_scope(session, who, programme, household_id)
    if not await InvitationRepository(session).revoke_live(programme.id, household_id, "revoked"):
        raise NotFound("This household has no live invitation to revoke.")
    await _audit(session, who, programme, "invitation.revoke", household_id)


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
        link=link(code),
        issued_at=invitation.issued_at,
        expires_at=invitation.expires_at,
        delivered_at=invitation.delivered_at,
        last_used_at=invitation.last_used_at,
        version=invitation.version,
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
