"""Contract fuzzing: Schemathesis generates valid and invalid requests for every operation in the
app's own OpenAPI document, as each role in turn, and checks that the API never fails with a
server error, answers only documented statuses and content types, conforms to its response
schemas, rejects invalid data and never ignores authentication.

A parent (signed in with an invitation code) and an integration client (client-credentials
token with every scope, at one school) are fuzzed as two more roles. Examples per operation and
role are bounded (THRESHOLD_FUZZ_EXAMPLES, default 4) to keep CI short.

Each operation is fuzzed only as the roles that pass its permission gate, read from the route
matrix's policy (tests/route_policy.py): a role the policy refuses with 403 would stop at the
gate on every generated case, re-proving a refusal the matrix already asserts, route by route.
A public operation reads no token, so it is fuzzed once rather than once per role.
"""

import os
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS
from schemathesis.core.result import Ok
from schemathesis.generation.case import Case
from schemathesis.schemas import BaseSchema

from app.core import db
from app.core.permissions import Role
from app.core.settings import get_settings
from app.main import create_app
from app.synthetic.generator import World
from tests.conftest import integration_bearer, load_roster, sign_in
from tests.parents.helpers import a_collecting_programme, household_of, parent_bearer
from tests.roster.snapshots import small_snapshot
from tests.route_policy import DENY, POLICIES

EXAMPLES = int(os.environ.get("THRESHOLD_FUZZ_EXAMPLES", "4"))
FUZZ_APP = create_app()
# Random generation runs as every role. The coverage phase (every boundary and negative case
# the schema defines, which max_examples does not bound) runs once, as a school's SLT and as a
# trust admin: the cases are about input, and running them eight times would cost CI minutes.
schema = schemathesis.openapi.from_asgi("/openapi.json", FUZZ_APP)
schema.config.phases.coverage.enabled = False
boundaries = schemathesis.openapi.from_asgi("/openapi.json", FUZZ_APP)
boundaries.config.phases.fuzzing.enabled = False
boundaries.config.phases.examples.enabled = False
BOUNDARY_ROLES = [Role.SCHOOL_ADMIN, Role.TRUST_ADMIN]

# Every staff role, a parent signed in with an invitation code, and a machine client.
PARENT = "parent"
INTEGRATION = "integration"
ROLES: list[Role | str] = [
    Role.PLATFORM_ADMIN,
    Role.TRUST_ADMIN,
    Role.TRUST_DSL,
    Role.SCHOOL_ADMIN,
    Role.DSL,
    Role.OFFICE,
    Role.TEACHER,
    Role.SUPPORT_STAFF,
    PARENT,
    INTEGRATION,
]
CHECK_NAMES = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
}


def callers(method: str, path: str, preferred: Sequence[Role | str]) -> list[Role | str]:
    """The roles of `preferred` an operation is fuzzed as: those its policy lets past the
    permission gate (anything but 403 at the home objects). A public operation, which reads no
    token, takes only the first; one that none of `preferred` passes takes the first of every
    fuzzed role that does, so no operation goes unfuzzed."""
    policy = POLICIES[(method.upper(), path)]
    if policy.public:
        return [preferred[0]]
    passing = [r for r in preferred if policy.expect[str(r)] != DENY]
    return passing or [r for r in ROLES if policy.expect[str(r)] != DENY][:1]


def _as(source: BaseSchema, role: Role | str, preferred: Sequence[Role | str]) -> BaseSchema:
    def fuzzed(ctx: Any) -> bool:
        return role in callers(ctx.operation.method, ctx.operation.path, preferred)

    return source.include(fuzzed)


def _checks() -> list[Any]:
    found = [check for check in CHECKS.get_all() if check.__name__ in CHECK_NAMES]
    assert {c.__name__ for c in found} == CHECK_NAMES
    return found


@pytest.fixture
async def token(world: World, role: Role | str) -> str:
    if role == PARENT:
        await load_roster(world, small_snapshot(world))
        programme_id = await a_collecting_programme(world)
        headers = await parent_bearer(programme_id, await household_of("P-1"))
        return headers["Authorization"].removeprefix("Bearer ")
    if role == INTEGRATION:
        scopes = ("roster:read", "roster:write", "visits:read")
        _, headers = await integration_bearer(world, [0], scopes=scopes)
        return headers["Authorization"].removeprefix("Bearer ")
    return str((await sign_in(world.login(Role(role))))["access_token"])


@pytest.fixture
def per_call_connections() -> Iterator[None]:
    """Schemathesis drives the app from its own thread and event loop; connections must not be
    pooled across loops, so the app gets an unpooled engine for the duration of the test."""
    previous = db.get_database()
    db.use_database(db.Database(get_settings(), pooled=False))
    yield
    db.use_database(previous)


def _contract_test(role: Role | str) -> Any:
    """Random generation as `role`, over the operations it passes the gate of."""

    @pytest.mark.parametrize("role", [role], ids=[str(role)])
    @_as(schema, role, ROLES).parametrize()
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def test(case: Case[Any], role: Role | str, token: str, per_call_connections: None) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=_checks())

    return test


def _boundary_test(role: Role | str) -> Any:
    """The coverage phase as `role`, over the operations it is chosen for (see `callers`)."""

    @pytest.mark.parametrize("role", [role], ids=[str(role)])
    @_as(boundaries, role, BOUNDARY_ROLES).parametrize()
    @settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def test(case: Case[Any], role: Role | str, token: str, per_call_connections: None) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=_checks())

    return test


test_api_honours_its_contract_as_platform_admin = _contract_test(Role.PLATFORM_ADMIN)
test_api_honours_its_contract_as_trust_admin = _contract_test(Role.TRUST_ADMIN)
test_api_honours_its_contract_as_trust_dsl = _contract_test(Role.TRUST_DSL)
test_api_honours_its_contract_as_school_admin = _contract_test(Role.SCHOOL_ADMIN)
test_api_honours_its_contract_as_dsl = _contract_test(Role.DSL)
test_api_honours_its_contract_as_office = _contract_test(Role.OFFICE)
test_api_honours_its_contract_as_teacher = _contract_test(Role.TEACHER)
test_api_honours_its_contract_as_support_staff = _contract_test(Role.SUPPORT_STAFF)
test_api_honours_its_contract_as_parent = _contract_test(PARENT)
test_api_honours_its_contract_as_integration = _contract_test(INTEGRATION)

test_boundaries_are_refused_cleanly_as_school_admin = _boundary_test(Role.SCHOOL_ADMIN)
test_boundaries_are_refused_cleanly_as_trust_admin = _boundary_test(Role.TRUST_ADMIN)
# The operations neither boundary role passes the gate of: creating a trust, and the parents'.
test_boundaries_are_refused_cleanly_as_platform_admin = _boundary_test(Role.PLATFORM_ADMIN)
test_boundaries_are_refused_cleanly_as_parent = _boundary_test(PARENT)
# The adults on a visit alone pass the gate of writing a note after it and of checking in
# and out (SLT see the visit: 403); a teacher stands for them.
test_boundaries_are_refused_cleanly_as_teacher = _boundary_test(Role.TEACHER)


def _operations(source: BaseSchema) -> set[tuple[str, str]]:
    found = set()
    for result in source.get_all_operations():
        assert isinstance(result, Ok), result
        found.add((result.ok().method.upper(), result.ok().path))
    return found


def test_every_operation_is_fuzzed_as_exactly_the_roles_past_its_gate() -> None:
    """Each test above covers exactly the operations `callers` gives its role, every operation
    is fuzzed as someone in both phases, and the module defines a test for every role chosen."""
    every = _operations(schema)
    assert every == set(POLICIES)
    defined = {name for name in globals() if name.startswith("test_")}
    for phase, preferred, source in (
        ("api_honours_its_contract", ROLES, schema),
        ("boundaries_are_refused_cleanly", BOUNDARY_ROLES, boundaries),
    ):
        chosen = {(m, p): callers(m, p, preferred) for m, p in every}
        assert all(chosen.values()), "an operation nobody fuzzes"
        for role in {r for roles in chosen.values() for r in roles}:
            assert f"test_{phase}_as_{role}" in defined
            expected = {op for op, roles in chosen.items() if role in roles}
            assert _operations(_as(source, role, preferred)) == expected
    # A role refused at the gate is never fuzzed there, and every role past it is.
    for (method, path), policy in POLICIES.items():
        if not policy.public:
            past = {str(r) for r in ROLES if policy.expect[str(r)] != DENY}
            assert {str(r) for r in callers(method, path, ROLES)} == past
