"""Signing in: the OAuth2 password and refresh-token grants, logout, invitations, and the loader
that turns a verified staff access token into a principal on every request.

Refresh tokens rotate on every use; presenting one that was already rotated means it was copied,
so the whole sign-in session is revoked. Failed logins are throttled per account and per address,
and every refusal says the same thing whether or not the account exists.

An email address is unique within a trust, not across trusts (so that adding staff reveals
nothing about other trusts), and the password tells apart the accounts that share an address:
setting a password that already opens another account with the same address is refused. Setting
a password ends every sign-in session the account had.
"""

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, ratelimit
from app.core.auth import AUDIENCES, register_principal_loader
from app.core.db import open_session
from app.core.principal import Grant, Principal, PrincipalKind
from app.core.security import (
    digest,
    hash_password,
    issue_access_token,
    new_opaque_token,
    verify_password,
)
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.staff.exceptions import InvalidGrant, InvalidInvitation, PasswordInUse
from app.staff.models import AuthSession, RefreshToken, StaffMember
from app.staff.repository import SignInRepository
from app.staff.schemas import TokenPair


def _limits() -> tuple[ratelimit.Limit, ratelimit.Limit]:
    settings = get_settings()
    message = "Too many failed sign-in attempts; wait before trying again."
    return (
        ratelimit.Limit(
            "login:account",
            settings.login_max_failures,
            settings.login_failure_window_seconds,
            message,
        ),
        ratelimit.Limit(
            "login:address",
            settings.login_max_failures * 4,
            settings.login_failure_window_seconds,
            message,
        ),
    )


async def sign_in(
    session: AsyncSession, *, email: str, password: str, ip_address: str
) -> TokenPair:
    """The password grant. Raises TooManyRequests (429) or InvalidGrant (400)."""
    email = email.strip().lower()
    by_account, by_address = _limits()
    await ratelimit.ensure_under(session, by_account, email)
    await ratelimit.ensure_under(session, by_address, ip_address)
    accounts = await SignInRepository(session).accounts_by_email(email)
    opened = _opened_by(accounts, password)
    if len(opened) != 1:
        await _count_failure(accounts, email, ip_address)
        raise InvalidGrant()
    (staff,) = opened
    await ratelimit.clear(session, by_account, email)
    staff.last_login_at = utcnow()
    principal = Principal(PrincipalKind.STAFF, staff.id, staff.trust_id)
    await audit.record(
        session,
        principal,
        "auth.login",
        subject_type="staff_member",
        subject_id=staff.id,
        ip_address=ip_address,
    )
    return await _start_session(session, staff)


def _opened_by(accounts: list[StaffMember], password: str) -> list[StaffMember]:
    """The active accounts `password` opens; one hash check even when there are none, so an
    unknown address takes as long as a wrong password."""
    usable = [s for s in accounts if s.is_active and s.password_hash is not None]
    if not usable:
        verify_password(password, None)
        return []
    return [s for s in usable if verify_password(password, s.password_hash)]


async def _count_failure(accounts: list[StaffMember], email: str, ip_address: str) -> None:
    by_account, by_address = _limits()
    await ratelimit.hit_now(by_account, email)
    await ratelimit.hit_now(by_address, ip_address)
    # One entry per account with the address, each in its own trust's log: every trust sees the
    # attempts on its own staff member, and none learns that the address is used elsewhere.
    subjects: list[StaffMember | None] = [*accounts] or [None]
    for staff in subjects:
        await audit.record_now(
            None,
            "auth.login_failed",
            subject_type="staff_member" if staff else None,
            subject_id=staff.id if staff else None,
            trust_id=staff.trust_id if staff else None,
            ip_address=ip_address,
        )


async def start_session(session: AsyncSession, staff: StaffMember) -> TokenPair:
    """A new sign-in session for `staff` (also used by the demo and tests to skip the password)."""
    return await _start_session(session, staff)


async def _start_session(session: AsyncSession, staff: StaffMember) -> TokenPair:
    auth_session = AuthSession(staff_id=staff.id)
    session.add(auth_session)
    await session.flush()
    return await _tokens(session, staff, auth_session.id)


async def _tokens(session: AsyncSession, staff: StaffMember | UUID, session_id: UUID) -> TokenPair:
    settings = get_settings()
    staff_id = staff.id if isinstance(staff, StaffMember) else staff
    access_ttl = timedelta(minutes=settings.access_token_minutes)
    refresh_ttl = timedelta(days=settings.refresh_token_days)
    access_token, _ = issue_access_token(
        subject=str(staff_id),
        audience=AUDIENCES[PrincipalKind.STAFF],
        ttl=access_ttl,
        claims={"kind": PrincipalKind.STAFF.value, "sid": str(session_id)},
    )
    refresh = new_opaque_token()
    session.add(
        RefreshToken(
            session_id=session_id, token_digest=digest(refresh), expires_at=utcnow() + refresh_ttl
        )
    )
    await session.flush()
    return TokenPair(
        access_token=access_token,
        expires_in=int(access_ttl.total_seconds()),
        refresh_token=refresh,
        refresh_expires_in=int(refresh_ttl.total_seconds()),
    )


async def refresh(session: AsyncSession, *, refresh_token: str) -> TokenPair:
    """The refresh-token grant: rotate, or revoke the whole session on reuse."""
    repository = SignInRepository(session)
    found = await repository.refresh_token(digest(refresh_token))
    if found is None:
        raise InvalidGrant("The refresh token is not valid.")
    token, auth_session = found
    if token.rotated_at is not None or not await repository.claim_rotation(token.id):
        await _revoke_for_reuse(auth_session)
        raise InvalidGrant("The refresh token was already used; sign in again.")
    if auth_session.revoked_at is not None or token.expires_at <= utcnow():
        raise InvalidGrant("The refresh token has expired or its session has ended; sign in again.")
    if await repository.live_session(auth_session.id, auth_session.staff_id) is None:
        raise InvalidGrant("The account is no longer active.")
    return await _tokens(session, auth_session.staff_id, auth_session.id)


async def _revoke_for_reuse(auth_session: AuthSession) -> None:
    # Kept in its own transaction: the refusal rolls the request back, the revocation must stand.
    # The entry carries the member's trust, or the trust's admins could never see the likely theft.
    async with open_session(system_scope("revoke a session whose refresh token was reused")) as own:
        await SignInRepository(own).revoke_session(auth_session.id, "refresh_token_reused")
        staff = await own.get(StaffMember, auth_session.staff_id)  # tenancy: system scope above
        await audit.record(
            own,
            None,
            "auth.refresh_reused",
            subject_type="staff_member",
            subject_id=auth_session.staff_id,
            trust_id=staff.trust_id if staff else None,
        )


async def sign_out(session: AsyncSession, who: Principal) -> None:
    if who.session_id is not None:
        await SignInRepository(session).revoke_session(who.session_id, "logout")
    await audit.record(session, who, "auth.logout", subject_type="staff_member", subject_id=who.id)


async def accept_invitation(
    session: AsyncSession, *, token: str, password: str, ip_address: str
) -> None:
    """Set a first password from an invitation. Raises InvalidInvitation (400), PasswordInUse
    (400) or TooManyRequests (429)."""
    limit = ratelimit.Limit("invitation:address", 20, 900, "Too many invitation attempts; wait.")
    await ratelimit.ensure_under(session, limit, ip_address)
    staff = await SignInRepository(session).staff_by_invitation(digest(token))
    expires_at = staff.invitation_expires_at if staff else None
    # An account that already has a password is its holder's: an invitation issued to it
    # (before re-invitations of such accounts were refused) must not replace that password.
    if (
        staff is None
        or expires_at is None
        or expires_at <= utcnow()
        or not staff.is_active
        or staff.password_hash is not None
    ):
        await ratelimit.hit_now(limit, ip_address)
        raise InvalidInvitation("This invitation is not valid or has expired; ask for a new one.")
    await _ensure_tells_apart(session, staff, password)
    await set_password(session, staff, password)
    principal = Principal(PrincipalKind.STAFF, staff.id, staff.trust_id)
    await audit.record(
        session,
        principal,
        "auth.invitation_accepted",
        subject_type="staff_member",
        subject_id=staff.id,
        ip_address=ip_address,
    )


async def _ensure_tells_apart(session: AsyncSession, staff: StaffMember, password: str) -> None:
    """Sign-in finds the account by address and password, so a password that already opens
    another account with this address (in another trust) would make both unreachable. The check
    is a password guess at that account, so it is throttled like a sign-in of it; the throttle
    and the hash check run whether or not there is another account, so neither reveals one."""
    by_account, _ = _limits()
    await ratelimit.ensure_under(session, by_account, staff.email)
    accounts = await SignInRepository(session).accounts_by_email(staff.email)
    if _opened_by([s for s in accounts if s.id != staff.id], password):
        await ratelimit.hit_now(by_account, staff.email)
        raise PasswordInUse(
            "Choose another password: this one already opens another Threshold account with "
            "your email address, and each account needs its own."
        )


async def set_password(session: AsyncSession, staff: StaffMember, password: str) -> None:
    """The one way a password is set. It ends every sign-in session of the account: its refresh
    tokens stop at once and its access tokens on their next request (the caller is reloaded with
    its session on every request), so whoever held the account before keeps nothing."""
    staff.password_hash = hash_password(password)
    staff.invitation_digest = None
    staff.invitation_expires_at = None
    staff.version += 1
    await SignInRepository(session).revoke_all_sessions(staff.id, "password_set")


async def load_staff_principal(session: AsyncSession, claims: dict[str, Any]) -> Principal | None:
    try:
        staff_id, session_id = UUID(claims["sub"]), UUID(claims["sid"])
    except (KeyError, ValueError):
        return None
    found = await SignInRepository(session).caller(session_id, staff_id)
    if found is None:
        return None
    trust_id, grants = found
    return Principal(
        PrincipalKind.STAFF,
        staff_id,
        trust_id,
        tuple(Grant(role, school_id) for role, school_id in grants),
        session_id,
    )


register_principal_loader(PrincipalKind.STAFF, load_staff_principal)
