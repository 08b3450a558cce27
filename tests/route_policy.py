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
from app.synthetic.dates import ACADEMIC_YEAR, VISIT_WEEK
from app.synthetic.generator import DEMO_PASSWORD, World

OK, DENY, HIDE, UNAUTH = "ok", 403, 404, 401

# Principals: the roles at home (trust 0; school roles at school 0), a school admin of another
# school of the same trust, a member who teaches at home and is school admin of a third school,
# a trust admin of another trust, and nobody at all.
HOME_ROLES = (
    "trust_admin",
    "trust_dsl",
    "school_admin",
    "dsl",
    "office",
    "teacher",
    "support_staff",
)
# Machine clients with every scope (roster:read, roster:write, visits:read): one of school 0
# and one of school 1, which must reach nothing of school 0's.
CLIENTS = ("integration", "other_integration")
# Members whose roles differ between schools, or between the trust and a school, so that a check
# made at the wrong school (or not made at all) shows. Each answers at home (school 0) as its home
# roles together do, whatever it may do elsewhere, unless a rule names it. (The other school is
# school 2, so that school 1's admin and client, who list their colleagues and whose answers must
# never name school 0, do not see these members' roles at school 0.)
# A teacher at school 0 who is SLT (school admin) at school 2: where it lacks the permission.
TWO_SCHOOLS = "two_school_staff"
# SLT at school 0 who teaches at school 2: the same mix, seen from the school where it holds it.
SLT_AT_HOME = "slt_home_teacher_away"
# A trust DSL (every school, reading) who is SLT at school 2: it may read school 0, not run it.
TRUST_DSL_SLT_AWAY = "trust_dsl_slt_away"
# A trust DSL who is SLT at school 0: both at home.
TRUST_DSL_SLT_AT_HOME = "trust_dsl_slt_home"
MIXED: dict[str, tuple[str, ...]] = {
    TWO_SCHOOLS: ("teacher",),
    SLT_AT_HOME: ("school_admin",),
    TRUST_DSL_SLT_AWAY: ("trust_dsl",),
    TRUST_DSL_SLT_AT_HOME: ("trust_dsl", "school_admin"),
}
# The members who read and manage staff and integrations at school 2 only: they list their own
# school's, and school 0's are hidden from them (the trust DSL's trust-wide role reads neither).
MANAGERS_AWAY = (TWO_SCHOOLS, TRUST_DSL_SLT_AWAY)
# Parents of the home household (F-1) and of another household (F-2) in the home programme.
PARENTS = ("parent", "other_parent")
PRINCIPALS = (
    "platform_admin",
    *HOME_ROLES,
    "other_school_admin",
    *MIXED,
    "other_trust_admin",
    *CLIENTS,
    *PARENTS,
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
    # A raw body: its media type and bytes.
    content: Callable[[World], tuple[str, bytes]] | None = None
    public: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    # Sent with If-Match: * (as every PATCH, PUT and DELETE is).
    if_match: bool = False


def rule(
    ok: set[str] | tuple[str, ...] = (), hide: set[str] | tuple[str, ...] = (), **statuses: Any
) -> dict[str, Any]:
    """Everyone not named is refused with 403 (a mixed-role member answers as its home roles
    together do); anonymous callers get 401."""
    expect: dict[str, Any] = dict.fromkeys(PRINCIPALS, DENY)
    expect |= dict.fromkeys(ok, OK) | dict.fromkeys(hide, HIDE)
    expect["anonymous"] = UNAUTH
    expect |= statuses
    for member, home_roles in MIXED.items():
        if member not in {*ok, *hide, *statuses}:
            expect[member] = _together([expect[role] for role in home_roles])
    return expect


def _together(answers: list[Any]) -> Any:
    """What roles held together answer: any role that passes the checks passes (OK, or the
    status the action itself answers, such as 409); else refused (403) if any role sees it."""
    passed = [a for a in answers if a not in (DENY, HIDE)]
    if passed:
        return OK if OK in passed else passed[0]
    return DENY if DENY in answers else HIDE


def public(status: Any) -> dict[str, Any]:
    return dict.fromkeys(PRINCIPALS, status)


EVERY_STAFF = set(PRINCIPALS) - {"anonymous", *CLIENTS, *PARENTS}
TRUST_STAFF = EVERY_STAFF - {"platform_admin"}
# Callers with no standing at school 0: whatever they are refused must leave no trace.
CROSS_SCHOOL = frozenset(
    {"other_school_admin", TWO_SCHOOLS, "other_trust_admin", "other_integration"}
)
# Callers each of whose refusals is checked to have written nothing: those above, the mixed-role
# members (refused where they lack the permission though they hold it elsewhere) and parents.
NO_TRACE = CROSS_SCHOOL | set(MIXED) | set(PARENTS)
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


def _bundle(world: World) -> dict[str, tuple[str, bytes]]:
    from tests.roster.importing.bundles import SCHOOL_ID, primary_school, zip_bundle

    # The school's own bundle: its orgs.csv gives the URN of the school it is uploaded to.
    bundle = primary_school()
    bundle["orgs.csv"].row("sourcedId", SCHOOL_ID)["identifier"] = world.trusts[0].schools[0].urn
    return {"file": ("bundle.zip", zip_bundle(bundle))}


PROGRAMME_READERS = rule(ok=HOME_ROLES, hide=("other_school_admin", "other_trust_admin"))
# A programme's visits: the school's staff (each member the visits they need to know) and its
# client with visits:read.
VISIT_LISTERS = rule(
    ok=(*HOME_ROLES, "integration"),
    hide=("other_school_admin", "other_trust_admin", "other_integration"),
)
# A visit of the home teacher's class: its adults and class staff need to know it, SLT, the DSL,
# the office and the school's client oversee every visit; a support assistant not on it does not
# see it, nor a teacher of another class (whatever they may oversee at another school).
VISIT_READERS = rule(
    ok=(*(set(HOME_ROLES) - {"support_staff"}), "integration"),
    hide=(
        "other_school_admin",
        "other_trust_admin",
        "support_staff",
        "other_integration",
        TWO_SCHOOLS,
    ),
)
NOTE_READERS = rule(
    ok=("teacher", "school_admin"),
    hide=(
        "office",
        "dsl",
        "trust_admin",
        "trust_dsl",
        "support_staff",
        "other_school_admin",
        "other_trust_admin",
        TWO_SCHOOLS,
    ),
)
# The adults on the home visit: the home teacher (the action itself refuses the matrix's
# proposed visit, 409); the school's other staff who see the visit are refused, others hidden.
ON_THE_VISIT = rule(
    teacher=409,
    hide=("other_school_admin", "other_trust_admin", "support_staff", TWO_SCHOOLS),
)
PROGRAMME_MANAGERS = rule(ok=("school_admin",), hide=("other_school_admin",))
# Arranging families' visits: SLT and the office, who take the families' calls.
ARRANGERS = rule(ok=("school_admin", "office"), hide=("other_school_admin",))
# Chasing families: SLT and the office; the trust's central team does not hold the codes.
CHASERS = rule(ok=("school_admin", "office"), hide=("other_school_admin",))
REPORT_READERS = rule(
    ok=("trust_admin", "school_admin"), hide=("other_school_admin", "other_trust_admin")
)
TRUST_REPORT_READERS = rule(ok=("trust_admin",), hide=("other_trust_admin",))


def _programme_body(_: World) -> dict[str, Any]:
    return {
        "name": f"Matrix {uuid4().hex[:8]}",
        "academic_year": ACADEMIC_YEAR,
        "visit_days": [VISIT_WEEK[1].isoformat()],
        "day_starts": "09:00",
        "day_ends": "12:00",
        "year_groups": ["R"],
    }


def _period_body(_: World) -> dict[str, Any]:
    return {
        "starts_at": "2026-09-01T08:00:00+01:00",
        "ends_at": "2026-09-01T12:00:00+01:00",
        "reason": "Hospital appointment",
    }


def _team_body(world: World) -> dict[str, Any]:
    return {
        "teacher_ids": [str(world.login(Role.TEACHER).staff_id)],
        "second_adult_id": str(world.login(Role.SUPPORT_STAFF).staff_id),
    }


# A client of school 0 is managed by those who manage integrations at school 0.
ON_A_CLIENT = rule(
    ok=("trust_admin", "school_admin"),
    hide=("other_school_admin", *MANAGERS_AWAY, "other_trust_admin"),
)
# Staff routes target a teacher of school 0: operators see only admins, so it is hidden from them,
# and so it is from anyone who reads staff only at another school.
ON_A_TEACHER = rule(
    ok=STAFF_MANAGERS,
    hide=("platform_admin", "other_school_admin", *MANAGERS_AWAY, "other_trust_admin"),
)

# The trust's wording (one for every school): its admins change it; each school's SLT and office
# read it, whichever school they hold the role at; another trust's admin does not see it.
TEMPLATE = f"{V1}/trusts/{{trust_id}}/message-templates/{{kind}}/{{channel}}/{{language}}"
TEMPLATE_READERS = rule(
    ok=("trust_admin", "school_admin", "office", "other_school_admin", *MANAGERS_AWAY),
    hide=("other_trust_admin",),
)
TEMPLATE_WRITERS = rule(ok=("trust_admin",), hide=("other_trust_admin",))

SURVEY_TEMPLATE = f"{V1}/trusts/{{trust_id}}/survey-templates/{{template_key}}"
SURVEY_TEMPLATE_READERS = rule(
    ok=(*HOME_ROLES, "other_school_admin", *MIXED), hide=("other_trust_admin",)
)
# The matrix's surveys: the home teacher's, and the home household's (F-1's).
MY_SURVEY = f"{V1}/survey-invitations/{{invitation_id}}"
MY_SURVEY_RULE = rule(ok=("teacher",), hide=EVERY_STAFF - {"teacher", "platform_admin"})
FAMILY_SURVEY = f"{V1}/parent/surveys/{{survey_id}}"
FAMILY_SURVEY_RULE = rule(ok=("parent",), hide=("other_parent",))
SURVEY_RESULTS_READERS = rule(
    ok=("trust_admin", "school_admin"), hide=("other_school_admin", "other_trust_admin")
)


def _survey_template_body(_: World) -> dict[str, Any]:
    return {
        "title": "After your visits",
        "questions": [
            {"id": "helpful", "type": "likert", "text": "The visits helped."},
            {"id": "again", "type": "yes_no", "text": "Again next year?", "required": False},
        ],
    }


def _teacher_answers(_: World) -> dict[str, Any]:
    scores = dict.fromkeys(
        (
            "know_child_better",
            "relationship_with_family",
            "confident_supporting",
            "workload_manageable",
        ),
        4,
    )
    return {"answers": {**scores, "learned_something_new": False}}


def _family_answers(_: World) -> dict[str, Any]:
    return {"answers": {"visit_helpful": 5, "felt_listened_to": True, "child_feels": "happy"}}


def _template_body(_: World) -> dict[str, Any]:
    # The matrix's template is the Welsh text of an invitation (see test_route_matrix._path).
    return {"body": "((school_name)): dewiswch amser ar gyfer eich ymweliad: ((link)) ((code))"}


# Safeguarding is need-to-know: the school's DSLs and the trust's DSLs read a concern; to every
# other caller (staff of any role, parents, clients, the platform's operator) it does not exist.
NEED_TO_KNOW_READERS = ("dsl", "trust_dsl", TRUST_DSL_SLT_AWAY, TRUST_DSL_SLT_AT_HOME)
NEED_TO_KNOW = rule(
    ok=("dsl", "trust_dsl"),
    hide=set(PRINCIPALS) - {*NEED_TO_KNOW_READERS, "anonymous"},
)
SUBJECT_ACCESS_MANAGERS = rule(
    ok=("trust_admin", "school_admin"), hide=("other_school_admin", "other_trust_admin")
)
# The matrix's concern is raised by the home support assistant: its receipt is theirs alone.
CONCERN_RAISER = "support_staff"
# Words of the matrix's concern that no answer to anyone outside need-to-know may carry.
CONCERN_ACCOUNT = "Matrix concern: the account only its DSLs may read"


def _concern_body(_: World) -> dict[str, Any]:
    return {
        "pupils": [{"pupil_id": str(TARGETS["pupil_id"]), "role": "subject"}],
        "category": "neglect",
        "urgency": "routine",
        "account": "Raised by the matrix",
        "occurred_at": "2026-09-08T10:40:00+01:00",
    }


def _transfer_body(_: World) -> dict[str, Any]:
    return {
        "sent_date": "2026-09-01",
        "route": "secure_electronic",
        "to_school_name": "Matrix Outside Academy",
        "to_school_urn": "123456",
    }


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
    # Each member's own work mobile (the operator, with no trust, has an account all the same).
    ("PATCH", f"{V1}/me"): Policy(
        rule(ok=EVERY_STAFF), json=lambda w: {"work_mobile": "07911 123456"}
    ),
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
        rule(
            ok=(
                "platform_admin",
                *STAFF_MANAGERS,
                "other_school_admin",
                *MANAGERS_AWAY,
                "other_trust_admin",
            )
        )
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
    # The home teacher has set a password: the account is theirs, and nobody re-invites it.
    ("POST", f"{V1}/staff/{{staff_id}}/invitation"): Policy(
        rule(
            hide=("platform_admin", "other_school_admin", *MANAGERS_AWAY, "other_trust_admin"),
            trust_admin=409,
            school_admin=409,
        )
    ),
    # Anyone who visits records their own periods; a period belongs to the home teacher, so it
    # is not found for everyone else. Managers record and remove a colleague's periods.
    # Each member's own calendar feed: any member of a trust's staff; the matrix's members
    # have none to revoke (404). The feed itself answers no token: its address is the secret.
    ("POST", f"{V1}/me/calendar-feed"): Policy(rule(ok=TRUST_STAFF)),
    ("DELETE", f"{V1}/me/calendar-feed"): Policy(rule(hide=TRUST_STAFF)),
    ("GET", f"{V1}/calendar-feeds/{{token}}.ics"): Policy(public(404), public=True),
    ("GET", f"{V1}/me/unavailability"): Policy(rule(ok=TRUST_STAFF)),
    ("POST", f"{V1}/me/unavailability"): Policy(rule(ok=TRUST_STAFF), json=_period_body),
    ("DELETE", f"{V1}/me/unavailability/{{period_id}}"): Policy(
        rule(ok=("teacher",), hide=TRUST_STAFF - {"teacher"})
    ),
    ("GET", f"{V1}/staff/{{staff_id}}/unavailability"): Policy(ON_A_TEACHER),
    ("POST", f"{V1}/staff/{{staff_id}}/unavailability"): Policy(ON_A_TEACHER, json=_period_body),
    ("DELETE", f"{V1}/staff/{{staff_id}}/unavailability/{{period_id}}"): Policy(ON_A_TEACHER),
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
    # Households needing an address: whoever may see addresses at the school (office, SLT, DSLs,
    # the trust's central team); giving one its address: those who chase families (office, SLT).
    ("GET", f"{V1}/schools/{{school_id}}/data-quality/households"): Policy(
        rule(
            ok=("trust_admin", "trust_dsl", "school_admin", "dsl", "office"),
            hide=("other_school_admin", "other_trust_admin"),
        )
    ),
    ("PATCH", f"{V1}/households/{{household_id}}"): Policy(
        CHASERS, json=lambda w: {"address_line1": "3 Mill Lane", "postcode": "me2 4aa"}
    ),
    # The school's CSV of addresses by family id: those who may give a household its address.
    ("POST", f"{V1}/schools/{{school_id}}/households/addresses"): Policy(
        CHASERS,
        content=lambda w: (
            "text/csv",
            b"family_id,address_line1,postcode\r\nF-1,3 Mill Lane,me2 4aa\r\n",
        ),
    ),
    ("GET", f"{V1}/classes/{{class_id}}/pupils"): Policy(ROSTER_READERS),
    ("GET", f"{V1}/schools/{{school_id}}/classes"): Policy(ROSTER_READERS),
    ("GET", f"{V1}/pupils/{{pupil_id}}"): Policy(ROSTER_READERS),
    # Addresses and contacts: office, SLT, DSLs, the pupils' class staff (the teacher of
    # school 0 teaches a child of this household), and the MIS client; not other support staff,
    # nor a teacher of no child of it (whatever they may see at another school).
    ("GET", f"{V1}/households/{{household_id}}"): Policy(
        rule(
            ok=(*HOME_ROLES, "integration"),
            hide=("other_school_admin", "other_trust_admin", "other_integration"),
            support_staff=DENY,
            two_school_staff=DENY,
        )
    ),
    ("POST", f"{V1}/schools/{{school_id}}/programmes"): Policy(
        PROGRAMME_MANAGERS, json=_programme_body
    ),
    ("GET", f"{V1}/schools/{{school_id}}/programmes"): Policy(PROGRAMME_READERS),
    ("GET", f"{V1}/programmes/{{programme_id}}"): Policy(PROGRAMME_READERS),
    # The home programme is collecting answers. A transition, like a PATCH, is sent with
    # If-Match (428 without it).
    ("PATCH", f"{V1}/programmes/{{programme_id}}"): Policy(
        PROGRAMME_MANAGERS, json=lambda w: {"reminder_lead_days": 5}
    ),
    ("POST", f"{V1}/programmes/{{programme_id}}/transitions"): Policy(
        PROGRAMME_MANAGERS, json=lambda w: {"to": "scheduling"}, if_match=True
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
    # Class C-R1 (Reception) is in the programme's scope; its teacher and the school's support
    # staff member are trained (app/synthetic).
    ("GET", f"{V1}/programmes/{{programme_id}}/teams"): Policy(PROGRAMME_READERS),
    ("PUT", f"{V1}/programmes/{{programme_id}}/teams/{{class_id}}"): Policy(
        PROGRAMME_MANAGERS, json=_team_body
    ),
    ("GET", f"{V1}/programmes/{{programme_id}}/second-adults"): Policy(PROGRAMME_READERS),
    ("PUT", f"{V1}/programmes/{{programme_id}}/second-adults"): Policy(
        PROGRAMME_MANAGERS,
        json=lambda w: {"staff_ids": [str(w.login(Role.SUPPORT_STAFF).staff_id)]},
    ),
    ("GET", f"{V1}/programmes/{{programme_id}}/staff-unavailability"): Policy(PROGRAMME_MANAGERS),
    # The home programme's one visit day (VISIT_WEEK[1]); its office member as safety contact.
    ("GET", f"{V1}/programmes/{{programme_id}}/duty-rota"): Policy(PROGRAMME_READERS),
    ("PUT", f"{V1}/programmes/{{programme_id}}/duty-rota/{{day}}"): Policy(
        PROGRAMME_MANAGERS,
        json=lambda w: {"safety_contact_id": str(w.login(Role.OFFICE).staff_id)},
    ),
    ("GET", f"{V1}/programmes/{{programme_id}}/progress"): Policy(PROGRAMME_READERS),
    ("GET", f"{V1}/programmes/{{programme_id}}/demand"): Policy(PROGRAMME_READERS),
    ("GET", f"{V1}/programmes/{{programme_id}}/chase-list"): Policy(CHASERS),
    ("GET", f"{V1}/programmes/{{programme_id}}/households/{{household_id}}/answer"): Policy(
        CHASERS
    ),
    ("PUT", f"{V1}/programmes/{{programme_id}}/households/{{household_id}}/answer"): Policy(
        CHASERS, json=lambda w: {"notes_for_visitors": "Ring the side bell"}
    ),
    ("POST", f"{V1}/programmes/{{programme_id}}/invitations"): Policy(CHASERS),
    # The home household holds a live invitation (the matrix's parent signed in with it).
    ("GET", f"{V1}/programmes/{{programme_id}}/households/{{household_id}}/invitation"): Policy(
        CHASERS
    ),
    ("POST", f"{V1}/programmes/{{programme_id}}/households/{{household_id}}/invitation"): Policy(
        CHASERS
    ),
    ("POST", f"{V1}/programmes/{{programme_id}}/households/{{household_id}}/invitation/resend"): (
        Policy(CHASERS)
    ),
    ("DELETE", f"{V1}/programmes/{{programme_id}}/households/{{household_id}}/invitation"): (
        Policy(CHASERS)
    ),
    # The office's view of the programme's messages; letters carry codes and addresses, so
    # need contact details too (both roles hold them).
    ("GET", f"{V1}/programmes/{{programme_id}}/messages"): Policy(CHASERS),
    ("GET", f"{V1}/programmes/{{programme_id}}/unreached-households"): Policy(CHASERS),
    ("GET", f"{V1}/programmes/{{programme_id}}/letters"): Policy(CHASERS),
    ("GET", f"{V1}/programmes/{{programme_id}}/letters.csv"): Policy(CHASERS),
    ("POST", f"{V1}/programmes/{{programme_id}}/letters/posted"): Policy(
        CHASERS, json=lambda w: {"all_listed": True, "listed_at": "2026-07-01T12:00:00+01:00"}
    ),
    # The home programme is still collecting: SLT may not plan it yet (409).
    ("POST", f"{V1}/programmes/{{programme_id}}/schedule-runs"): Policy(
        rule(school_admin=409, hide=("other_school_admin",)), json=lambda w: {}
    ),
    ("GET", f"{V1}/schedule-runs/{{run_id}}"): Policy(PROGRAMME_READERS),
    ("GET", f"{V1}/programmes/{{programme_id}}/schedule-runs"): Policy(PROGRAMME_READERS),
    ("GET", f"{V1}/programmes/{{programme_id}}/visits"): Policy(VISIT_LISTERS),
    # The day's board: SLT and the office (today's, empty: the home programme is collecting).
    ("GET", f"{V1}/programmes/{{programme_id}}/board"): Policy(
        rule(ok=("school_admin", "office"), hide=("other_school_admin",))
    ),
    # Like the answers' progress: every member of the school (counts, no names).
    ("GET", f"{V1}/programmes/{{programme_id}}/visit-progress"): Policy(PROGRAMME_READERS),
    ("GET", f"{V1}/visits/{{visit_id}}"): Policy(VISIT_READERS),
    ("GET", f"{V1}/visits/{{visit_id}}/changes"): Policy(VISIT_READERS),
    # The home teacher's own itinerary; SLT may read anyone's.
    ("GET", f"{V1}/programmes/{{programme_id}}/itineraries/{{staff_id}}"): Policy(
        rule(
            ok=("teacher", "school_admin"),
            hide=("other_school_admin", "other_trust_admin"),
            two_school_staff=DENY,
        )
    ),
    # Visits of a programme still collecting cannot be changed yet (409).
    ("PATCH", f"{V1}/visits/{{visit_id}}"): Policy(
        rule(school_admin=409, office=409, hide=("other_school_admin",)),
        json=lambda w: {"locked": True},
    ),
    # Notes after the visit: the matrix's visit is only proposed, so its adult (the home
    # teacher) is refused with 409; staff who see the visit but did not make it, 403; others 404.
    ("PUT", f"{V1}/visits/{{visit_id}}/pupils/{{pupil_id}}/note"): Policy(
        ON_THE_VISIT,
        json=lambda w: {"enjoys": "Drawing", "interpreter_used": False},
        if_match=True,
    ),
    # Read by the child's teachers and the school's SLT; the office, the DSLs and the trust
    # oversee visits, not notes.
    ("GET", f"{V1}/visits/{{visit_id}}/notes"): Policy(NOTE_READERS),
    ("GET", f"{V1}/pupils/{{pupil_id}}/visit-notes"): Policy(NOTE_READERS),
    # Placing a family by hand: SLT and the office; the matrix's programme still collects
    # answers (409); tests/test_route_contracts.py prepares a family to place.
    ("POST", f"{V1}/programmes/{{programme_id}}/visits"): Policy(
        rule(school_admin=409, office=409, hide=("other_school_admin",)),
        json=lambda w: {
            "household_id": str(TARGETS["other_household_id"]),
            "slot_id": str(TARGETS.get("free_slot_id") or uuid4()),
            "second_adult_id": str(w.login(Role.SUPPORT_STAFF).staff_id),
        },
    ),
    # A family's booked visit and its change requests: the matrix's programme is collecting,
    # so even the family's own parent finds no visit yet (404); tests/test_route_contracts.py
    # publishes it for the request's retry.
    ("GET", f"{V1}/parent/programmes/{{programme_id}}/households/{{household_id}}/visit"): (
        Policy(rule(hide=PARENTS))
    ),
    (
        "POST",
        f"{V1}/parent/programmes/{{programme_id}}/households/{{household_id}}/visit/change-requests",
    ): Policy(rule(hide=PARENTS), json=lambda w: {"kind": "cancel", "reason": "Moving away"}),
    ("GET", f"{V1}/programmes/{{programme_id}}/change-requests"): Policy(ARRANGERS),
    ("POST", f"{V1}/change-requests/{{request_id}}/close"): Policy(
        ARRANGERS, json=lambda w: {"resolution": "kept"}
    ),
    # The home teacher is on the home visit and SLT records any: both pass, and the visit of a
    # programme still collecting has no outcome yet (409). The school's other overseers see it
    # (403); a support assistant not on it and a teacher of another class do not (404).
    ("POST", f"{V1}/visits/{{visit_id}}/outcome"): Policy(
        rule(
            teacher=409,
            school_admin=409,
            hide=("other_school_admin", "other_trust_admin", "support_staff", TWO_SCHOOLS),
        ),
        json=lambda w: {"outcome": "completed"},
    ),
    # Only the adults on a visit check in and out: the home teacher passes, and the visit of a
    # programme still collecting cannot be checked in to (409), nor out of (409: no check-in).
    ("POST", f"{V1}/visits/{{visit_id}}/check-in"): Policy(ON_THE_VISIT),
    ("POST", f"{V1}/visits/{{visit_id}}/check-out"): Policy(ON_THE_VISIT),
    # SLT and the office close a no-access visit; the home visit is only proposed (409).
    ("POST", f"{V1}/visits/{{visit_id}}/close"): Policy(
        rule(school_admin=409, office=409, hide=("other_school_admin", TWO_SCHOOLS)),
        json=lambda w: {"reason": "No answer on two calls and a visit"},
    ),
    # Safety alerts: the school's office and SLT follow and acknowledge them.
    ("GET", f"{V1}/programmes/{{programme_id}}/visit-alerts"): Policy(ARRANGERS),
    ("POST", f"{V1}/visit-alerts/{{alert_id}}/acknowledgement"): Policy(ARRANGERS),
    # Re-planning a day: SLT; the home programme still collects answers, so there is no
    # schedule to mend yet (409), and its proposal cannot be accepted (409).
    ("POST", f"{V1}/programmes/{{programme_id}}/replans"): Policy(
        rule(school_admin=409, hide=("other_school_admin",)),
        json=lambda w: {
            "day": VISIT_WEEK[1].isoformat(),
            "absent_staff_ids": [str(w.login(Role.TEACHER).staff_id)],
        },
    ),
    ("GET", f"{V1}/replans/{{replan_id}}"): Policy(PROGRAMME_MANAGERS),
    ("POST", f"{V1}/replans/{{replan_id}}/acceptance"): Policy(
        rule(school_admin=409, hide=("other_school_admin",))
    ),
    ("POST", f"{V1}/programmes/{{programme_id}}/visits/swap"): Policy(
        rule(school_admin=409, office=409, hide=("other_school_admin",)),
        json=lambda w: {
            "first_visit_id": str(TARGETS["visit_id"]),
            "second_visit_id": str(TARGETS["other_visit_id"]),
        },
    ),
    ("POST", f"{V1}/parent/sessions"): Policy(
        public(400), public=True, json=lambda w: {"code": "0000-0000-0000-0000-0000"}
    ),
    ("GET", f"{V1}/parent/session"): Policy(rule(ok=PARENTS)),
    ("GET", f"{V1}/parent/programmes/{{programme_id}}"): Policy(rule(ok=PARENTS)),
    ("GET", f"{V1}/parent/households/{{household_id}}"): Policy(
        rule(ok=("parent",), hide=("other_parent",))
    ),
    ("GET", f"{V1}/parent/programmes/{{programme_id}}/households/{{household_id}}/answer"): (
        Policy(rule(ok=("parent",), hide=("other_parent",)))
    ),
    ("PUT", f"{V1}/parent/programmes/{{programme_id}}/households/{{household_id}}/answer"): (
        Policy(
            rule(ok=("parent",), hide=("other_parent",)),
            json=lambda w: {
                "unavailable": [{"day": VISIT_WEEK[1].isoformat(), "part": "afternoon"}]
            },
        )
    ),
    ("POST", f"{V1}/integration-clients"): Policy(
        rule(ok=("trust_admin", "school_admin"), other_school_admin=422, other_trust_admin=422),
        json=_client_body,
    ),
    ("GET", f"{V1}/integration-clients"): Policy(
        rule(
            ok=(
                "trust_admin",
                "school_admin",
                "other_school_admin",
                *MANAGERS_AWAY,
                "other_trust_admin",
            )
        )
    ),
    ("GET", f"{V1}/integration-clients/{{client_id}}"): Policy(ON_A_CLIENT),
    ("POST", f"{V1}/integration-clients/{{client_id}}/rotate-secret"): Policy(ON_A_CLIENT),
    ("POST", f"{V1}/integration-clients/{{client_id}}/revoke"): Policy(ON_A_CLIENT),
    # Notify's receipts carry Notify's own token, which no principal has (and the matrix
    # configures none): refused to everyone.
    ("POST", f"{V1}/notify/delivery-receipts"): Policy(
        public(401),
        public=True,
        json=lambda w: {
            "id": "740e5834-3a29-46b4-9a6f-16142fde533a",
            "reference": str(uuid4()),
            "to": "07700900000",
            "status": "delivered",
            "created_at": "2026-07-01T10:00:00.000000Z",
            "completed_at": "2026-07-01T10:00:05.000000Z",
            "sent_at": "2026-07-01T10:00:01.000000Z",
            "notification_type": "sms",
            "template_id": "f33517ff-2a88-4f6e-b855-c550268ce08a",
            "template_version": 1,
        },
    ),
    # What would have been sent: those who manage integrations, each at their own schools (an
    # empty page elsewhere).
    ("GET", f"{V1}/messages/log"): Policy(
        rule(
            ok=(
                "trust_admin",
                "school_admin",
                "other_school_admin",
                *MANAGERS_AWAY,
                "other_trust_admin",
            )
        )
    ),
    ("GET", f"{V1}/audit-events"): Policy(
        rule(ok=("platform_admin", "trust_admin", "other_trust_admin"))
    ),
    ("GET", f"{V1}/trusts/{{trust_id}}/message-templates"): Policy(TEMPLATE_READERS),
    ("GET", TEMPLATE): Policy(TEMPLATE_READERS),
    ("PUT", TEMPLATE): Policy(TEMPLATE_WRITERS, json=_template_body),
    ("DELETE", TEMPLATE): Policy(TEMPLATE_WRITERS),
    ("POST", f"{TEMPLATE}/preview"): Policy(TEMPLATE_READERS),
    # Any member of the school's staff raises a concern there; the platform's operator, parents
    # and clients are refused at the gate, other schools' and trusts' staff do not see it.
    ("POST", f"{V1}/schools/{{school_id}}/concerns"): Policy(
        rule(
            ok=HOME_ROLES,
            hide=("other_school_admin", "other_trust_admin"),
        ),
        json=_concern_body,
    ),
    ("GET", f"{V1}/schools/{{school_id}}/concerns"): Policy(NEED_TO_KNOW),
    ("GET", f"{V1}/concerns/{{concern_id}}"): Policy(NEED_TO_KNOW),
    ("GET", f"{V1}/concerns/{{concern_id}}/chronology"): Policy(NEED_TO_KNOW),
    ("POST", f"{V1}/concerns/{{concern_id}}/chronology"): Policy(
        NEED_TO_KNOW, json=lambda w: {"kind": "status", "status": "acknowledged"}
    ),
    ("GET", f"{V1}/concerns/{{concern_id}}/readers"): Policy(NEED_TO_KNOW),
    ("GET", f"{V1}/pupils/{{pupil_id}}/concerns"): Policy(NEED_TO_KNOW),
    # Counts by school, never which concern: the trust's admins and DSLs.
    ("GET", f"{V1}/trusts/{{trust_id}}/concern-counts"): Policy(
        rule(ok=("trust_admin", "trust_dsl"), hide=("other_trust_admin",))
    ),
    # A pupil's child protection file and its transfers: need-to-know, as its concerns are. The
    # matrix's transfer went from the home pupil's school to a school outside the trust, so its
    # DSLs confirm it and a receipt (a receiving school of the trust's) is refused (409).
    ("GET", f"{V1}/pupils/{{pupil_id}}/protection-file"): Policy(NEED_TO_KNOW),
    ("PUT", f"{V1}/pupils/{{pupil_id}}/protection-file/legal-hold"): Policy(
        NEED_TO_KNOW, json=lambda w: {"on_hold": True, "reason": "A court order"}
    ),
    ("POST", f"{V1}/pupils/{{pupil_id}}/protection-file/transfers"): Policy(
        NEED_TO_KNOW, json=_transfer_body
    ),
    ("GET", f"{V1}/schools/{{school_id}}/protection-file-transfers"): Policy(NEED_TO_KNOW),
    ("GET", f"{V1}/protection-file-transfers/{{transfer_id}}"): Policy(NEED_TO_KNOW),
    ("POST", f"{V1}/protection-file-transfers/{{transfer_id}}/receipt"): Policy(
        rule(
            hide=set(PRINCIPALS) - {*NEED_TO_KNOW_READERS, "anonymous"},
            dsl=409,
            trust_dsl=409,
        )
    ),
    ("POST", f"{V1}/protection-file-transfers/{{transfer_id}}/confirmation"): Policy(
        NEED_TO_KNOW,
        json=lambda w: {"confirmed_date": "2026-09-03", "confirmed_by_name": "Ms Okafor (DSL)"},
    ),
    ("GET", f"{V1}/concerns/{{concern_id}}/receipt"): Policy(
        rule(ok=(CONCERN_RAISER,), hide=set(PRINCIPALS) - {CONCERN_RAISER, "anonymous"})
    ),
    # Subject access: SLT (and the trust's admins) record a request and export the pupil's data;
    # the DSLs read it too, to decide a release, which is theirs alone and need-to-know.
    ("POST", f"{V1}/pupils/{{pupil_id}}/subject-access-requests"): Policy(
        SUBJECT_ACCESS_MANAGERS,
        json=lambda w: {
            "requester": "pupil",
            "requester_name": "The pupil",
            "received_date": VISIT_WEEK[0].isoformat(),
        },
    ),
    (
        "GET",
        f"{V1}/subject-access-requests/{{subject_access_request_id}}",
    ): Policy(
        rule(
            ok=("trust_admin", "school_admin", "dsl", "trust_dsl"),
            hide=("other_school_admin", "other_trust_admin"),
        )
    ),
    (
        "POST",
        f"{V1}/subject-access-requests/{{subject_access_request_id}}/safeguarding-release",
    ): Policy(NEED_TO_KNOW, json=lambda w: {"reason": "No risk to the child in disclosure"}),
    (
        "GET",
        f"{V1}/subject-access-requests/{{subject_access_request_id}}/export",
    ): Policy(SUBJECT_ACCESS_MANAGERS),
    # Surveys: the trust's templates, read by its staff and written by its admins; a survey is
    # answered by the member of staff or the household it was issued to, hidden from all others.
    ("GET", f"{V1}/trusts/{{trust_id}}/survey-templates"): Policy(SURVEY_TEMPLATE_READERS),
    ("GET", SURVEY_TEMPLATE): Policy(SURVEY_TEMPLATE_READERS),
    ("PUT", SURVEY_TEMPLATE): Policy(
        rule(ok=("trust_admin",), hide=("other_trust_admin",)), json=_survey_template_body
    ),
    ("GET", f"{V1}/survey-invitations"): Policy(rule(ok=TRUST_STAFF)),
    ("GET", MY_SURVEY): Policy(MY_SURVEY_RULE),
    ("PUT", f"{MY_SURVEY}/answers"): Policy(
        MY_SURVEY_RULE, json=lambda w: {"answers": {"know_child_better": 4}}
    ),
    ("POST", f"{MY_SURVEY}/submit"): Policy(MY_SURVEY_RULE, json=_teacher_answers),
    ("GET", f"{V1}/parent/surveys"): Policy(rule(ok=PARENTS)),
    ("GET", FAMILY_SURVEY): Policy(FAMILY_SURVEY_RULE),
    ("PUT", f"{FAMILY_SURVEY}/answers"): Policy(
        FAMILY_SURVEY_RULE, json=lambda w: {"answers": {"visit_helpful": 5}}
    ),
    ("POST", f"{FAMILY_SURVEY}/submit"): Policy(FAMILY_SURVEY_RULE, json=_family_answers),
    # Survey results: the school's SLT and the trust's admins; the trust's, its admins alone.
    ("GET", f"{V1}/reports/programmes/{{programme_id}}/surveys"): Policy(SURVEY_RESULTS_READERS),
    ("GET", f"{V1}/reports/schools/{{school_id}}/surveys"): Policy(SURVEY_RESULTS_READERS),
    ("GET", f"{V1}/reports/trusts/{{trust_id}}/surveys"): Policy(
        rule(ok=("trust_admin",), hide=("other_trust_admin",))
    ),
    ("GET", f"{V1}/reports/programmes/{{programme_id}}/surveys/{{audience}}/free-text"): Policy(
        SURVEY_RESULTS_READERS
    ),
    # Reports: the school's SLT read its programmes' and its own; the trust's admins the trust's
    # and every school's; a school's SLT is refused the trust's (403: they see the trust).
    ("GET", f"{V1}/reports/programmes/{{programme_id}}"): Policy(REPORT_READERS),
    ("GET", f"{V1}/reports/programmes/{{programme_id}}/export.csv"): Policy(REPORT_READERS),
    ("GET", f"{V1}/reports/schools/{{school_id}}"): Policy(REPORT_READERS),
    ("GET", f"{V1}/reports/schools/{{school_id}}/export.csv"): Policy(REPORT_READERS),
    ("GET", f"{V1}/reports/trusts/{{trust_id}}"): Policy(TRUST_REPORT_READERS),
    ("GET", f"{V1}/reports/trusts/{{trust_id}}/export.csv"): Policy(TRUST_REPORT_READERS),
    ("GET", f"{V1}/reports/schools/{{school_id}}/termly.html"): Policy(REPORT_READERS),
    ("GET", f"{V1}/reports/trusts/{{trust_id}}/termly.html"): Policy(TRUST_REPORT_READERS),
}
