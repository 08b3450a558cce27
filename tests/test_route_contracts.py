# ruff: noqa: F811 (tests request the fixtures imported from the route matrix by name)
"""What every route promises about retries and versions, checked on the routes the app has.

Routes are discovered from the app, as the route matrix discovers them, so a new route is held
to these from its first day: a creating POST must honour `Idempotency-Key` (declare it, and
answer a retry with the first answer, writing nothing), and a single resource that can change
must carry an ETag. The requests are the route matrix's, sent as the first principal its policy
lets through.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time
from typing import Any, get_origin
from uuid import uuid4

import httpx
import pytest
from pydantic import TypeAdapter
from sqlmodel import col, delete, update

from app.core import db
from app.core.idempotency import CREATED, IdempotentRoute
from app.core.pagination import Page
from app.core.schemas import without_secrets
from app.core.tenancy import system_scope
from app.programmes.models import ProgrammeStatus, Slot, VisitProgramme
from app.synthetic.generator import World
from app.visits.change_requests_models import VisitChangeRequest
from app.visits.models import Visit, VisitStatus
from tests.conftest import all_rows, bearer
from tests.programmes.test_programmes import TUESDAY, move
from tests.route_policy import CLIENTS, OK, PARENTS, POLICIES, PRINCIPALS, TARGETS
from tests.test_route_matrix import (  # noqa: F401 (the matrix's seeded world, by fixture name)
    API_ROUTES,
    APP,
    Targets,
    _login,
    _path,
    clean_tables,
    seeded,
    targets,
    world,
    world_and_targets,
)

ROUTES = {(method, path): route for path, route in API_ROUTES for method in route.methods or ()}

# Requests that create nothing the caller keeps, so a key would protect nothing.
NOT_CREATING = {
    ("POST", "/api/v1/parent/sessions"): "a sign-in: a retry signs in again",
}
# Requests that are not POSTs creating something, yet honour a key.
ALSO_IDEMPOTENT = {
    ("PUT", "/api/v1/schools/{school_id}/roster"): "a retried snapshot answers the first report",
}
CREATING = sorted(
    (method, path)
    for (method, path), route in ROUTES.items()
    if method == "POST" and route.status_code in CREATED and (method, path) not in NOT_CREATING
)

# Single resources that change but carry no ETag yet, each with what it would take.
NO_ETAG_YET: dict[str, str] = {}


def _changes(path: str) -> bool:
    """A resource changes if its own path takes PATCH, PUT or DELETE, or an action is POSTed to
    a sub-path of it (`…/revoke`); creating POSTs under it make other resources."""
    for method, other in ROUTES:
        if other == path and method in {"PATCH", "PUT", "DELETE"}:
            return True
        action = other.removeprefix(path + "/")
        creates = ROUTES[(method, other)].status_code in CREATED
        if method == "POST" and other != action and "/" not in action and not creates:
            return True
    return False


def _single(route: IdempotentRoute) -> bool:
    model = route.response_model
    if model is None or get_origin(model) is list:
        return False
    return not (isinstance(model, type) and issubclass(model, Page))


SINGLE_CHANGING = sorted(
    path
    for (method, path), route in ROUTES.items()
    if method == "GET" and isinstance(route, IdempotentRoute) and _single(route) and _changes(path)
)


def test_every_route_is_built_by_the_one_route_class() -> None:
    """The route class is what gives a creating POST its key: a router made without it would
    silently take none."""
    assert [path for path, route in API_ROUTES if not isinstance(route, IdempotentRoute)] == []


def test_the_routes_found_are_the_ones_expected() -> None:
    """The walk finds what it should: a rule that found nothing would pass every check."""
    assert len(CREATING) >= 10
    assert ("POST", "/api/v1/integration-clients") in CREATING
    assert ("POST", "/api/v1/programmes/{programme_id}/schedule-runs") in CREATING
    assert "/api/v1/trusts/{trust_id}" in SINGLE_CHANGING
    assert "/api/v1/integration-clients/{client_id}" in SINGLE_CHANGING
    assert "/api/v1/schedule-runs/{run_id}" not in SINGLE_CHANGING
    assert set(NO_ETAG_YET) <= set(SINGLE_CHANGING)


def _declares_key(method: str, path: str) -> bool:
    operation = APP.openapi()["paths"][path][method.lower()]
    return any(
        p["in"] == "header" and p["name"] == "Idempotency-Key"
        for p in operation.get("parameters", [])
    )


def test_the_key_is_declared_exactly_where_it_is_honoured() -> None:
    honoured = {
        key
        for key, route in ROUTES.items()
        if isinstance(route, IdempotentRoute) and route.honours_idempotency_key
    }
    assert honoured == set(CREATING) | set(ALSO_IDEMPOTENT)
    assert sorted(key for key in ROUTES if _declares_key(*key)) == sorted(honoured)


async def _scheduling(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """The matrix's programme is still collecting answers; a run starts once it schedules."""
    moved = await move(client, str(TARGETS["programme_id"]), headers, "scheduling")
    assert moved.status_code == 200, moved.text


async def _a_family_to_place(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Scheduling, the matrix's two visits cancelled (their families to place again) and a free
    slot mid-morning, so the home teacher can reach the family and be back by noon."""
    await _scheduling(client, headers)
    programme_id = TARGETS["programme_id"]
    async with db.open_session(system_scope("contracts: a family to place")) as session:
        await session.execute(
            update(Visit)
            .where(col(Visit.programme_id) == programme_id)
            .values(status=VisitStatus.CANCELLED)
        )
        programme = await session.get(VisitProgramme, programme_id)  # tenancy: system scope
        assert programme is not None
        slot = Slot(
            trust_id=programme.trust_id,
            school_id=programme.school_id,
            programme_id=programme_id,
            day=TUESDAY,
            starts_at=datetime.combine(TUESDAY, time(9, 30), tzinfo=UTC),  # 10:30 BST
            ends_at=datetime.combine(TUESDAY, time(10, 15), tzinfo=UTC),
        )
        session.add(slot)
    TARGETS["free_slot_id"] = slot.id


async def _a_booked_visit(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """The matrix's programme published, the home family's visit given to it."""
    async with db.open_session(system_scope("contracts: a booked visit")) as session:
        await session.execute(
            update(VisitProgramme)
            .where(col(VisitProgramme.id) == TARGETS["programme_id"])
            .values(status=ProgrammeStatus.PUBLISHED)
        )
        await session.execute(
            update(Visit)
            .where(col(Visit.id) == TARGETS["visit_id"])
            .values(status=VisitStatus.SCHEDULED)
        )
        await session.execute(
            delete(VisitChangeRequest).where(
                col(VisitChangeRequest.visit_id) == TARGETS["visit_id"]
            )
        )


Prepare = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[None]]
# Routes the matrix's state refuses to everyone (409), with who succeeds once prepared, and how.
PREPARED: dict[tuple[str, str], tuple[str, Prepare]] = {
    ("POST", "/api/v1/programmes/{programme_id}/schedule-runs"): ("school_admin", _scheduling),
    ("POST", "/api/v1/programmes/{programme_id}/visits"): ("school_admin", _a_family_to_place),
    (
        "POST",
        "/api/v1/parent/programmes/{programme_id}/households/{household_id}/visit/change-requests",
    ): ("parent", _a_booked_visit),
    ("POST", "/api/v1/programmes/{programme_id}/replans"): ("school_admin", _a_booked_visit),
}


async def _headers(world: World, targets: Targets, method: str, path: str) -> dict[str, str]:
    """Credentials of the first principal the route matrix's policy lets through."""
    policy = POLICIES[(method, path)]
    if (method, path) in PREPARED:
        principal = PREPARED[(method, path)][0]
    else:
        principal = next(p for p in PRINCIPALS if policy.expect[p] == OK)
    if principal in PARENTS or principal in CLIENTS:
        headers = dict(targets.headers[principal])
    else:
        login = _login(world, targets, principal)
        assert login is not None
        headers = await bearer(login)
    if method in {"PATCH", "PUT", "DELETE"} or policy.if_match:
        headers["If-Match"] = "*"
    return headers


def _content(world: World, method: str, path: str) -> dict[str, Any]:
    """The route matrix's body for this route (made once: some are new each time)."""
    policy = POLICIES[(method, path)]
    content: dict[str, Any] = {}
    if policy.json:
        content["json"] = policy.json(world)
    if policy.form:
        content["data"] = policy.form(world)
    if policy.files:
        content["files"] = policy.files(world)
    return content


@pytest.mark.parametrize(("method", "path"), CREATING + sorted(ALSO_IDEMPOTENT))
async def test_a_retry_with_the_same_key_answers_the_first_answer(
    client: httpx.AsyncClient, world: World, targets: Targets, method: str, path: str
) -> None:
    headers = await _headers(world, targets, method, path)
    if (method, path) in PREPARED:
        await PREPARED[(method, path)][1](client, headers)
    url = _path(path, world, targets)
    content = _content(world, method, path)
    headers["Idempotency-Key"] = f"walk-{uuid4()}"
    first = await client.request(method, url, headers=headers, **content)
    assert 200 <= first.status_code < 300, first.text
    assert "idempotent-replayed" not in first.headers
    before = await all_rows()
    again = await client.request(method, url, headers=headers, **content)
    assert again.status_code == first.status_code, again.text
    assert again.headers["idempotent-replayed"] == "true"
    model = TypeAdapter(ROUTES[(method, path)].response_model).validate_python(first.json())
    assert again.json() == without_secrets(model)
    assert await all_rows() == before, "a replay wrote"


@pytest.mark.parametrize("path", SINGLE_CHANGING)
async def test_a_single_resource_that_changes_carries_its_etag(
    client: httpx.AsyncClient, world: World, targets: Targets, path: str
) -> None:
    headers = await _headers(world, targets, "GET", path)
    response = await client.get(_path(path, world, targets), headers=headers)
    assert response.status_code == 200, response.text
    if path in NO_ETAG_YET:
        assert "etag" not in response.headers, f"{path} has an ETag now: drop it from NO_ETAG_YET"
        return
    assert response.headers["etag"].startswith('"'), response.headers["etag"]
    assert response.headers["etag"].endswith('"'), response.headers["etag"]
