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
    # The roster: names and classes; contact details and addresses; the equity flags (FSM,
    # pupil premium, looked-after); and writing it (sync, imports, splitting households).
    ROSTER_READ = "roster:read"
    ROSTER_CONTACTS = "roster:contacts"
    ROSTER_SENSITIVE = "roster:sensitive"
    ROSTER_WRITE = "roster:write"
    INTEGRATIONS_MANAGE = "integrations:manage"
    # Visit programmes: reading them (every member of a school), running them (SLT).
    PROGRAMMES_READ = "programmes:read"
    PROGRAMMES_MANAGE = "programmes:manage"
    # SLT's free-text reasons for exempting a household or offering it a neutral venue (often
    # safeguarding): SLT, the DSLs and trust admins; everyone else reads the kind, not the why.
    EXEMPTION_REASONS = "exemptions:reasons"
    # Every member of staff reads the visits they are on and their own classes' visits; SLT, the
    # DSLs, the office and the trust read every visit of their schools.
    VISITS_READ = "visits:read"
    VISITS_READ_ALL = "visits:read-all"
    # Arranging a family's visit by hand (a family the schedule could not place): SLT and the
    # office, who take the families' calls.
    VISITS_ARRANGE = "visits:arrange"
    # Notes after the visit: read by the staff who teach the child and the school's SLT, nobody
    # else (not the office, not the DSLs as such: a note is no place for safeguarding).
    VISIT_NOTES_READ_ALL = "visit-notes:read-all"
    # Visits in the field: the two adults on a visit record its outcome and check in and out
    # (being on it is their right, no permission needed); SLT record any visit's outcome at
    # their school; SLT and the office follow the day (its board) and close a visit no one could
    # make (no access) as not visited.
    VISITS_OUTCOMES = "visits:outcomes"
    VISITS_FOLLOW_UP = "visits:follow-up"
    # Reaching families: invitations and their codes, the chase list, entering a family's answer.
    FAMILIES_CHASE = "families:chase"
    # A staff member's own periods when they cannot visit.
    AVAILABILITY_OWN = "availability:own"
    # A parent's own household in one programme, through the parent portal.
    PARENT_PORTAL = "parent:portal"
    # The trust's wording of its messages to families and staff, in every language: changed by
    # the trust's admins (one wording for every school), read and previewed by each school's SLT
    # and office, who answer families' questions about what they were sent.
    MESSAGES_TEMPLATES = "messages:templates"
    MESSAGES_TEMPLATES_READ = "messages:templates-read"
    # Safeguarding: every member of a school's staff raises a concern there; only the school's
    # DSLs and the trust's DSLs read concerns (need-to-know), and move them on.
    SAFEGUARDING_RAISE = "safeguarding:raise"
    SAFEGUARDING_READ = "safeguarding:read"
    # How many concerns each school raised during a programme, suppressed when small: the
    # trust's admins and DSLs, who answer for the programme; never which, or about whom.
    SAFEGUARDING_COUNTS = "safeguarding:counts"
    # Subject access requests: SLT record them and export the pupil's data; the trust's admins
    # answer for the trust as data controller. Releasing safeguarding records into an export is
    # the DSLs' (SAFEGUARDING_READ).
    SUBJECT_ACCESS = "subject-access:manage"
    # Surveys: the trust's templates, written by its admins and read by every member of its
    # staff; each member answers the surveys issued to them (nobody else's).
    SURVEYS_TEMPLATES = "surveys:templates"
    SURVEYS_TEMPLATES_READ = "surveys:templates-read"
    SURVEYS_ANSWER = "surveys:answer"
    # Results and reports: SLT of a school and the trust's admins read how the programme
    # reached families (by pupil group too), staff load, preferences met and survey results,
    # small numbers suppressed; free-text survey answers are theirs alone.
    SURVEYS_RESULTS = "surveys:results"
    REPORTS_READ = "reports:read"


P = Permission
_EVERY_STAFF_MEMBER = {
    P.TRUSTS_READ,
    P.SCHOOLS_READ,
    P.ROSTER_READ,
    P.PROGRAMMES_READ,
    P.AVAILABILITY_OWN,
    P.VISITS_READ,
    P.SAFEGUARDING_RAISE,
    P.SURVEYS_TEMPLATES_READ,
    P.SURVEYS_ANSWER,
}
_SLT = {P.ROSTER_CONTACTS, P.ROSTER_SENSITIVE, P.VISITS_READ_ALL, P.EXEMPTION_REASONS}

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
            P.ROSTER_WRITE,
            P.INTEGRATIONS_MANAGE,
            P.MESSAGES_TEMPLATES,
            P.MESSAGES_TEMPLATES_READ,
            P.SAFEGUARDING_COUNTS,
            P.SUBJECT_ACCESS,
            P.SURVEYS_TEMPLATES,
            P.SURVEYS_RESULTS,
            P.REPORTS_READ,
        }
        | _SLT
    ),
    Role.TRUST_DSL: frozenset(
        _EVERY_STAFF_MEMBER | _SLT | {P.SAFEGUARDING_READ, P.SAFEGUARDING_COUNTS}
    ),
    Role.SCHOOL_ADMIN: frozenset(
        _EVERY_STAFF_MEMBER
        | _SLT
        | {
            P.VISIT_NOTES_READ_ALL,
            P.VISITS_ARRANGE,
            P.STAFF_READ,
            P.STAFF_MANAGE,
            P.ROSTER_WRITE,
            P.INTEGRATIONS_MANAGE,
            P.PROGRAMMES_MANAGE,
            P.FAMILIES_CHASE,
            P.MESSAGES_TEMPLATES_READ,
            P.VISITS_OUTCOMES,
            P.VISITS_FOLLOW_UP,
            P.SUBJECT_ACCESS,
            P.SURVEYS_RESULTS,
            P.REPORTS_READ,
        }
    ),
    Role.DSL: frozenset(_EVERY_STAFF_MEMBER | _SLT | {P.SAFEGUARDING_READ}),
    # The office chases families: contact details and addresses, not the equity flags.
    Role.OFFICE: frozenset(
        _EVERY_STAFF_MEMBER
        | {
            P.ROSTER_CONTACTS,
            P.FAMILIES_CHASE,
            P.VISITS_READ_ALL,
            P.VISITS_ARRANGE,
            P.VISITS_FOLLOW_UP,
            P.MESSAGES_TEMPLATES_READ,
        }
    ),
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


# What an integration client's OAuth scopes let it do. The MIS that feeds the roster may read it
# back whole, contact details and flags included.
INTEGRATION_SCOPES: dict[str, frozenset[Permission]] = {
    "roster:read": frozenset({P.ROSTER_READ, P.ROSTER_CONTACTS, P.ROSTER_SENSITIVE}),
    "roster:write": frozenset({P.ROSTER_WRITE}),
    "visits:read": frozenset({P.VISITS_READ, P.VISITS_READ_ALL}),
}
