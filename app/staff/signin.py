"""Signing in: the OAuth2 password and refresh-token grants, logout, invitations, and the loader
that turns a verified staff access token into a principal on every request.

Refresh tokens rotate on every use; presenting one that was already rotated means it was copied,
so the whole sign-in session is revoked. Failed logins are throttled per account and per address
(an account is exempt from its address's count once it has signed in from there), and every
refusal says the same thing, after the same work, whether or not the account exists.

An email address is unique within a trust, not across trusts (so that adding staff reveals
nothing about other trusts), and the password tells apart the accounts that share an address:
setting a password that already opens another account with the same address is refused. Setting
a password ends every sign-in session the account had.

Password hashes are computed in threads, a few at a time (core/security.py), and no database
connection is held meanwhile: what a check needs is read in a short transaction of its own, and
the request's session is used only once the password is right.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, ratelimit
from app.core.auth import AUDIENCES
from app.core.db import open_session
from app.core.principal import Grant, Principal, PrincipalKind
from app.core.security import (
    PasswordChecksBusy,
    digest,
    hash_password_unless_opens_off_loop,
    issue_access_token,
    new_opaque_token,
    verify_passwords_off_loop,
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


def _known_addresses() -> ratelimit.Mark:
    return ratelimit.Mark("login:known", get_settings().login_known_address_days * 86_400)


def _pair(email: str, ip_address: str) -> str:
    return f"{email}\n{ip_address}"


@dataclass(frozen=True)
class _Account:
    """What checking a password needs of an account, read before the check."""

    id: UUID
    trust_id: UUID | None
    password_hash: str | None  # None when the account cannot sign in (inactive, not set up)

    @classmethod
    def of(cls, staff: StaffMember) -> "_Account":
        usable = staff.is_active and staff.password_hash is not None
        return cls(staff.id, staff.trust_id, staff.password_hash if usable else None)


async def sign_in(
    session: AsyncSession, *, email: str, password: str, ip_address: str
) -> TokenPair:
    """The password grant. Raises TooManyRequests (429), InvalidGrant (400) or
    PasswordChecksBusy (503).

    The attempt is counted before the password is checked, so a burst gets no more checks than
    the limits allow, and given back when it succeeds. No database connection is held while the
    password is checked: the accounts are read in a short transaction of its own, failures are
    recorded in another, and the request's session is used only once the password is right.
    An unknown address costs the same reads and one argon2 check as an address with an account.
    """
    email = email.strip().lower()
    accounts, known_here = await _look_up(email, ip_address)
    reserved = await ratelimit.spend(_throttles(email, ip_address, known_here))
    opened = await _opened_by(accounts, password, reserved)
    if len(opened) != 1:
        await _record_failure(accounts, ip_address)
        raise InvalidGrant()
    staff = await _reloaded(session, email, opened[0])
    await _forget_failures(session, email, ip_address, reserved)
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


def _throttles(email: str, ip_address: str, known_here: bool) -> list[tuple[ratelimit.Limit, str]]:
    """The account always, and the address unless this account signed in from it lately: a
    stranger's failures from a shared address (a school's network, a proxy) must not lock out
    the people who work there. Guesses at their accounts still meet each account's own limit."""
    by_account, by_address = _limits()
    if known_here:
        return [(by_account, email)]
    return [(by_account, email), (by_address, ip_address)]


async def _look_up(email: str, ip_address: str) -> tuple[list[_Account], bool]:
    """The accounts with the address, and whether it signed in from this address lately."""
    async with open_session(system_scope("sign-in looks the account up by email")) as own:
        staff = await SignInRepository(own).accounts_by_email(email)
        pair = _pair(email, ip_address)
        known_here = await ratelimit.remembered(own, _known_addresses(), pair)
    return [_Account.of(s) for s in staff], known_here


async def _opened_by(
    accounts: list[_Account], password: str, reserved: list[UUID]
) -> list[_Account]:
    """The active accounts `password` opens; one hash check even when there are none, so an
    unknown address takes as long as a wrong password. A check that never ran (the checks
    were all busy) gives its uses back: it was no failure."""
    usable = [(a, a.password_hash) for a in accounts if a.password_hash is not None]
    try:
        matches = await verify_passwords_off_loop(password, [stored for _, stored in usable])
    except PasswordChecksBusy:
        await ratelimit.give_back_now(reserved)
        raise
    return [account for (account, _), matched in zip(usable, matches, strict=True) if matched]


async def _reloaded(session: AsyncSession, email: str, account: _Account) -> StaffMember:
    """The account, in the request's session, unless it changed while its password was checked."""
    for staff in await SignInRepository(session).accounts_by_email(email):
        if staff.id == account.id and _Account.of(staff) == account:
            return staff
    raise InvalidGrant()


async def _record_failure(accounts: list[_Account], ip_address: str) -> None:
    # Its own transaction: the refusal rolls the request back, the entry must stand. The
    # attempt's uses stay spent: they are the failure's count. One entry per account with the
    # address, each in its own trust's log: every trust sees the attempts on its own staff
    # member, and none learns that the address is used elsewhere.
    subjects: list[_Account | None] = [*accounts] or [None]
    for account in subjects:
        await audit.record_now(
            None,
            "auth.login_failed",
            subject_type="staff_member" if account else None,
            subject_id=account.id if account else None,
            trust_id=account.trust_id if account else None,
            ip_address=ip_address,
        )


async def _forget_failures(
    session: AsyncSession, email: str, ip_address: str, reserved: list[UUID]
) -> None:
    by_account, _ = _limits()
    await ratelimit.give_back(session, reserved)
    await ratelimit.clear(session, by_account, email)
    await ratelimit.remember(session, _known_addresses(), _pair(email, ip_address))


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
    if await repository.caller(auth_session.id, auth_session.staff_id) is None:
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
    (400), TooManyRequests (429) or PasswordChecksBusy (503).

    Like signing in: each throttle is counted before its check and given back when the check
    passes, and the password is checked and hashed with no database connection held (the
    invitation is read before, and again after).
    """
    invitation = digest(token)
    address_use = await ratelimit.spend([(_invitation_limit(), ip_address)])
    invited = await _invited_account(invitation)
    if invited is None:
        raise _invalid_invitation()
    await ratelimit.give_back_now(address_use)  # a real invitation: no failure of the address
    password_hash = await _distinct_password_hash(invited, password)
    repository = SignInRepository(session)
    staff = await repository.staff_by_invitation(invitation)
    if staff is None or not _invited(staff):  # accepted or withdrawn in the meantime
        raise _invalid_invitation()
    if not await repository.spend_invitation(staff.id, invitation):  # accepted just now
        raise _invalid_invitation()
    await set_password_hash(session, staff, password_hash)
    principal = Principal(PrincipalKind.STAFF, staff.id, staff.trust_id)
    await audit.record(
        session,
        principal,
        "auth.invitation_accepted",
        subject_type="staff_member",
        subject_id=staff.id,
        ip_address=ip_address,
    )


def _invitation_limit() -> ratelimit.Limit:
    return ratelimit.Limit("invitation:address", 20, 900, "Too many invitation attempts; wait.")


@dataclass(frozen=True)
class _Invited:
    email: str
    others: list[str]  # the password hashes of the other active accounts with the address


async def _invited_account(invitation_digest: str) -> _Invited | None:
    async with open_session(system_scope("an invitation names its staff member")) as own:
        repository = SignInRepository(own)
        staff = await repository.staff_by_invitation(invitation_digest)
        if staff is None or not _invited(staff):
            return None
        accounts = await repository.accounts_by_email(staff.email)
    others = [_Account.of(s).password_hash for s in accounts if s.id != staff.id]
    return _Invited(staff.email, [h for h in others if h is not None])


def _invited(staff: StaffMember) -> bool:
    # An account that already has a password is its holder's: an invitation issued to it
    # (before re-invitations of such accounts were refused) must not replace that password.
    expires_at = staff.invitation_expires_at
    return (
        expires_at is not None
        and expires_at > utcnow()
        and staff.is_active
        and staff.password_hash is None
    )


def _invalid_invitation() -> InvalidInvitation:
    return InvalidInvitation("This invitation is not valid or has expired; ask for a new one.")


async def _distinct_password_hash(invited: _Invited, password: str) -> str:
    """The new password's hash, unless it already opens another account with the address (in
    another trust): sign-in finds the account by address and password, so both would become
    unreachable. The check is a password guess at that account, so it is throttled like a
    sign-in of it; the throttle and the hash check run whether or not there is another account,
    so neither reveals one."""
    by_account, _ = _limits()
    uses = await ratelimit.spend([(by_account, invited.email)])
    try:
        password_hash = await hash_password_unless_opens_off_loop(password, invited.others)
    except PasswordChecksBusy:
        await ratelimit.give_back_now(uses)
        raise
    if password_hash is None:  # the guess opened an account: it stays counted
        raise PasswordInUse(
            "Choose another password: this one already opens another Threshold account with "
            "your email address, and each account needs its own."
        )
    await ratelimit.give_back_now(uses)
    return password_hash


async def set_password_hash(session: AsyncSession, staff: StaffMember, password_hash: str) -> None:
    """The one way a password is set. It ends every sign-in session of the account: its refresh
    tokens stop at once and its access tokens on their next request (the caller is reloaded with
    its session on every request), so whoever held the account before keeps nothing."""
    staff.password_hash = password_hash
    staff.invitation_digest = None
    staff.invitation_expires_at = None
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
