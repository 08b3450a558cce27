"""Who is calling: the authenticated principal and the scope derived from it."""

from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from app.core.errors import Forbidden
from app.core.permissions import GRANTABLE_ROLES, ROLE_PERMISSIONS, Permission, Role
from app.core.tenancy import Scope


class PrincipalKind(StrEnum):
    STAFF = "staff"
    PARENT = "parent"
    INTEGRATION = "integration"


# Routes that staff and integration clients (within their scopes) both call.
STAFF_OR_CLIENT = frozenset({PrincipalKind.STAFF, PrincipalKind.INTEGRATION})


@dataclass(frozen=True, slots=True)
class Grant:
    role: Role
    school_id: UUID | None  # None: held at trust level (or platform level)


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: UUID
    trust_id: UUID | None
    grants: tuple[Grant, ...] = ()
    session_id: UUID | None = None
    _extra_permissions: frozenset[Permission] = field(default=frozenset())
    # Principals without role grants (integration clients) name their schools directly.
    schools: frozenset[UUID] | None = None
    # A parent principal reaches one household in one programme, nothing else.
    household_id: UUID | None = None
    programme_id: UUID | None = None

    @property
    def is_platform_admin(self) -> bool:
        return any(g.role is Role.PLATFORM_ADMIN for g in self.grants)

    @property
    def has_trust_wide_role(self) -> bool:
        return any(g.school_id is None for g in self.grants)

    @property
    def school_ids(self) -> frozenset[UUID]:
        if self.schools is not None:
            return self.schools
        return frozenset(g.school_id for g in self.grants if g.school_id is not None)

    @property
    def scope(self) -> Scope:
        if self.is_platform_admin:
            return Scope(trust_id=None, all_trusts=True)
        if self.has_trust_wide_role and self.schools is None:
            return Scope(trust_id=self.trust_id)
        return Scope(trust_id=self.trust_id, school_ids=self.school_ids)

    def permissions_at(self, school_id: UUID | None) -> frozenset[Permission]:
        """Permissions that apply to an object of `school_id` (None: a trust-level object).

        A principal that names its schools (a client's scopes, a parent's portal) holds its
        permissions at those schools only: held at every school, a client of one school passed
        the school check of an object of any other school of the trust it could reach."""
        held: set[Permission] = set()
        if self.schools is None or school_id in self.schools:
            held |= self._extra_permissions
        for grant in self.grants:
            if grant.school_id is None or grant.school_id == school_id:
                held |= ROLE_PERMISSIONS[grant.role]
        return frozenset(held)

    def schools_with(self, permission: Permission) -> frozenset[UUID] | None:
        """The schools where `permission` applies (None: every school of the trust), for
        narrowing a list to what the caller may act on, as `can` does for one object."""
        schools: set[UUID] = set()
        if permission in self._extra_permissions:
            if self.schools is None:
                return None
            schools |= self.schools
        for grant in self.grants:
            if permission in ROLE_PERMISSIONS[grant.role]:
                if grant.school_id is None:
                    return None
                schools.add(grant.school_id)
        return frozenset(schools)

    @property
    def all_permissions(self) -> frozenset[Permission]:
        held: set[Permission] = set(self._extra_permissions)
        for grant in self.grants:
            held |= ROLE_PERMISSIONS[grant.role]
        return frozenset(held)

    def can(self, permission: Permission, school_id: UUID | None = None) -> bool:
        return permission in self.permissions_at(school_id)

    def ensure(self, permission: Permission, school_id: UUID | None = None) -> None:
        """Raise 403. Object-level checks go through `ScopedRepository.get_permitted` (or its
        `permit`), which calls this only once the object has loaded through the scope (404)."""
        if not self.can(permission, school_id):
            raise Forbidden(f"Your roles do not allow '{permission}' here.")

    def may_grant(self, grant: Grant) -> bool:
        for held in self.grants:
            grantable = GRANTABLE_ROLES.get(held.role, frozenset())
            if grant.role not in grantable:
                continue
            if held.school_id is None or held.school_id == grant.school_id:
                return True
        return False
