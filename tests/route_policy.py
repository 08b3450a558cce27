"""The declared authorisation policy of every route, checked by tests/test_route_matrix.py.

Each route names, for every principal, what it must get when it targets the *home* objects
(trust 0, school 0, a teacher of school 0): OK (2xx), DENY (403: the action is not theirs),
HIDE (404: the object is outside their scope, answered exactly like a missing one) or a status.
A new route without an entry here fails the matrix.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from app.core.permissions import Role
from app.synthetic.generator import DEMO_PASSWORD, World

OK, DENY, HIDE, UNAUTH = "ok", 403, 404, 401

# Principals: the roles at home (trust 0; school roles at school 0), a school admin of another
# school of the same trust, a trust admin of another trust, and nobody at all.
HOME_ROLES = (
    "trust_admin",
    "trust_dsl",
    "school_admin",
    "dsl",
    "office",
    "teacher",
    "support_staff",
)
# Machine clients: one of school 0 (roster:read, roster:write) and one of school 1.
CLIENTS = ("integration", "other_integration")
PRINCIPALS = (
    "platform_admin",
    *HOME_ROLES,
    "other_school_admin",
    "other_trust_admin",
    *CLIENTS,
    "anonymous",
)

Body = Callable[[World], dict[str, Any]]

# Ids of the home roster objects, filled in by the matrix's `targets` fixture for bodies that
# name them.
TARGETS: dict[str, Any] = {}


@dataclass(frozen=True)
class Policy:
    expect: dict[str, Any]
    json: Body | None = None
    form: Body | None = None
    files: Callable[[World], dict[str, tuple[str, bytes]]] | None = None
    public: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def rule(
    ok: set[str] | tuple[str, ...] = (), hide: set[str] | tuple[str, ...] = (), **statuses: Any
) -> dict[str, Any]:
    """Everyone not named is refused with 403; anonymous callers get 401."""
    expect: dict[str, Any] = dict.fromkeys(PRINCIPALS, DENY)
    expect |= dict.fromkeys(ok, OK) | dict.fromkeys(hide, HIDE)
    expect["anonymous"] = UNAUTH
    expect |= statuses
    return expect


def public(status: Any) -> dict[str, Any]:
    return dict.fromkeys(PRINCIPALS, status)


EVERY_STAFF = set(PRINCIPALS) - {"anonymous", *CLIENTS}
TRUST_STAFF = EVERY_STAFF - {"platform_admin"}
HOME_STAFF = set(HOME_ROLES)
STAFF_MANAGERS = ("trust_admin", "school_admin")


def _school_body(_: World) -> dict[str, Any]:
    urn = str(100000 + uuid4().int % 899999)
    return {
        "urn": urn,
        "name": "Matrix Primary",
        "phase": "primary",
        "address_line1": "1 Road",
        "town": "Strood",
        "postcode": "ME2 4AA",
    }


def _staff_body(world: World) -> dict[str, Any]:
    return {
        "email": f"matrix.{uuid4().hex[:8]}@example.org",
        "full_name": "Matrix Member",
        "roles": [{"role": "teacher", "school_id": str(world.trusts[0].schools[0].id)}],
    }


def _roles_body(world: World) -> dict[str, Any]:
    return {
        "roles": [
            {"role": "teacher", "school_id": str(world.trusts[0].schools[0].id)},
            {"role": "support_staff", "school_id": str(world.trusts[0].schools[0].id)},
        ]
    }


def _roster_body(world: World) -> dict[str, Any]:
    from tests.roster.snapshots import small_snapshot

    return small_snapshot(world)


def _client_body(world: World) -> dict[str, Any]:
    return {
        "name": "Matrix MIS",
        "school_ids": [str(world.trusts[0].schools[0].id)],
        "scopes": ["roster:read"],
    }


V1 = "/api/v1"
# Roster reads: the home school's staff and its client; others' objects are hidden.
ROSTER_READERS = rule(
    ok=(*HOME_ROLES, "integration"),
    hide=("other_school_admin", "other_trust_admin", "other_integration"),
)
ROSTER_WRITERS = rule(
    ok=("trust_admin", "school_admin", "integration"),
    hide=("other_school_admin", "other_trust_admin", "other_integration"),
)


def _bundle(_: World) -> dict[str, tuple[str, bytes]]:
    from tests.roster.importing.bundles import primary_school, zip_bundle

    return {"file": ("bundle.zip", zip_bundle(primary_school()))}


PROGRAMME_READERS = rule(ok=HOME_ROLES, hide=("other_school_admin", "other_trust_admin"))
PROGRAMME_MANAGERS = rule(ok=("school_admin",), hide=("other_school_admin",))


def _programme_body(_: World) -> dict[str, Any]:
    return {
        "name": f"Matrix {uuid4().hex[:8]}",
        "academic_year": "2026/27",
        "visit_days": ["2026-09-01"],
        "day_starts": "09:00",
        "day_ends": "12:00",
        "year_groups": ["R"],
    }


ON_A_CLIENT = rule(
    ok=("trust_admin", "school_admin"), hide=("other_school_admin", "other_trust_admin")
)
# Staff routes target a teacher of school 0: operators see only admins, so it is hidden from them.
ON_A_TEACHER = rule(
    ok=STAFF_MANAGERS, hide=("platform_admin", "other_school_admin", "other_trust_admin")
)

POLICIES: dict[tuple[str, str], Policy] = {
    ("GET", "/healthz"): Policy(public(200), public=True),
    ("GET", "/readyz"): Policy(public(200), public=True),
    ("GET", "/.well-known/jwks.json"): Policy(public(200), public=True),
    ("POST", f"{V1}/auth/token"): Policy(
        public(200),
        public=True,
        form=lambda w: {
            "grant_type": "password",
            "username": w.login(Role.TEACHER).email,
            "password": DEMO_PASSWORD,
        },
    ),
    ("POST", f"{V1}/auth/invitations/accept"): Policy(
        public(400),
        public=True,
        json=lambda w: {
            "token": "not-an-invitation-" + "x" * 20,
            "password": "long enough password",
        },
    ),
    ("POST", f"{V1}/auth/logout"): Policy(rule(ok=EVERY_STAFF)),
    ("GET", f"{V1}/me"): Policy(rule(ok=EVERY_STAFF)),
    ("GET", f"{V1}/trusts"): Policy(rule(ok=EVERY_STAFF)),
    ("POST", f"{V1}/trusts"): Policy(
        rule(ok=("platform_admin",)), json=lambda w: {"name": "New Trust"}
    ),
    ("GET", f"{V1}/trusts/{{trust_id}}"): Policy(
        rule(
            ok=TRUST_STAFF - {"other_trust_admin"} | {"platform_admin"}, hide=("other_trust_admin",)
        )
    ),
    ("PATCH", f"{V1}/trusts/{{trust_id}}"): Policy(
        rule(ok=("platform_admin", "trust_admin"), hide=("other_trust_admin",)),
        json=lambda w: {"default_max_visits_per_day": 9},
    ),
    ("GET", f"{V1}/schools"): Policy(rule(ok=TRUST_STAFF)),
    ("POST", f"{V1}/schools"): Policy(
        rule(ok=("trust_admin", "other_trust_admin")), json=_school_body
    ),
    ("GET", f"{V1}/schools/{{school_id}}"): Policy(
        rule(ok=HOME_STAFF, hide=("other_school_admin", "other_trust_admin"))
    ),
    ("PATCH", f"{V1}/schools/{{school_id}}"): Policy(
        rule(ok=("trust_admin",), hide=("other_trust_admin",)), json=lambda w: {"name": "Renamed"}
    ),
    ("GET", f"{V1}/staff"): Policy(
        rule(ok=("platform_admin", *STAFF_MANAGERS, "other_school_admin", "other_trust_admin"))
    ),
    ("POST", f"{V1}/staff"): Policy(
        # The school named in the body is not theirs: invalid input, like a school that does not exist.
        rule(ok=STAFF_MANAGERS, other_school_admin=422, other_trust_admin=422),
        json=_staff_body,
    ),
    ("GET", f"{V1}/staff/{{staff_id}}"): Policy(ON_A_TEACHER),
    ("PATCH", f"{V1}/staff/{{staff_id}}"): Policy(
        ON_A_TEACHER, json=lambda w: {"full_name": "Renamed"}
    ),
    ("PUT", f"{V1}/staff/{{staff_id}}/roles"): Policy(ON_A_TEACHER, json=_roles_body),
    ("POST", f"{V1}/staff/{{staff_id}}/deactivate"): Policy(ON_A_TEACHER),
    ("POST", f"{V1}/staff/{{staff_id}}/reactivate"): Policy(ON_A_TEACHER),
    ("POST", f"{V1}/staff/{{staff_id}}/invitation"): Policy(ON_A_TEACHER),
    ("PUT", f"{V1}/schools/{{school_id}}/roster"): Policy(
        rule(
            ok=("trust_admin", "school_admin", "integration"),
            hide=("other_school_admin", "other_trust_admin", "other_integration"),
        ),
        json=_roster_body,
    ),
    ("GET", f"{V1}/schools/{{school_id}}/pupils"): Policy(ROSTER_READERS),
    ("POST", f"{V1}/schools/{{school_id}}/roster-imports"): Policy(
        ROSTER_WRITERS, form=lambda w: {"format": "oneroster"}, files=_bundle
    ),
    ("GET", f"{V1}/schools/{{school_id}}/roster-imports/{{import_id}}"): Policy(ROSTER_WRITERS),
    # Household F-1 holds P-1 and P-2; F-2 holds P-3 and P-4 (tests/roster/snapshots.py).
    ("POST", f"{V1}/households/{{household_id}}/split"): Policy(
        ROSTER_WRITERS, json=lambda w: {"pupil_ids": [str(TARGETS["pupil_id"])]}
    ),
    ("POST", f"{V1}/households/{{household_id}}/merge"): Policy(
        ROSTER_WRITERS, json=lambda w: {"household_id": str(TARGETS["other_household_id"])}
    ),
    ("GET", f"{V1}/classes/{{class_id}}/pupils"): Policy(ROSTER_READERS),
    ("GET", f"{V1}/schools/{{school_id}}/classes"): Policy(ROSTER_READERS),
    ("GET", f"{V1}/pupils/{{pupil_id}}"): Policy(ROSTER_READERS),
    # Addresses and contacts: office, SLT, DSLs, the pupils' class staff (the teacher of
    # school 0 teaches a child of this household), and the MIS client; not other support staff.
    ("GET", f"{V1}/households/{{household_id}}"): Policy(
        rule(
            ok=(*HOME_ROLES, "integration"),
            hide=("other_school_admin", "other_trust_admin", "other_integration"),
            support_staff=DENY,
        )
    ),
    ("POST", f"{V1}/schools/{{school_id}}/programmes"): Policy(
        PROGRAMME_MANAGERS, json=_programme_body
    ),
    ("GET", f"{V1}/schools/{{school_id}}/programmes"): Policy(PROGRAMME_READERS),
    ("GET", f"{V1}/programmes/{{programme_id}}"): Policy(PROGRAMME_READERS),
    ("PATCH", f"{V1}/programmes/{{programme_id}}"): Policy(
        PROGRAMME_MANAGERS, json=lambda w: {"travel_buffer_minutes": 10}
    ),
    ("POST", f"{V1}/programmes/{{programme_id}}/transitions"): Policy(
        PROGRAMME_MANAGERS, json=lambda w: {"to": "collecting"}
    ),
    ("GET", f"{V1}/programmes/{{programme_id}}/slots"): Policy(PROGRAMME_READERS),
    ("GET", f"{V1}/programmes/{{programme_id}}/households"): Policy(PROGRAMME_READERS),
    # The household of P-1, in Reception: in the programme's scope.
    ("PUT", f"{V1}/programmes/{{programme_id}}/households/{{household_id}}/exemption"): Policy(
        PROGRAMME_MANAGERS, json=lambda w: {"kind": "neutral_venue", "reason": "Parent asked"}
    ),
    ("DELETE", f"{V1}/programmes/{{programme_id}}/households/{{household_id}}/exemption"): Policy(
        PROGRAMME_MANAGERS
    ),
    ("POST", f"{V1}/integration-clients"): Policy(
        rule(ok=("trust_admin", "school_admin"), other_school_admin=422, other_trust_admin=422),
        json=_client_body,
    ),
    ("GET", f"{V1}/integration-clients"): Policy(
        rule(ok=("trust_admin", "school_admin", "other_school_admin", "other_trust_admin"))
    ),
    ("GET", f"{V1}/integration-clients/{{client_id}}"): Policy(ON_A_CLIENT),
    ("POST", f"{V1}/integration-clients/{{client_id}}/rotate-secret"): Policy(ON_A_CLIENT),
    ("POST", f"{V1}/integration-clients/{{client_id}}/revoke"): Policy(ON_A_CLIENT),
    ("GET", f"{V1}/audit-events"): Policy(
        rule(ok=("platform_admin", "trust_admin", "other_trust_admin"))
    ),
}
