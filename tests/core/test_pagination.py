"""Cursors: the ones the API issues page every list to its end, including lists ordered by a
timestamp; they are sealed, so children's names do not travel in URLs; and a cursor that does
not open (forged, garbled, from an older format) is 422 `invalid-cursor` on every list."""

import base64
import json
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlmodel import select

from app.core import audit, db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.roster.models import Pupil, SchoolClass
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer, load_roster
from tests.parents.helpers import a_collecting_programme, household_of
from tests.roster.snapshots import small_snapshot
from tests.visits.helpers import a_run_and_visit

AUDIT = "/api/v1/audit-events"


async def every_page(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every item of a list, following the cursors the API issues; and the cursors."""
    items: list[dict[str, Any]] = []
    cursors: list[str] = []
    query: dict[str, Any] = dict(params)
    while True:
        response = await client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items, cursors
        cursors.append(page["next_cursor"])
        query["cursor"] = page["next_cursor"]


async def test_the_whole_audit_log_pages_through_its_cursors(
    client: httpx.AsyncClient, world: World
) -> None:
    trust_id = world.trusts[0].trust.id
    async with db.open_session(system_scope("test audit entries")) as session:
        for n in range(7):
            await audit.record(session, None, f"test.event{n}", trust_id=trust_id)
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    whole = (await client.get(AUDIT, params={"limit": 200}, headers=headers)).json()
    assert whole["next_cursor"] is None
    assert len(whole["items"]) >= 7
    paged, cursors = await every_page(client, AUDIT, headers, limit=2)
    assert [e["id"] for e in paged] == [e["id"] for e in whole["items"]]
    assert len(cursors) == (len(whole["items"]) - 1) // 2


async def test_the_pupil_change_feed_pages_through_its_cursors(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, small_snapshot(world))
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/schools/{world.trusts[0].schools[0].id}/pupils"
    since = "2000-01-01T00:00:00Z"
    paged, cursors = await every_page(client, url, headers, limit=1, updated_since=since)
    assert sorted(p["mis_id"] for p in paged) == ["P-1", "P-2", "P-3", "P-4"]
    assert len(cursors) == 3


async def test_pupil_cursors_carry_no_names(client: httpx.AsyncClient, world: World) -> None:
    await load_roster(world, small_snapshot(world))
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/schools/{world.trusts[0].schools[0].id}/pupils"
    paged, cursors = await every_page(client, url, headers, limit=1)
    assert len(paged) == 4
    names = {p[k] for p in paged for k in ("legal_first_name", "legal_last_name")}
    for cursor in cursors:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        for name in names:
            assert name.encode() not in decoded
            assert name not in cursor


@pytest.mark.parametrize(
    "since", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-12:00"]
)
async def test_a_date_time_beyond_utcs_range_is_422(
    client: httpx.AsyncClient, world: World, since: str
) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    response = await client.get(AUDIT, params={"since": since}, headers=headers)
    problem = assert_problem(response, 422, "validation-error")
    assert [(e["in"], e["parameter"]) for e in problem["errors"]] == [("query", "since")]
    school = world.trusts[0].schools[0].id
    response = await client.get(
        f"/api/v1/schools/{school}/pupils", params={"updated_since": since}, headers=headers
    )
    assert_problem(response, 422, "validation-error")


def _old_style(values: list[Any]) -> str:
    """A cursor as this API used to issue them: base64 of the JSON of the sort values."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


def _tampered(cursor: str) -> str:
    middle = len(cursor) // 2
    return cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]


def _garbled(real: str) -> list[str]:
    return [
        "garbage!",
        _tampered(real),
        real[:-8],
        _old_style(["Khan", "Yusuf", "0" * 32]),
        _old_style(["2026-01-01T00:00:00+00:00", "0" * 32]),
        _old_style([[1], {"a": 1}, None]),
        _old_style(["9999-12-31T23:59:59-01:00", "0" * 32]),
    ]


async def _path_ids(world: World) -> dict[str, str]:
    await load_roster(world, small_snapshot(world))
    programme_id = await a_collecting_programme(world)
    async with db.open_session(system_scope("test ids")) as session:
        class_id: UUID | None = await session.scalar(
            select(Pupil.class_id).where(Pupil.mis_id == "P-1")
        )
        assert await session.get(SchoolClass, class_id) is not None
    _, visit_id = await a_run_and_visit(
        programme_id, await household_of("P-1"), world.login(Role.TEACHER).staff_id
    )
    return {
        "visit_id": str(visit_id),
        "school_id": str(world.trusts[0].schools[0].id),
        "class_id": str(class_id),
        "programme_id": str(programme_id),
        "staff_id": str(world.login(Role.TEACHER).staff_id),
    }


def _paged_paths(app: Any) -> list[str]:
    paths = []
    for path, item in app.openapi()["paths"].items():
        ok = item.get("get", {}).get("responses", {}).get("200", {})
        if "#/components/schemas/Page_" in json.dumps(ok.get("content", {})):
            paths.append(path)
    return paths


async def _a_reader(
    client: httpx.AsyncClient, world: World, url: str, headers: dict[Role, dict[str, str]]
) -> dict[str, str]:
    # The DSL reads the one list nobody else does: a school's safeguarding concerns.
    for role in (Role.TRUST_ADMIN, Role.SCHOOL_ADMIN, Role.PLATFORM_ADMIN, Role.TEACHER, Role.DSL):
        if role not in headers:
            headers[role] = await bearer(world.login(role))
        if (await client.get(url, headers=headers[role])).status_code == 200:
            return headers[role]
    raise AssertionError(f"no role reads {url}")


async def test_a_cursor_that_does_not_open_is_422_on_every_list(
    client: httpx.AsyncClient, world: World, app: Any
) -> None:
    ids = await _path_ids(world)
    admin = await bearer(world.login(Role.TRUST_ADMIN))
    real = (await client.get("/api/v1/schools", params={"limit": 1}, headers=admin)).json()
    assert real["next_cursor"], "the world has more than one school"
    paths = _paged_paths(app)
    assert len(paths) >= 15
    readers: dict[Role, dict[str, str]] = {}
    for path in paths:
        url = path.format(**ids)
        headers = await _a_reader(client, world, url, readers)
        for cursor in _garbled(real["next_cursor"]):
            response = await client.get(url, params={"cursor": cursor}, headers=headers)
            problem = assert_problem(response, 422, "invalid-cursor")
            assert cursor not in response.text, (path, cursor)
            assert "start again" in problem["detail"]
