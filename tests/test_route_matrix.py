"""Every route of the app, called as every principal, against the policy in route_policy.py.

Routes are discovered from the app itself, so a new route is covered from its first day: it
fails here until it declares `require(...)` (or is listed public in app/api.py) and has a policy.
Whenever a caller from another school or trust gets a 2xx, the answer must not contain a single
id of the home tenant's objects.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlmodel import col, delete, select, update

from app.api import PUBLIC_ROUTES
from app.core import db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.main import create_app
from app.programmes.models import HouseholdExemption
from app.roster.models import Pupil, SchoolClass
from app.staff.models import StaffUnavailability
from app.synthetic.dates import VISIT_WEEK
from app.synthetic.generator import Login, World
from app.trusts.models import School
from app.visits.alerts_models import OverdueKind, VisitAlert
from app.visits.change_requests_models import ChangeKind, VisitChangeRequest
from app.visits.models import (
    Visit,
)
from app.visits.replans_models import Replan
from tests.conftest import (
    TableSnapshot,
    all_rows,
    bearer,
    empty_tables,
    insert_generated_world,
    integration_bearer,
    load_roster,
    staff_with_roles,
)
from tests.parents.helpers import a_collecting_programme, parent_bearer
from tests.roster.helpers import queued_import
from tests.roster.snapshots import small_snapshot
from tests.route_policy import (
    CONCERN_ACCOUNT,
    CONCERN_RAISER,
    MIXED,
    NEED_TO_KNOW_READERS,
    NO_TRACE,
    OK,
    PARENTS,
    POLICIES,
    PRINCIPALS,
    SLT_AT_HOME,
    TARGETS,
    TRUST_DSL_SLT_AT_HOME,
    TRUST_DSL_SLT_AWAY,
    TWO_SCHOOLS,
    Policy,
)
from tests.visits.helpers import a_run_and_visit

APP = create_app()
# Included routers are flattened with their prefixes, as the app itself resolves them.
API_ROUTES = [
    (str(context.path), context.original_route)
    for context in iter_route_contexts(APP.routes)
    if isinstance(context.original_route, APIRoute)
]
ROUTES = sorted((method, path) for path, route in API_ROUTES for method in route.methods or ())


def _requires_permissions(dependant: Dependant) -> bool:
    return any(
        hasattr(d.call, "required_permissions") or _requires_permissions(d)
        for d in dependant.dependencies
    )


def test_every_route_is_either_guarded_or_declared_public() -> None:
    assert len(API_ROUTES) > 20
    for path, route in API_ROUTES:
        for method in route.methods or ():
            guarded = _requires_permissions(route.dependant)
            listed = (method, path) in PUBLIC_ROUTES
            assert guarded != listed, (
                f"{method} {path}: add require(...) or list it in app/api.py PUBLIC_ROUTES"
            )


def test_every_route_has_a_policy() -> None:
    assert set(ROUTES) - set(POLICIES) == set(), "routes without a policy in tests/route_policy.py"
    assert set(POLICIES) - set(ROUTES) == set(), "policies for routes that no longer exist"


def _login(world: World, targets: "Targets", principal: str) -> Login | None:
    if principal == "anonymous":
        return None
    if principal in MIXED:
        return targets.mixed[principal]
    if principal == "other_school_admin":
        return world.login(Role.SCHOOL_ADMIN, trust=0, school=1)
    if principal == "other_trust_admin":
        return world.login(Role.TRUST_ADMIN, trust=1)
    return world.login(Role(principal), trust=0, school=0)


EVERY_SCOPE = ("roster:read", "roster:write", "visits:read")
# The roles (and school indexes, None for the trust) of the mixed-role members in route_policy.py.
MIXED_ROLES: dict[str, list[tuple[Role, int | None]]] = {
    TWO_SCHOOLS: [(Role.TEACHER, 0), (Role.SCHOOL_ADMIN, 2)],
    SLT_AT_HOME: [(Role.SCHOOL_ADMIN, 0), (Role.TEACHER, 2)],
    TRUST_DSL_SLT_AWAY: [(Role.TRUST_DSL, None), (Role.SCHOOL_ADMIN, 2)],
    TRUST_DSL_SLT_AT_HOME: [(Role.TRUST_DSL, None), (Role.SCHOOL_ADMIN, 0)],
}


@dataclass(frozen=True)
class Targets:
    """The home objects beyond the generated world: school 0's roster and a client of it."""

    class_id: UUID
    household_id: UUID
    client_id: UUID
    import_id: UUID
    mixed: dict[str, Login]
    # Every principal's Authorization header (none for anonymous callers), signed in once by
    # the build: the sessions are among the rows each case is restored to.
    headers: dict[str, dict[str, str]]


async def _build_targets(world: World) -> Targets:
    await load_roster(world, small_snapshot(world))
    async with db.open_session(system_scope("matrix targets")) as session:
        class_id = await session.scalar(select(SchoolClass.id).where(SchoolClass.mis_id == "C-R1"))
        household_id = await session.scalar(select(Pupil.household_id).where(Pupil.mis_id == "P-1"))
        pupil_id = await session.scalar(select(Pupil.id).where(Pupil.mis_id == "P-1"))
        other_household_id = await session.scalar(
            select(Pupil.household_id).where(Pupil.mis_id == "P-3")
        )
    assert class_id is not None
    assert household_id is not None
    TARGETS.update(pupil_id=pupil_id, other_household_id=other_household_id)
    client_id, headers = await integration_bearer(world, [0], scopes=EVERY_SCOPE)
    _, other_headers = await integration_bearer(world, [1], scopes=EVERY_SCOPE)
    mixed = {member: await staff_with_roles(world, roles) for member, roles in MIXED_ROLES.items()}
    import_id = await _an_import(world)
    TARGETS["programme_id"] = await a_collecting_programme(world)
    TARGETS["parent"] = await parent_bearer(TARGETS["programme_id"], household_id)
    TARGETS["other_parent"] = await parent_bearer(TARGETS["programme_id"], other_household_id)
    TARGETS["period_id"] = await _a_period(world)
    TARGETS["run_id"], TARGETS["visit_id"] = await a_run_and_visit(
        TARGETS["programme_id"], household_id, world.login(Role.TEACHER).staff_id
    )
    _, TARGETS["other_visit_id"] = await a_run_and_visit(
        TARGETS["programme_id"], other_household_id, world.login(Role.TEACHER).staff_id
    )
    TARGETS["request_id"] = await _a_change_request(world, household_id)
    TARGETS["alert_id"] = await _an_alert(world)
    TARGETS["replan_id"] = await _a_replan(world)
    TARGETS["concern_id"] = await _a_concern(world)
    TARGETS["transfer_id"] = await _a_transfer(world)
    TARGETS["subject_access_request_id"] = await _a_subject_access_request(world)
    TARGETS["invitation_id"], TARGETS["survey_id"] = await _surveys(world, household_id)
    targets = Targets(class_id, household_id, client_id, import_id, mixed, {})
    targets.headers.update(integration=headers, other_integration=other_headers)
    for principal in PARENTS:
        targets.headers[principal] = TARGETS.pop(principal)
    for principal in set(PRINCIPALS) - set(targets.headers):
        login = _login(world, targets, principal)
        targets.headers[principal] = await bearer(login) if login else {}
    return targets


async def _a_change_request(world: World, household_id: UUID) -> UUID:
    """The home family's open request about its visit, as the portal leaves one."""
    school = world.trusts[0].schools[0]
    async with db.open_session(system_scope("matrix change request")) as session:
        request = VisitChangeRequest(
            trust_id=school.trust_id,
            school_id=school.id,
            programme_id=TARGETS["programme_id"],
            household_id=household_id,
            visit_id=TARGETS["visit_id"],
            kind=ChangeKind.NEW_TIME,
            reason="A hospital appointment",
        )
        session.add(request)
    return request.id


async def _an_alert(world: World) -> UUID:
    """An open safety alert on the home visit, as the planner raises one."""
    school = world.trusts[0].schools[0]
    async with db.open_session(system_scope("matrix alert")) as session:
        alert = VisitAlert(
            trust_id=school.trust_id,
            school_id=school.id,
            visit_id=TARGETS["visit_id"],
            programme_id=TARGETS["programme_id"],
            kind=OverdueKind.NO_CHECK_OUT,
        )
        session.add(alert)
    return alert.id


async def _a_replan(world: World) -> UUID:
    """A proposed re-plan of the home programme (with no changes: enough to be read)."""
    school = world.trusts[0].schools[0]
    async with db.open_session(system_scope("matrix re-plan")) as session:
        proposal = Replan(
            trust_id=school.trust_id,
            school_id=school.id,
            programme_id=TARGETS["programme_id"],
            day=VISIT_WEEK[1],
            absent_staff_ids=[str(world.login(Role.TEACHER).staff_id)],
        )
        session.add(proposal)
    return proposal.id


async def _a_concern(world: World) -> UUID:
    """A concern about the home pupil, raised by the home support assistant as the API does."""
    from app.core.principal import Grant, Principal, PrincipalKind
    from app.safeguarding import service
    from app.safeguarding.schemas import ConcernRaise

    school = world.trusts[0].schools[0]
    raiser = world.login(Role(CONCERN_RAISER))
    who = Principal(
        PrincipalKind.STAFF, raiser.staff_id, school.trust_id, (Grant(raiser.role, school.id),)
    )
    body = ConcernRaise.model_validate(
        {
            "pupils": [{"pupil_id": str(TARGETS["pupil_id"]), "role": "subject"}],
            "category": "neglect",
            "urgency": "urgent",
            "account": CONCERN_ACCOUNT,
            "occurred_at": "2026-09-08T10:40:00+01:00",
        }
    )
    async with db.open_session(who.scope) as session:
        receipt = await service.raise_concern(session, who, school.id, body)
    return receipt.id


async def _a_transfer(world: World) -> UUID:
    """The home pupil's file sent to a school outside the trust, as a DSL records it."""
    from app.core.principal import Grant, Principal, PrincipalKind
    from app.safeguarding import files
    from app.safeguarding.files_schemas import TransferWrite

    school = world.trusts[0].schools[0]
    dsl = world.login(Role.DSL)
    who = Principal(
        PrincipalKind.STAFF, dsl.staff_id, school.trust_id, (Grant(dsl.role, school.id),)
    )
    body = TransferWrite.model_validate(
        {"sent_date": "2026-09-01", "route": "recorded_post", "to_school_name": "Elsewhere"}
    )
    async with db.open_session(who.scope) as session:
        transfer = await files.record_transfer(session, who, TARGETS["pupil_id"], body)
    return transfer.id


async def _a_subject_access_request(world: World) -> UUID:
    """A parent's request for the home pupil's data, recorded by the home school's SLT; no DSL
    has released safeguarding records into it."""
    from app.core.principal import Grant, Principal, PrincipalKind
    from app.subject_access import service
    from app.subject_access.models import Requester
    from app.subject_access.schemas import SubjectAccessRequestCreate

    school = world.trusts[0].schools[0]
    admin = world.login(Role.SCHOOL_ADMIN)
    who = Principal(
        PrincipalKind.STAFF, admin.staff_id, school.trust_id, (Grant(admin.role, school.id),)
    )
    body = SubjectAccessRequestCreate(
        requester=Requester.PARENT, requester_name="A. Parent", received_date=VISIT_WEEK[0]
    )
    async with db.open_session(who.scope) as session:
        request = await service.record_request(session, who, TARGETS["pupil_id"], body)
    return request.id


async def _surveys(world: World, household_id: UUID) -> tuple[UUID, UUID]:
    """The home teacher's immediate survey and the home household's, issued as the visits'
    outcome hook issues them."""
    from app.core.tenancy import Scope
    from app.surveys.issuing import Issue, issue
    from app.surveys.models import SurveyAudience

    school = world.trusts[0].schools[0]
    where = Issue(school.trust_id, school.id, TARGETS["programme_id"])
    teacher = world.login(Role.TEACHER).staff_id
    assert teacher is not None
    now = datetime.now(UTC)
    async with db.open_session(Scope(trust_id=school.trust_id)) as session:
        (mine,) = await issue(session, where, SurveyAudience.TEACHER_IMMEDIATE, [teacher], now)
        (family,) = await issue(session, where, SurveyAudience.PARENT, [household_id], now)
    return mine, family


class Seeded:
    """The world and its targets, built once and then restored for every case.

    Building them (the roster sync, two clients, every principal's sign-in, the schedule runs)
    took most of the ~0.3 s a case cost, so it is done once and the resulting rows are
    snapshotted.
    Before each case the database is put back to exactly those rows, so every case starts from
    what a fresh build would have left and nothing a case writes reaches another. The build is
    redone when the snapshot is older than `MAX_AGE`, which must stay well inside the 15-minute
    life of the access tokens it holds and the shortest rate-limit window (15 minutes
    today), so that time passing never makes a restored state answer differently from a fresh
    one."""

    MAX_AGE = timedelta(minutes=5)

    def __init__(self) -> None:
        self.snapshot = TableSnapshot()
        self.built: tuple[World, Targets, dict[str, Any]] | None = None
        self.built_at = datetime.min.replace(tzinfo=UTC)

    async def fresh(self) -> tuple[World, Targets]:
        if self.built is None or datetime.now(UTC) - self.built_at > self.MAX_AGE:
            await empty_tables()
            TARGETS.clear()
            world = await insert_generated_world()
            targets = await _build_targets(world)
            self.built = (world, targets, dict(TARGETS))
            self.built_at = datetime.now(UTC)
            await self.snapshot.take()
        else:
            await self.snapshot.restore()
        world, targets, ids = self.built
        TARGETS.clear()
        TARGETS.update(ids)
        return world, targets


@pytest.fixture(scope="module")
async def seeded() -> AsyncIterator[Seeded]:
    state = Seeded()
    yield state
    await state.snapshot.drop()
    await empty_tables()


@pytest.fixture(autouse=True)
async def clean_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Overrides conftest's: a case's restore already replaces whatever the case before it
    left, so the tables are not emptied between cases as well, only after the module's last
    case (by `seeded`) and after any test here that does not start from a restore."""
    yield
    if "world_and_targets" not in request.fixturenames:
        await empty_tables()


@pytest.fixture
async def world_and_targets(seeded: Seeded) -> tuple[World, Targets]:
    return await seeded.fresh()


@pytest.fixture
def world(world_and_targets: tuple[World, Targets]) -> World:
    return world_and_targets[0]


@pytest.fixture
def targets(world_and_targets: tuple[World, Targets]) -> Targets:
    return world_and_targets[1]


async def test_every_case_starts_from_the_built_rows(seeded: Seeded) -> None:
    """A restore puts back exactly what the build left: a case's inserts, updates and deletes
    are all gone before the next case, whichever tables they touched, restore after restore."""
    world, _ = await seeded.fresh()
    await seeded.snapshot.restore()  # rows written by a restore, as every case but the first sees
    built = await all_rows()
    assert {"trust", "pupil", "visit", "parent_invitation", "integration_client"} <= set(built)

    # Deletes (cascading to the visit's children), an update in place, an insert.
    async with db.open_session(system_scope("matrix isolation")) as session:
        await session.execute(delete(Visit).where(col(Visit.id) == TARGETS["visit_id"]))
        await session.execute(
            update(School)
            .where(col(School.id) == world.trusts[0].schools[0].id)
            .values(name="Renamed by a case")
        )
    await _a_period(world)
    written = await all_rows()
    assert written["visit"] != built["visit"]
    assert written["school"] != built["school"]
    assert written["staff_unavailability"] != built["staff_unavailability"]
    await seeded.snapshot.restore()
    assert await all_rows() == built

    # Rows in a table the snapshot has none of, rows added to ones it has (a sign-in), and an
    # update that keeps the count.
    assert "household_exemption" not in built
    await bearer(world.login(Role.TEACHER))
    async with db.open_session(system_scope("matrix isolation")) as session:
        school = world.trusts[0].schools[0]
        session.add(
            HouseholdExemption(
                trust_id=school.trust_id,
                school_id=school.id,
                programme_id=TARGETS["programme_id"],
                household_id=TARGETS["other_household_id"],
                kind="exempt",
                reason="Matrix isolation",
            )
        )
        await session.execute(
            update(Pupil)
            .where(col(Pupil.id) == TARGETS["pupil_id"])
            .values(legal_first_name="Renamed")
        )
    written = await all_rows()
    assert "household_exemption" in written
    for table in ("auth_session", "refresh_token", "pupil"):
        assert written[table] != built[table]
    await seeded.snapshot.restore()
    assert await all_rows() == built

    # Nothing written: nothing to do, and still the same rows.
    await seeded.snapshot.restore()
    assert await all_rows() == built
    await empty_tables()
    assert await all_rows() == {}


async def _a_period(world: World) -> UUID:
    """A period the home teacher cannot visit."""
    teacher = world.login(Role.TEACHER, trust=0, school=0)
    async with db.open_session(system_scope("matrix unavailability")) as session:
        period = StaffUnavailability(
            trust_id=world.trusts[0].trust.id,
            staff_id=teacher.staff_id,
            starts_at=datetime(2026, 9, 2, 7, 0, tzinfo=UTC),
            ends_at=datetime(2026, 9, 2, 11, 0, tzinfo=UTC),
            recorded_by=teacher.staff_id,
        )
        session.add(period)
    return period.id


async def _an_import(world: World) -> UUID:
    school = world.trusts[0].schools[0]
    async with db.open_session(system_scope("matrix import")) as session:
        upload = await queued_import(session, school, b"x")
    return upload.id


def _path(template: str, world: World, targets: Targets) -> str:
    home = world.trusts[0]
    return template.format(
        trust_id=home.trust.id,
        school_id=home.schools[0].id,
        staff_id=world.login(Role.TEACHER, trust=0, school=0).staff_id,
        class_id=targets.class_id,
        household_id=targets.household_id,
        client_id=targets.client_id,
        import_id=targets.import_id,
        pupil_id=TARGETS["pupil_id"],
        programme_id=TARGETS["programme_id"],
        period_id=TARGETS["period_id"],
        run_id=TARGETS["run_id"],
        visit_id=TARGETS["visit_id"],
        request_id=TARGETS["request_id"],
        alert_id=TARGETS["alert_id"],
        replan_id=TARGETS["replan_id"],
        concern_id=TARGETS["concern_id"],
        transfer_id=TARGETS["transfer_id"],
        subject_access_request_id=TARGETS["subject_access_request_id"],
        invitation_id=TARGETS["invitation_id"],
        survey_id=TARGETS["survey_id"],
        template_key="teacher_immediate",
        audience="parent",
        token="matrix-no-such-feed-token-0000000000000000",
        kind="invitation",
        channel="sms",
        language="cy",
        day=VISIT_WEEK[1].isoformat(),
    )


def _private_ids(world: World, targets: Targets, principal: str) -> set[UUID]:
    """Ids the principal must never see in a successful answer."""
    home = world.trusts[0]
    school0 = home.schools[0].id
    grants_by_staff: dict[UUID, set[UUID | None]] = {}
    for grant in world.grants:
        grants_by_staff.setdefault(grant.staff_id, set()).add(grant.school_id)
    only_school0 = {sid for sid, schools in grants_by_staff.items() if schools == {school0}}
    if principal == "other_trust_admin":
        return {home.trust.id} | {s.id for s in home.schools} | {m.id for m in home.staff}
    if principal in ("other_school_admin", "other_integration"):
        return {school0} | only_school0
    if principal in (TWO_SCHOOLS, TRUST_DSL_SLT_AWAY):
        # A member who manages integrations only at school 2 never sees school 0's client.
        return {targets.client_id}
    return set()


def _assert_no_trace_of_the_concern(principal: str, text: str) -> None:
    """The hidden-field check: outside need-to-know (and the raiser's own receipt), no answer
    carries the matrix concern's id or its words, whatever route it is."""
    if principal in NEED_TO_KNOW_READERS or principal == CONCERN_RAISER:
        return
    assert str(TARGETS["concern_id"]) not in text, f"{principal} saw the concern's id"
    assert CONCERN_ACCOUNT not in text, f"{principal} saw the concern's account"
    assert str(TARGETS["transfer_id"]) not in text, f"{principal} saw the file's transfer"


CASES = [
    (method, path, principal)
    for method, path in ROUTES
    for principal in PRINCIPALS
    if not POLICIES.get((method, path), Policy({}, public=True)).public or principal == "anonymous"
]


@pytest.mark.parametrize(("method", "path", "principal"), CASES)
async def test_route_answers_as_declared(
    client: httpx.AsyncClient,
    world: World,
    targets: Targets,
    method: str,
    path: str,
    principal: str,
) -> None:
    policy = POLICIES[(method, path)]
    headers = dict(targets.headers[principal])
    if method in {"PATCH", "PUT", "DELETE"} or policy.if_match:
        headers["If-Match"] = "*"
    kwargs: dict[str, Any] = {"headers": headers}
    if policy.json:
        kwargs["json"] = policy.json(world)
    if policy.form:
        kwargs["data"] = policy.form(world)
    if policy.files:
        kwargs["files"] = policy.files(world)
    if policy.content:
        media_type, kwargs["content"] = policy.content(world)
        headers["Content-Type"] = media_type
    expected = policy.expect[principal]
    refused_stranger = principal in NO_TRACE and expected != OK
    before = await all_rows() if refused_stranger else {}
    response = await client.request(method, _path(path, world, targets), **kwargs)
    if expected == OK:
        assert 200 <= response.status_code < 300, (
            f"{principal}: {response.status_code} {response.text}"
        )
    else:
        assert response.status_code == expected, (
            f"{principal}: {response.status_code} {response.text}"
        )
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
    else:
        private = _private_ids(world, targets, principal)
        leaked = [str(i) for i in private if str(i) in response.text]
        assert leaked == [], f"{principal} saw ids outside its scope: {leaked}"
        _assert_no_trace_of_the_concern(principal, response.text)
    if refused_stranger:
        assert await all_rows() == before, f"{principal} was refused but wrote"
