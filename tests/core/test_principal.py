"""Object-level permissions: what a principal may do to an object of a given school."""

from uuid import UUID, uuid4

from app.core.permissions import INTEGRATION_SCOPES, Permission, Role
from app.core.principal import Grant, Principal, PrincipalKind

P = Permission
SCHOOL_A, SCHOOL_B = uuid4(), uuid4()


def staff(*grants: tuple[Role, UUID | None]) -> Principal:
    return Principal(PrincipalKind.STAFF, uuid4(), uuid4(), tuple(Grant(r, s) for r, s in grants))


def client_of(*schools: UUID) -> Principal:
    return Principal(
        PrincipalKind.INTEGRATION,
        uuid4(),
        uuid4(),
        _extra_permissions=INTEGRATION_SCOPES["roster:write"] | INTEGRATION_SCOPES["roster:read"],
        schools=frozenset(schools),
    )


def test_a_clients_scopes_apply_at_its_own_schools_only() -> None:
    client = client_of(SCHOOL_A)
    assert client.can(P.ROSTER_WRITE, SCHOOL_A)
    assert not client.can(P.ROSTER_WRITE, SCHOOL_B)
    assert not client.can(P.ROSTER_READ, None)  # nor at trust level
    assert P.ROSTER_WRITE in client.all_permissions  # `require` still lets it in
    assert client.schools_with(P.ROSTER_WRITE) == frozenset({SCHOOL_A})
    assert client.schools_with(P.VISITS_READ) == frozenset()


def test_a_role_at_one_school_never_authorises_at_another() -> None:
    both = staff((Role.TEACHER, SCHOOL_A), (Role.SCHOOL_ADMIN, SCHOOL_B))
    assert both.can(P.ROSTER_WRITE, SCHOOL_B)
    assert not both.can(P.ROSTER_WRITE, SCHOOL_A)
    assert not both.can(P.EXEMPTION_REASONS, SCHOOL_A)
    assert both.can(P.ROSTER_READ, SCHOOL_A)
    assert both.schools_with(P.STAFF_READ) == frozenset({SCHOOL_B})
    assert both.schools_with(P.ROSTER_READ) == frozenset({SCHOOL_A, SCHOOL_B})


def test_trust_wide_roles_apply_at_every_school() -> None:
    trust_admin = staff((Role.TRUST_ADMIN, None))
    assert trust_admin.can(P.ROSTER_WRITE, SCHOOL_A)
    assert trust_admin.can(P.ROSTER_WRITE, SCHOOL_B)
    assert trust_admin.schools_with(P.ROSTER_WRITE) is None
    assert trust_admin.schools_with(P.PROGRAMMES_MANAGE) == frozenset()
