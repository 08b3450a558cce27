"""Pupil lists out: filters, change feed, field-level visibility, CSV exports that are safe
to open in Excel and audited."""

import csv
import io

import httpx
from sqlmodel import select

from app.core import db
from app.core.audit import AuditEntry
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.roster.models import Pupil, SchoolClass
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer, load_roster
from tests.roster.snapshots import small_snapshot


def pupils_url(world: World, school: int = 0) -> str:
    return f"/api/v1/schools/{world.trusts[0].schools[school].id}/pupils"


async def test_equity_flags_only_for_those_who_need_them(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, small_snapshot(world))
    by_role = {}
    for role in (Role.SCHOOL_ADMIN, Role.OFFICE, Role.TEACHER, Role.SUPPORT_STAFF):
        response = await client.get(pupils_url(world), headers=await bearer(world.login(role)))
        assert response.status_code == 200
        by_role[role] = {p["mis_id"]: p for p in response.json()["items"]}
    assert by_role[Role.SCHOOL_ADMIN]["P-4"]["free_school_meals"] is True
    assert by_role[Role.OFFICE]["P-4"]["free_school_meals"] is None
    assert by_role[Role.OFFICE]["P-4"]["send"] is None
    # The teacher teaches Robins (P-1, P-4): SEND for their own pupils, never FSM.
    assert by_role[Role.TEACHER]["P-4"]["send"] == "sen_support"
    assert by_role[Role.TEACHER]["P-4"]["free_school_meals"] is None
    assert by_role[Role.TEACHER]["P-3"]["send"] is None  # not their class
    assert by_role[Role.SUPPORT_STAFF]["P-4"]["send"] is None


async def test_filtering_by_a_flag_needs_the_right_to_see_it(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, small_snapshot(world))
    office = await bearer(world.login(Role.OFFICE))
    assert_problem(
        await client.get(pupils_url(world), params={"free_school_meals": "true"}, headers=office),
        403,
        "filter-not-permitted",
    )
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    fsm = await client.get(pupils_url(world), params={"free_school_meals": "true"}, headers=admin)
    assert [p["mis_id"] for p in fsm.json()["items"]] == ["P-4"]


async def test_filters_pagination_and_change_feed(client: httpx.AsyncClient, world: World) -> None:
    await load_roster(world, small_snapshot(world))
    headers = await bearer(world.login(Role.TEACHER))
    reception = await client.get(pupils_url(world), params={"year_group": "R"}, headers=headers)
    assert {p["mis_id"] for p in reception.json()["items"]} == {"P-1", "P-4"}
    seen: list[str] = []
    params: dict[str, str] = {"limit": "3"}
    while True:
        page = (await client.get(pupils_url(world), params=params, headers=headers)).json()
        seen += [p["mis_id"] for p in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert sorted(seen) == ["P-1", "P-2", "P-3", "P-4"]
    async with db.open_session(system_scope("test read")) as session:
        latest = max(p.updated_at for p in await session.scalars(select(Pupil)))
        robins = await session.scalar(select(SchoolClass.id).where(SchoolClass.mis_id == "C-R1"))
    feed = await client.get(
        pupils_url(world), params={"updated_since": latest.isoformat()}, headers=headers
    )
    assert len(feed.json()["items"]) >= 1
    in_class = await client.get(f"/api/v1/classes/{robins}/pupils", headers=headers)
    assert {p["mis_id"] for p in in_class.json()["items"]} == {"P-1", "P-4"}


async def test_csv_export_is_formula_safe_and_audited(
    client: httpx.AsyncClient, world: World
) -> None:
    snapshot = small_snapshot(world)
    snapshot["pupils"][0]["legal_first_name"] = '=HYPERLINK("http://evil")'
    snapshot["pupils"][1]["preferred_first_name"] = "@SUM(A1)"
    await load_roster(world, snapshot)
    headers = await bearer(world.login(Role.SCHOOL_ADMIN)) | {"Accept": "text/csv"}
    response = await client.get(pupils_url(world), headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    # Pupils' data: saved as a file, never kept by a cache on the way.
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 4
    names = {r["legal_first_name"] for r in rows} | {r["preferred_first_name"] for r in rows}
    assert '\'=HYPERLINK("http://evil")' in names
    assert "'@SUM(A1)" in names
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
    async with db.open_session(system_scope("test read")) as session:
        exports = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "roster.export"))
        )
    assert len(exports) == 1
    assert exports[0].details["rows"] == 4


async def test_teacher_cannot_see_contacts_of_another_school(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, small_snapshot(world))
    other = small_snapshot(world, school=1)
    other["households"][0]["address_line1"] = "99 Other Street"
    await load_roster(world, other, school=1)
    async with db.open_session(system_scope("test read")) as session:
        households = {
            p.school_id: p.household_id
            for p in await session.scalars(select(Pupil).where(Pupil.mis_id == "P-1"))
        }
    home_household = households[world.trusts[0].schools[0].id]
    other_household = households[world.trusts[0].schools[1].id]
    teacher = await bearer(world.login(Role.TEACHER, school=0))
    mine = await client.get(f"/api/v1/households/{home_household}", headers=teacher)
    assert mine.status_code == 200
    assert mine.json()["contacts"]
    assert_problem(await client.get(f"/api/v1/households/{other_household}", headers=teacher), 404)


async def test_classes_list_their_staff_and_roll(client: httpx.AsyncClient, world: World) -> None:
    await load_roster(world, small_snapshot(world))
    headers = await bearer(world.login(Role.OFFICE))
    school = world.trusts[0].schools[0].id
    listed = await client.get(f"/api/v1/schools/{school}/classes", headers=headers)
    assert listed.status_code == 200
    by_name = {c["name"]: c for c in listed.json()["items"]}
    assert by_name["Robins"]["teacher_ids"] == [str(world.login(Role.TEACHER).staff_id)]
    assert by_name["Robins"]["pupils_on_roll"] == 2
    assert by_name["3B"]["year_group"] == "3"


async def test_one_pupil_with_the_same_field_rules(client: httpx.AsyncClient, world: World) -> None:
    await load_roster(world, small_snapshot(world))
    async with db.open_session(system_scope("test read")) as session:
        sam = await session.scalar(select(Pupil.id).where(Pupil.mis_id == "P-4"))
    office = await client.get(
        f"/api/v1/pupils/{sam}", headers=await bearer(world.login(Role.OFFICE))
    )
    assert office.json()["legal_first_name"] == "Sam"
    assert office.json()["free_school_meals"] is None
    admin = await client.get(
        f"/api/v1/pupils/{sam}", headers=await bearer(world.login(Role.SCHOOL_ADMIN))
    )
    assert admin.json()["free_school_meals"] is True
    other = await bearer(world.login(Role.SCHOOL_ADMIN, school=1))
    assert_problem(await client.get(f"/api/v1/pupils/{sam}", headers=other), 404)
