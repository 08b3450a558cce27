"""Parents sign in with their invitation code, and nothing else: no accounts, no passwords.

The token names the invitation. Every request reloads it, so revoking or re-issuing the
invitation ends the parent's access at once, and the token reaches exactly one household in one
programme.
"""

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, ratelimit
from app.core.auth import AUDIENCES
from app.core.db import open_session
from app.core.errors import BadRequest
from app.core.permissions import Permission
from app.core.principal import Principal, PrincipalKind
from app.core.security import issue_access_token
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.parents import codes
from app.parents.models import Invitation
from app.parents.repository import InvitationRepository
from app.parents.schemas import ParentSession

PARENT_PERMISSIONS = frozenset({Permission.PARENT_PORTAL})


class InvalidCode(BadRequest):
    type, title = "invalid-code", "Code not recognised"


def _limits() -> tuple[ratelimit.Limit, ratelimit.Limit]:
    settings = get_settings()
    window = settings.parent_code_failure_window_seconds
    return (
        ratelimit.Limit(
            "parent_code:address",
            settings.parent_code_max_failures,
            window,
            "Too many codes that did not work from this connection; wait before trying again.",
        ),
        ratelimit.Limit(
            "parent_code:invitation",
            settings.parent_code_max_uses,
            window,
            "This code has been used too often in a short time; wait before trying again.",
        ),
    )


async def start(session: AsyncSession, *, code: str, ip_address: str) -> ParentSession:
    """Exchange a code for a parent token. Raises InvalidCode (400) or TooManyRequests (429).

    A code that matches no invitation cannot be pinned on a household, so it counts against the
    address it came from. A code that does match counts against its own invitation, every use,
    and never against its address: a stranger's wrong codes from a shared address (a school's
    wi-fi, a proxy) must not lock out the parents there. An address over its limit therefore
    still has real codes accepted, which lets it keep guessing; at 100 bits a guess never lands
    (see codes.py), so the address limit is there to turn noise away, not to keep codes secret.
    Each attempt is counted before it is answered: a burst is told "wrong" (400) no more often
    than the limit allows, the rest 429.
    """
    by_address, by_invitation = _limits()
    normal = code_in(code)
    found = await _invitation_id(normal) if normal else None
    if found is None or normal is None:
        await ratelimit.spend([(by_address, ip_address)])
        raise _invalid_code()
    await ratelimit.spend([(by_invitation, str(found))])
    invitation = await _by_code(session, normal)
    if invitation is None or not invitation.is_live(utcnow()):
        raise _invalid_code()
    invitation.last_used_at = utcnow()
    principal = _principal(invitation)
    ttl = timedelta(minutes=get_settings().parent_token_minutes)
    token, _ = issue_access_token(
        subject=str(invitation.id),
        audience=AUDIENCES[PrincipalKind.PARENT],
        ttl=ttl,
        claims={"kind": PrincipalKind.PARENT.value},
    )
    await audit.record(
        session,
        principal,
        "parent.session_started",
        subject_type="household",
        subject_id=invitation.household_id,
        trust_id=invitation.trust_id,
        school_id=invitation.school_id,
        ip_address=ip_address,
    )
    return ParentSession(
        access_token=token,
        expires_in=int(ttl.total_seconds()),
        programme_id=invitation.programme_id,
        household_id=invitation.household_id,
    )


async def _invitation_id(code: str) -> UUID | None:
    """Read in a transaction of its own: no connection is held while the attempt is counted."""
    async with open_session(system_scope("exchange a parent's invitation code")) as own:
        invitation = await _by_code(own, code)
    return invitation.id if invitation else None


def code_in(text: str) -> str | None:
    """The code from what a parent sent: the code itself, or the whole invitation link as the
    message showed it (pasted with the scheme or without, a trailing slash, in any case)."""
    return codes.normalise(_after_portal(text))


def _after_portal(text: str) -> str:
    pasted = _without_scheme(text.strip()).rstrip("/")
    portal = _without_scheme(get_settings().parent_portal_url.strip()).rstrip("/") + "/"
    # Compared slice against slice: lower() may change a string's length, but not a prefix's
    # position.
    if pasted[: len(portal)].lower() == portal.lower():
        return pasted[len(portal) :]
    return text


def _without_scheme(url: str) -> str:
    scheme, separator, rest = url.partition("://")
    return rest if separator and scheme.isascii() and scheme.isalpha() else url


async def _by_code(session: AsyncSession, code: str) -> Invitation | None:
    return await InvitationRepository(session).by_code_digest(codes.code_digest(code))


def _invalid_code() -> InvalidCode:
    return InvalidCode(
        "That code does not work: check it against the message from the school, or ask the "
        "school office for a new one."
    )


def _principal(invitation: Invitation) -> Principal:
    return _parent(
        invitation.id,
        invitation.trust_id,
        invitation.school_id,
        invitation.household_id,
        invitation.programme_id,
    )


def _parent(
    invitation_id: UUID, trust_id: UUID, school_id: UUID, household_id: UUID, programme_id: UUID
) -> Principal:
    return Principal(
        PrincipalKind.PARENT,
        invitation_id,
        trust_id,
        _extra_permissions=PARENT_PERMISSIONS,
        schools=frozenset({school_id}),
        household_id=household_id,
        programme_id=programme_id,
    )


async def load_parent_principal(session: AsyncSession, claims: dict[str, Any]) -> Principal | None:
    try:
        invitation_id = UUID(claims["sub"])
    except (KeyError, ValueError):
        return None
    held = await InvitationRepository(session).holder(invitation_id)
    if held is None or not held.is_live(utcnow()):
        return None
    return _parent(
        invitation_id, held.trust_id, held.school_id, held.household_id, held.programme_id
    )
