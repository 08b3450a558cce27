"""CSV exports are rate-limited per person, per machine client and per address, with counts kept
in the database (so every API process sees the same), 429 with an honest Retry-After."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from app.core import db
from app.core.audit import AuditEntry
from app.core.permissions import Role
from app.core.ratelimit import RateLimitHit
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.main import create_app
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer, integration_bearer, load_roster
from tests.roster.snapshots import small_snapshot

CSV = {"Accept": "text/csv"}
ELSEWHERE = ("203.0.113.9", 40000)


def pupils_url(world: World, school: int = 0) -> str:
    return f"/api/v1/schools/{world.trusts[0].schools[school].id}/pupils"


@pytest.fixture
def allowances(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Small allowances, so reaching them takes few exports; the rules are unchanged."""
    values = {"export_max_per_user": 2, "export_max_per_client": 3, "export_max_per_address": 5}
    for name, value in values.items():
        monkeypatch.setattr(get_settings(), name, value)
    return values


@pytest.fixture
async def roster(world: World) -> World:
    await load_roster(world, small_snapshot(world))
    return world


async def export(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    return await client.get(url, headers=headers | CSV)


async def exports_audited() -> int:
    async with db.open_session(system_scope("test read")) as session:
        entries = await session.scalars(
            select(AuditEntry).where(col(AuditEntry.action) == "roster.export")
        )
        return len(list(entries))


def assert_throttled(response: httpx.Response) -> None:
    body = assert_problem(response, 429, "too-many-requests")
    assert "export" in body["detail"]
    assert 0 < int(response.headers["retry-after"]) <= get_settings().export_window_seconds


async def test_a_person_is_refused_past_their_allowance(
    client: httpx.AsyncClient, roster: World, allowances: dict[str, int]
) -> None:
    admin = await bearer(roster.login(Role.SCHOOL_ADMIN))
    for _ in range(allowances["export_max_per_user"]):
        assert (await export(client, pupils_url(roster), admin)).status_code == 200
    assert_throttled(await export(client, pupils_url(roster), admin))
    assert await exports_audited() == allowances["export_max_per_user"]
    # Their JSON pages are not exports; a colleague at the same address still exports.
    assert (await client.get(pupils_url(roster), headers=admin)).status_code == 200
    office = await bearer(roster.login(Role.OFFICE))
    assert (await export(client, pupils_url(roster), office)).status_code == 200


async def test_class_and_school_exports_share_the_allowance(
    client: httpx.AsyncClient, roster: World, allowances: dict[str, int]
) -> None:
    admin = await bearer(roster.login(Role.SCHOOL_ADMIN))
    classes = await client.get(
        f"/api/v1/schools/{roster.trusts[0].schools[0].id}/classes", headers=admin
    )
    class_url = f"/api/v1/classes/{classes.json()['items'][0]['id']}/pupils"
    assert (await export(client, class_url, admin)).status_code == 200
    assert (await export(client, pupils_url(roster), admin)).status_code == 200
    assert_throttled(await export(client, class_url, admin))


async def test_an_integration_client_has_its_own_allowance(
    client: httpx.AsyncClient, roster: World, allowances: dict[str, int]
) -> None:
    _, machine = await integration_bearer(roster, [0], scopes=("roster:read",))
    for _ in range(allowances["export_max_per_client"]):
        assert (await export(client, pupils_url(roster), machine)).status_code == 200
    assert_throttled(await export(client, pupils_url(roster), machine))
    _, another = await integration_bearer(roster, [0], scopes=("roster:read",))
    assert (await export(client, pupils_url(roster), another)).status_code == 200


async def test_one_address_is_refused_past_its_allowance_whoever_asks(
    app: Any, client: httpx.AsyncClient, roster: World, allowances: dict[str, int]
) -> None:
    callers = [
        await bearer(roster.login(role))
        for role in (Role.TRUST_ADMIN, Role.SCHOOL_ADMIN, Role.OFFICE, Role.TEACHER)
    ]
    callers.append((await integration_bearer(roster, [0], scopes=("roster:read",)))[1])
    assert len(callers) == allowances["export_max_per_address"]
    for headers in callers:
        assert (await export(client, pupils_url(roster), headers)).status_code == 200
    dsl = await bearer(roster.login(Role.DSL))
    assert_throttled(await export(client, pupils_url(roster), dsl))
    transport = httpx.ASGITransport(app=app, client=ELSEWHERE)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        assert (await export(elsewhere, pupils_url(roster), dsl)).status_code == 200


async def test_counts_are_shared_by_every_api_process(
    client: httpx.AsyncClient, roster: World, allowances: dict[str, int]
) -> None:
    admin = await bearer(roster.login(Role.SCHOOL_ADMIN))
    assert (await export(client, pupils_url(roster), admin)).status_code == 200
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as second:
        assert (await export(second, pupils_url(roster), admin)).status_code == 200
        assert_throttled(await export(second, pupils_url(roster), admin))
    assert_throttled(await export(client, pupils_url(roster), admin))


async def test_refused_attempts_do_not_extend_the_wait(
    client: httpx.AsyncClient, roster: World, allowances: dict[str, int]
) -> None:
    admin = await bearer(roster.login(Role.SCHOOL_ADMIN))
    for _ in range(allowances["export_max_per_user"]):
        assert (await export(client, pupils_url(roster), admin)).status_code == 200
    for _ in range(3):
        assert_throttled(await export(client, pupils_url(roster), admin))
    # The oldest export leaves the window, as it would once Retry-After has passed.
    window = timedelta(seconds=get_settings().export_window_seconds + 1)
    async with db.open_session(system_scope("test clock")) as session:
        oldest = await session.scalar(
            select(RateLimitHit)
            .where(col(RateLimitHit.bucket) == "export:user")
            .order_by(col(RateLimitHit.at))
            .limit(1)
        )
        assert oldest is not None
        oldest.at -= window
    assert (await export(client, pupils_url(roster), admin)).status_code == 200
    assert_throttled(await export(client, pupils_url(roster), admin))


async def test_concurrent_exports_never_exceed_the_allowance(
    client: httpx.AsyncClient, roster: World, allowances: dict[str, int]
) -> None:
    admin = await bearer(roster.login(Role.SCHOOL_ADMIN))
    responses = await asyncio.gather(*(export(client, pupils_url(roster), admin) for _ in range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 429}, [r.text for r in responses]
    assert statuses.count(200) <= allowances["export_max_per_user"]
    assert await exports_audited() == statuses.count(200)


async def test_exports_out_of_scope_or_not_permitted_use_no_allowance(
    client: httpx.AsyncClient, roster: World, allowances: dict[str, int]
) -> None:
    admin = await bearer(roster.login(Role.SCHOOL_ADMIN))
    foreign = f"/api/v1/schools/{roster.trusts[1].schools[0].id}/pupils"
    for _ in range(allowances["export_max_per_user"] + 1):
        assert_problem(await export(client, foreign, admin), 404)
    assert (await export(client, pupils_url(roster), admin)).status_code == 200
