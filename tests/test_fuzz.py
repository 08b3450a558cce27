"""Contract fuzzing: Schemathesis generates valid and invalid requests for every operation in the
app's own OpenAPI document, as each role in turn, and checks that the API never fails with a
server error, answers only documented statuses and content types, conforms to its response
schemas, rejects invalid data and never ignores authentication.

A parent (signed in with an invitation code) and an integration client (client-credentials
token with every scope, at one school) are fuzzed as two more roles. Examples per operation and
role are bounded (THRESHOLD_FUZZ_EXAMPLES, default 4) to keep CI short.
"""

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS
from schemathesis.generation.case import Case

from app.core import db
from app.core.permissions import Role
from app.core.settings import get_settings
from app.main import create_app
from app.synthetic.generator import World
from tests.conftest import integration_bearer, load_roster, sign_in
from tests.parents.helpers import a_collecting_programme, household_of, parent_bearer
from tests.roster.snapshots import small_snapshot

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


@pytest.mark.parametrize("role", ROLES, ids=[str(r) for r in ROLES])
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_honours_its_contract(
    case: Case[Any], role: Role | str, token: str, per_call_connections: None
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=_checks())


@pytest.mark.parametrize("role", BOUNDARY_ROLES, ids=[r.value for r in BOUNDARY_ROLES])
@boundaries.parametrize()
@settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_boundaries_are_refused_cleanly(
    case: Case[Any], role: Role, token: str, per_call_connections: None
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=_checks())
