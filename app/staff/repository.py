from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import Select, and_, false, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, select, update

from app.core.lean import LeanQuery
from app.core.permissions import Permission, Role
from app.core.repository import ScopedRepository
from app.core.tenancy import scoped, system_scope
from app.core.types import utcnow
from app.staff.models import (
    AuthSession,
    RefreshToken,
    RoleGrant,
    StaffMember,
    StaffUnavailability,
)


class StaffRepository(ScopedRepository[StaffMember]):
    model, label = StaffMember, "staff member"

    def base_statement(self) -> Select[Any]:
        statement = select(StaffMember)
        if self.principal.is_platform_admin:
            # Operators look after trust admins, not a trust's whole workforce.
            admins = select(RoleGrant.staff_id).where(
                RoleGrant.role.in_([Role.TRUST_ADMIN, Role.PLATFORM_ADMIN])  # type: ignore[attr-defined]
            )
            return statement.where(StaffMember.id.in_(admins))  # type: ignore[attr-defined]
        schools = self.principal.schools_with(Permission.STAFF_READ)
        if schools is not None:
            # Staff see themselves and the colleagues who hold a role at a school where they may
            # read staff: a teacher at one school who is an admin at another sees the other's.
            colleagues = select(RoleGrant.staff_id).where(col(RoleGrant.school_id).in_(schools))
            statement = statement.where(
                or_(col(StaffMember.id).in_(colleagues), col(StaffMember.id) == self.principal.id)
            )
        return statement

    def filtered(
        self, *, school_id: UUID | None, role: Role | None, active: bool | None
    ) -> Select[Any]:
        statement = self.base_statement()
        if school_id is not None or role is not None:
            holders = select(RoleGrant.staff_id)
            if school_id is not None:
                holders = holders.where(RoleGrant.school_id == school_id)
            if role is not None:
                holders = holders.where(RoleGrant.role == role)
            statement = statement.where(StaffMember.id.in_(holders))  # type: ignore[attr-defined]
        if active is not None:
            statement = statement.where(StaffMember.is_active.is_(active))  # type: ignore[attr-defined]
        return statement

    async def grants_of(self, staff_ids: Iterable[UUID]) -> dict[UUID, list[RoleGrant]]:
        """Every grant of a page of staff in one query (never one query per row)."""
        ids = list(staff_ids)
        by_staff: dict[UUID, list[RoleGrant]] = defaultdict(list)
        if not ids:
            return by_staff
        rows = await self.session.scalars(
            select(RoleGrant)
            .where(RoleGrant.staff_id.in_(ids))  # type: ignore[attr-defined]
            .order_by(col(RoleGrant.role), col(RoleGrant.school_id))
        )
        for grant in rows:
            by_staff[grant.staff_id].append(grant)
        return by_staff

    async def remove_grants(self, grant_ids: list[UUID]) -> None:
        if grant_ids:
            await self.session.execute(
                delete(RoleGrant).where(RoleGrant.id.in_(grant_ids))  # type: ignore[attr-defined]
            )

    async def people(self, staff_ids: Iterable[UUID]) -> dict[UUID, StaffMember]:
        """Staff of the trust by id, beyond the caller's schools: a programme's team may name
        trust-level staff a school's SLT cannot list. The trust floor still applies."""
        ids = list(staff_ids)
        if not ids:
            return {}
        rows = await self.session.scalars(select(StaffMember).where(col(StaffMember.id).in_(ids)))
        return {s.id: s for s in rows}

    async def on_staff_of(self, school_id: UUID, staff_ids: Iterable[UUID]) -> set[UUID]:
        """Which of `staff_ids` hold a role at the school or a trust-level role."""
        ids = list(staff_ids)
        if not ids:
            return set()
        rows = await self.session.scalars(
            select(RoleGrant.staff_id).where(
                col(RoleGrant.staff_id).in_(ids),
                or_(col(RoleGrant.school_id) == school_id, col(RoleGrant.school_id).is_(None)),
                col(RoleGrant.role) != Role.PLATFORM_ADMIN,
            )
        )
        return set(rows)


UNAVAILABILITY_COLUMNS = (
    col(StaffUnavailability.id),
    col(StaffUnavailability.staff_id),
    col(StaffUnavailability.starts_at),
    col(StaffUnavailability.ends_at),
    col(StaffUnavailability.reason),
    col(StaffUnavailability.recorded_by),
    col(StaffUnavailability.created_at),
)


class UnavailabilityRepository(ScopedRepository[StaffUnavailability]):
    """Periods staff cannot visit, of the staff the caller can see (see StaffRepository)."""

    model, label = StaffUnavailability, "unavailability period"

    def base_statement(self) -> Select[Any]:
        visible = StaffRepository(self.session, self.principal).base_statement()
        staff_ids = visible.with_only_columns(col(StaffMember.id))
        return select(StaffUnavailability).where(col(StaffUnavailability.staff_id).in_(staff_ids))

    def of_staff(self, staff_id: UUID) -> Select[Any]:
        return self.base_statement().where(col(StaffUnavailability.staff_id) == staff_id)

    async def exists(self, staff_id: UUID, starts_at: datetime, ends_at: datetime) -> bool:
        found = await self.session.scalar(
            select(StaffUnavailability.id).where(
                col(StaffUnavailability.staff_id) == staff_id,
                col(StaffUnavailability.starts_at) == starts_at,
                col(StaffUnavailability.ends_at) == ends_at,
            )
        )
        return found is not None

    def overlapping(
        self, school_id: UUID, also: Iterable[UUID], windows: Iterable[tuple[datetime, datetime]]
    ) -> Select[Any]:
        """Periods overlapping any window, of staff holding a role at the school or named in
        `also`, with their names. The caller has already loaded the school through its scope;
        trust-level staff on the school's teams are included even though SLT cannot list them."""
        at_school = select(RoleGrant.staff_id).where(col(RoleGrant.school_id) == school_id)
        overlaps = [
            and_(
                col(StaffUnavailability.starts_at) < ends, col(StaffUnavailability.ends_at) > starts
            )
            for starts, ends in windows
        ]
        columns: Any = sa.select(*UNAVAILABILITY_COLUMNS, col(StaffMember.full_name))
        statement: Select[Any] = columns.join(
            StaffMember, col(StaffMember.id) == col(StaffUnavailability.staff_id)
        ).where(
            or_(
                col(StaffUnavailability.staff_id).in_(at_school),
                col(StaffUnavailability.staff_id).in_(list(also)),
            ),
            or_(false(), *overlaps),
        )
        return statement


_session_table = AuthSession.__table__  # type: ignore[attr-defined]
_staff_table = StaffMember.__table__  # type: ignore[attr-defined]
_grant_table = RoleGrant.__table__  # type: ignore[attr-defined]

# Every request's first query: the token's sign-in session and account, still live, with the
# member's grants, in one round trip. It runs before anyone is known, so it has no trust.
CALLER = LeanQuery(
    # tenancy-exempt: the token's sign-in session, read before the caller (so the trust) is known
    sa.select(_staff_table.c.trust_id, _grant_table.c.role, _grant_table.c.school_id)
    .select_from(_session_table)
    .join(_staff_table, _staff_table.c.id == _session_table.c.staff_id)
    .outerjoin(_grant_table, _grant_table.c.staff_id == _staff_table.c.id)
    .where(
        _session_table.c.id == sa.bindparam("session_id"),
        _session_table.c.staff_id == sa.bindparam("staff_id"),
        _session_table.c.revoked_at.is_(None),
        _staff_table.c.is_active.is_(True),
    )
)


class SignInRepository:
    """Queries behind signing in. They run before anyone is known, so they open a system scope."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def accounts_by_email(self, email: str) -> list[StaffMember]:
        """Every account with the address, in any trust: sign-in tells them apart by password."""
        with scoped(self.session, system_scope("sign-in looks the account up by email")):
            rows = await self.session.scalars(
                select(StaffMember)
                .where(StaffMember.email == email)
                .order_by(col(StaffMember.created_at), col(StaffMember.id))
            )
            return list(rows)

    async def holder_of_email(self, trust_id: UUID | None, email: str) -> StaffMember | None:
        """The account with the address in one trust (None: among platform operators), which is
        all a trust may learn about an address."""
        with scoped(self.session, system_scope("an address is unique within its trust")):
            return (
                await self.session.scalars(
                    select(StaffMember).where(
                        StaffMember.email == email,
                        col(StaffMember.trust_id).is_(None)
                        if trust_id is None
                        else col(StaffMember.trust_id) == trust_id,
                    )
                )
            ).one_or_none()

    async def staff_by_invitation(self, invitation_digest: str) -> StaffMember | None:
        with scoped(self.session, system_scope("an invitation names its staff member")):
            return (
                await self.session.scalars(
                    select(StaffMember).where(StaffMember.invitation_digest == invitation_digest)
                )
            ).one_or_none()

    async def spend_invitation(self, staff_id: UUID, invitation_digest: str) -> bool:
        """Take the invitation off the account, only if it still holds this one: of two
        acceptances at once, exactly one finds it (the UPDATE's condition decides, on SQLite's
        single writer as under PostgreSQL's row lock), so only one password is ever set."""
        with scoped(self.session, system_scope("an invitation names its staff member")):
            spent = await self.session.execute(
                update(StaffMember)
                .where(
                    col(StaffMember.id) == staff_id,
                    col(StaffMember.invitation_digest) == invitation_digest,
                )
                .values(invitation_digest=None, invitation_expires_at=None)
                .execution_options(synchronize_session=False)
            )
        return spent.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    async def caller(
        self, session_id: UUID, staff_id: UUID
    ) -> tuple[UUID | None, list[tuple[Role, UUID | None]]] | None:
        """The trust and grants of the member behind an access token (or a refresh token), if
        its session and account are still live; None otherwise. The one test of a live session."""
        rows = await CALLER.all(self.session, session_id=session_id, staff_id=staff_id)
        if not rows:
            return None
        grants = [(Role(r["role"]), r["school_id"]) for r in rows if r["role"] is not None]
        return rows[0]["trust_id"], grants

    async def refresh_token(self, token_digest: str) -> tuple[RefreshToken, AuthSession] | None:
        row = (
            await self.session.execute(
                select(RefreshToken, AuthSession)
                .join(AuthSession, AuthSession.id == RefreshToken.session_id)  # type: ignore[arg-type]
                .where(RefreshToken.token_digest == token_digest)
            )
        ).one_or_none()
        return (row[0], row[1]) if row else None

    async def claim_rotation(self, token_id: UUID) -> bool:
        """Mark a refresh token used; False if another request used it first."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(col(RefreshToken.id) == token_id, col(RefreshToken.rotated_at).is_(None))
            .values(rotated_at=utcnow())
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    async def revoke_session(self, session_id: UUID, reason: str) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(col(AuthSession.id) == session_id, col(AuthSession.revoked_at).is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )

    async def revoke_all_sessions(self, staff_id: UUID, reason: str) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(col(AuthSession.staff_id) == staff_id, col(AuthSession.revoked_at).is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )
