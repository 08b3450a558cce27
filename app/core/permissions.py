"""Roles, permissions and the one table that joins them.

A role is held at trust level (school_id None) or at one school. A permission held through a
trust-level role applies to every school of the trust. Later principals (parents, integration
clients) carry permissions too, so every route asks for permissions, never for roles.
"""

from enum import StrEnum


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    TRUST_ADMIN = "trust_admin"
    TRUST_DSL = "trust_dsl"
    SCHOOL_ADMIN = "school_admin"
    DSL = "dsl"
    OFFICE = "office"
    TEACHER = "teacher"
    SUPPORT_STAFF = "support_staff"


TRUST_LEVEL_ROLES = frozenset({Role.TRUST_ADMIN, Role.TRUST_DSL})
SCHOOL_LEVEL_ROLES = frozenset(
    {Role.SCHOOL_ADMIN, Role.DSL, Role.OFFICE, Role.TEACHER, Role.SUPPORT_STAFF}
)


class Permission(StrEnum):
    TRUSTS_CREATE = "trusts:create"
    TRUSTS_READ = "trusts:read"
    TRUSTS_UPDATE = "trusts:update"
    SCHOOLS_READ = "schools:read"
    SCHOOLS_CREATE = "schools:create"
    SCHOOLS_UPDATE = "schools:update"
    STAFF_READ = "staff:read"
    STAFF_MANAGE = "staff:manage"
    AUDIT_READ = "audit:read"


P = Permission
_EVERY_STAFF_MEMBER = {P.TRUSTS_READ, P.SCHOOLS_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PLATFORM_ADMIN: frozenset(
        {
            P.TRUSTS_CREATE,
            P.TRUSTS_READ,
            P.TRUSTS_UPDATE,
            P.STAFF_READ,
            P.STAFF_MANAGE,
            P.AUDIT_READ,
        }
    ),
    Role.TRUST_ADMIN: frozenset(
        _EVERY_STAFF_MEMBER
        | {
            P.TRUSTS_UPDATE,
            P.SCHOOLS_CREATE,
            P.SCHOOLS_UPDATE,
            P.STAFF_READ,
            P.STAFF_MANAGE,
            P.AUDIT_READ,
        }
    ),
    Role.TRUST_DSL: frozenset(_EVERY_STAFF_MEMBER),
    Role.SCHOOL_ADMIN: frozenset(_EVERY_STAFF_MEMBER | {P.STAFF_READ, P.STAFF_MANAGE}),
    Role.DSL: frozenset(_EVERY_STAFF_MEMBER),
    Role.OFFICE: frozenset(_EVERY_STAFF_MEMBER),
    Role.TEACHER: frozenset(_EVERY_STAFF_MEMBER),
    Role.SUPPORT_STAFF: frozenset(_EVERY_STAFF_MEMBER),
}

# Which roles a holder of each role may grant (and take away). Trust-level grants only come
# from trust-level roles; a school admin can only grant school roles at their own schools.
GRANTABLE_ROLES: dict[Role, frozenset[Role]] = {
    Role.PLATFORM_ADMIN: frozenset({Role.TRUST_ADMIN}),
    Role.TRUST_ADMIN: frozenset(TRUST_LEVEL_ROLES | SCHOOL_LEVEL_ROLES),
    Role.SCHOOL_ADMIN: frozenset(SCHOOL_LEVEL_ROLES),
}
