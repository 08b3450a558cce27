"""Staff members and their roles: creation with an invitation, role changes within the granting
caller's own powers, training records, deactivation. Role changes and deactivation take effect
on the caller's next request because principals are loaded fresh each time (see signin.py).

Acting on another account (its name, training, invitation, active state, unavailability) needs
power over every role it holds (`ensure_manages`): a colleague who also works at another school
or across the trust is managed by someone whose powers reach all of it. Changing roles is the
exception: a caller adds or removes only the grants within their own powers and leaves the rest.
Only the account holder sets its password, so an account that has one is never re-invited."""

from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.concurrency import save_versioned
from app.core.errors import Forbidden
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission, Role
from app.core.principal import Grant, Principal
from app.core.security import digest, new_opaque_token
from app.core.types import utcnow
from app.staff.exceptions import AccountAlreadyActive, EmailTaken, GrantNotPermitted, OwnAccount
from app.staff.models import RoleGrant, StaffMember
from app.staff.repository import SignInRepository, StaffRepository
from app.staff.schemas import (
    GrantRead,
    OwnAccountUpdate,
    RolesReplace,
    StaffCreate,
    StaffInvitation,
    StaffRead,
    StaffUpdate,
)
from app.trusts.exceptions import UnknownSchool
from app.trusts.repository import SchoolRepository

INVITATION_TTL = timedelta(days=7)


async def describe(
    session: AsyncSession, who: Principal, staff: list[StaffMember]
) -> list[StaffRead]:
    grants = await StaffRepository(session, who).grants_of(s.id for s in staff)
    return [
        StaffRead.model_validate(
            s,
            update={
                "roles": [GrantRead.model_validate(g) for g in grants.get(s.id, [])],
                "invitation_pending": s.invitation_digest is not None,
                "work_mobile": s.work_mobile if _sees_mobile(who, s) else None,
            },
        )
        for s in staff
    ]


def _sees_mobile(who: Principal, staff: StaffMember) -> bool:
    """A work mobile is its holder's and their own trust's admins' to read: not a platform
    operator's (who reads trust admins' accounts to support them, not to ring them)."""
    return staff.id == who.id or (
        who.trust_id is not None
        and who.trust_id == staff.trust_id
        and Permission.STAFF_MANAGE in who.all_permissions
    )


async def list_staff(
    session: AsyncSession,
    who: Principal,
    page: PageParams,
    *,
    school_id: UUID | None = None,
    role: Role | None = None,
    active: bool | None = None,
) -> tuple[list[StaffMember], str | None]:
    statement = StaffRepository(session, who).filtered(
        school_id=school_id, role=role, active=active
    )
    keys = [SortKey(StaffMember.full_name), SortKey(StaffMember.id)]
    return await paginate(session, statement, page, keys)


async def get_staff(session: AsyncSession, who: Principal, staff_id: UUID) -> StaffMember:
    return await StaffRepository(session, who).get(staff_id)


async def create_staff(
    session: AsyncSession, who: Principal, body: StaffCreate
) -> tuple[StaffMember, StaffInvitation]:
    """Raises GrantNotPermitted (403) for a role beyond the caller's powers, EmailTaken (409)."""
    if who.trust_id is None:
        raise Forbidden("Platform operators add a trust's first admin when creating the trust.")
    grants = {Grant(g.role, g.school_id) for g in body.roles}
    for grant in grants:
        await _ensure_may_grant(session, who, grant)
    staff = await _new_staff(session, who, who.trust_id, body.email, body.full_name)
    staff.visit_training_completed_date = body.visit_training_completed_date
    staff.work_mobile = body.work_mobile
    invitation = _issue_invitation(staff)
    _add_grants(session, who, staff, grants)
    await session.flush()
    await audit.record(
        session,
        who,
        "staff.created",
        subject_type="staff_member",
        subject_id=staff.id,
        details={"roles": _describe_grants(grants)},
    )
    return staff, invitation


async def create_first_admin(
    session: AsyncSession, who: Principal, *, trust_id: UUID, email: str, full_name: str
) -> StaffInvitation:
    grant = Grant(Role.TRUST_ADMIN, None)
    if not who.may_grant(grant):
        raise GrantNotPermitted("Only a platform operator creates a trust's first admin.")
    staff = await _new_staff(session, who, trust_id, email, full_name)
    invitation = _issue_invitation(staff)
    _add_grants(session, who, staff, {grant})
    await session.flush()
    await audit.record(
        session,
        who,
        "staff.created",
        subject_type="staff_member",
        subject_id=staff.id,
        trust_id=trust_id,
        details={"roles": ["trust_admin"]},
    )
    return invitation


async def _new_staff(
    session: AsyncSession, who: Principal, trust_id: UUID, email: str, full_name: str
) -> StaffMember:
    # Unique within the trust only: a refusal for an address used by another trust would tell
    # this trust's admins who works elsewhere. Sign-in tells the accounts apart by password.
    if await SignInRepository(session).holder_of_email(trust_id, email) is not None:
        raise EmailTaken("A staff account with this email address already exists in this trust.")
    staff = StaffMember(trust_id=trust_id, email=email, full_name=full_name)
    session.add(staff)
    await (
        session.flush()
    )  # grants reference the row; without relationships no insert order is implied
    return staff


def _issue_invitation(staff: StaffMember) -> StaffInvitation:
    token = new_opaque_token()
    staff.invitation_digest = digest(token)
    staff.invitation_expires_at = utcnow() + INVITATION_TTL
    return StaffInvitation(staff_id=staff.id, token=token, expires_at=staff.invitation_expires_at)


def _add_grants(
    session: AsyncSession, who: Principal, staff: StaffMember, grants: set[Grant]
) -> None:
    for grant in grants:
        session.add(
            RoleGrant(
                trust_id=staff.trust_id,
                staff_id=staff.id,
                role=grant.role,
                school_id=grant.school_id,
                granted_by=who.id,
            )
        )


async def _ensure_may_grant(session: AsyncSession, who: Principal, grant: Grant) -> None:
    # A school named in the body that the caller cannot see is invalid input, whether it exists
    # elsewhere or not: the same 422 either way, so nothing leaks.
    if (
        grant.school_id is not None
        and await SchoolRepository(session, who).find(grant.school_id) is None
    ):
        raise UnknownSchool(f"roles: there is no school {grant.school_id} that you can see.")
    if not who.may_grant(grant):
        where = f" at school {grant.school_id}" if grant.school_id else " across the trust"
        raise GrantNotPermitted(f"You may not grant or remove the role {grant.role}{where}.")


def _describe_grants(grants: set[Grant]) -> list[str]:
    return sorted(f"{g.role}@{g.school_id}" if g.school_id else str(g.role) for g in grants)


async def update_staff(
    session: AsyncSession, who: Principal, staff_id: UUID, body: StaffUpdate, if_match: str | None
) -> StaffMember:
    """Raises GrantNotPermitted (403) for someone else beyond the caller's powers, OwnAccount
    (409) for recording one's own training."""
    staff = await StaffRepository(session, who).get(staff_id)
    if staff.id != who.id:
        await ensure_manages(session, who, staff)
    elif "visit_training_completed_date" in body.model_fields_set:
        raise OwnAccount("Someone else records your visit training.")
    await save_versioned(session, staff, body.changes(), if_match)
    await _audit_mobile(session, who, staff, body.model_fields_set)
    return staff


async def update_own_account(
    session: AsyncSession, who: Principal, body: OwnAccountUpdate, if_match: str | None
) -> StaffMember:
    """A staff member's own work mobile (the field they keep up to date themselves)."""
    staff = await StaffRepository(session, who).get(who.id)
    await save_versioned(session, staff, body.changes(), if_match)
    await _audit_mobile(session, who, staff, body.model_fields_set)
    return staff


async def _audit_mobile(
    session: AsyncSession, who: Principal, staff: StaffMember, changed: set[str]
) -> None:
    """That the number changed, and whether one is now held: never the number."""
    if "work_mobile" not in changed:
        return
    await audit.record(
        session,
        who,
        "staff.work_mobile_changed",
        subject_type="staff_member",
        subject_id=staff.id,
        details={"held": staff.work_mobile is not None},
    )


async def replace_roles(
    session: AsyncSession, who: Principal, staff_id: UUID, body: RolesReplace, if_match: str | None
) -> StaffMember:
    """Makes the staff member's roles within the caller's powers equal to `body.roles`; roles the
    caller could not grant are kept. Raises OwnAccount (409), GrantNotPermitted (403)."""
    repository = StaffRepository(session, who)
    staff = await repository.get(staff_id)
    if staff.id == who.id:
        raise OwnAccount("You cannot change your own roles; ask another administrator.")
    current = (await repository.grants_of([staff.id])).get(staff.id, [])
    held = {Grant(g.role, g.school_id): g for g in current}
    wanted = {Grant(g.role, g.school_id) for g in body.roles}
    for grant in wanted - held.keys():
        await _ensure_may_grant(session, who, grant)
    removed = [g for g in held.keys() - wanted if who.may_grant(g)]
    added = wanted - held.keys()
    if not added and not removed:
        await save_versioned(session, staff, {}, if_match)
        return staff
    await repository.remove_grants([held[g].id for g in removed])
    _add_grants(session, who, staff, added)
    await save_versioned(session, staff, {}, if_match)
    await audit.record(
        session,
        who,
        "staff.roles_changed",
        subject_type="staff_member",
        subject_id=staff.id,
        details={"added": _describe_grants(added), "removed": _describe_grants(set(removed))},
    )
    return staff


async def set_active(
    session: AsyncSession, who: Principal, staff_id: UUID, active: bool
) -> StaffMember:
    """Deactivation ends every session at once. Only someone who could remove every one of the
    member's roles may deactivate them. Raises OwnAccount (409), GrantNotPermitted (403)."""
    staff = await StaffRepository(session, who).get(staff_id)
    if staff.id == who.id:
        raise OwnAccount("You cannot deactivate or reactivate your own account.")
    await ensure_manages(session, who, staff)
    if staff.is_active == active:
        return staff
    staff.is_active = active
    staff.deactivated_at = None if active else utcnow()
    if not active:
        await SignInRepository(session).revoke_all_sessions(staff.id, "deactivated")
    await audit.record(
        session,
        who,
        "staff.activated" if active else "staff.deactivated",
        subject_type="staff_member",
        subject_id=staff.id,
    )
    return staff


async def reissue_invitation(
    session: AsyncSession, who: Principal, staff_id: UUID
) -> StaffInvitation:
    """A new invitation for an account that has not set its password yet (the old token stops
    working). Whoever holds an invitation sets the password, so issuing one to an account in use
    would hand it over. Raises GrantNotPermitted (403), OwnAccount or AccountAlreadyActive (409)."""
    staff = await StaffRepository(session, who).get(staff_id)
    await ensure_manages(session, who, staff)
    if staff.id == who.id:
        raise OwnAccount("Ask another administrator to invite you again.")
    if staff.password_hash is not None:
        raise AccountAlreadyActive(
            "This staff member has already set a password, so nobody else can invite them "
            "again: deactivate the account if it must stop working; only the account holder "
            "sets its password."
        )
    invitation = _issue_invitation(staff)
    await audit.record(
        session, who, "staff.invited", subject_type="staff_member", subject_id=staff.id
    )
    return invitation


async def ensure_manages(session: AsyncSession, who: Principal, staff: StaffMember) -> None:
    """Raises GrantNotPermitted (403) unless the caller could grant every role `staff` holds.
    An account without roles is managed by nobody here; roles are given through PUT first."""
    grants = (await StaffRepository(session, who).grants_of([staff.id])).get(staff.id, [])
    if not grants or not all(who.may_grant(Grant(g.role, g.school_id)) for g in grants):
        raise GrantNotPermitted("This staff member holds roles beyond your powers to manage.")
