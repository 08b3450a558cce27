"""The office's CSV of addresses by family id: households a plain OneRoster feed left without an
address get theirs in one file; one bad row refuses the whole file and nothing is written."""

from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select

from app.core import db
from app.core.audit import AuditEntry
from app.core.jobs import run_pending
from app.core.permissions import Role
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.roster.models import Household, HouseholdSource
from app.synthetic.generator import World
from tests.conftest import all_rows, assert_problem, bearer, load_roster
from tests.roster.importing.bundles import plain_oneroster, zip_bundle
from tests.roster.snapshots import small_snapshot
from tests.roster.test_addresses import household_of, list_url, without_address
from tests.roster.test_imports import school_bundle, upload
from tests.scheduling.test_schedule_runs import _forget_address
from tests.visits.helpers import scheduling_programme

HEADER = "family_id,address_line1,address_line2,town,postcode\r\n"
# F-1 exactly as the small snapshot holds it; F-2 (the Browns) without an address until given.
F1_AS_HELD = "F-1,12 Station Road,,Rochester,ME2 2AB\r\n"
F2_NEW = "F-2,7 Mill Lane,Flat 2,Strood,me2 4aa\r\n"


def addresses_url(world: World, school: int = 0) -> str:
    return f"/api/v1/schools/{world.trusts[0].schools[school].id}/households/addresses"


async def send(
    client: httpx.AsyncClient, world: World, text: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    headers = headers or await bearer(world.login(Role.OFFICE))
    return await client.post(
        addresses_url(world),
        content=text.encode(),
        headers=headers | {"Content-Type": "text/csv"},
    )


async def address_audits() -> int:
    async with db.open_session(system_scope("test read")) as session:
        actions = await session.scalars(
            select(AuditEntry.action).where(col(AuditEntry.action) == "household.address_set")
        )
        return len(list(actions))


async def test_the_office_gives_flagged_families_their_addresses_in_one_file(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, without_address(small_snapshot(world), "F-2"))
    office = await bearer(world.login(Role.OFFICE))
    listed = (await client.get(list_url(world), headers=office)).json()["items"]
    assert [item["mis_family_id"] for item in listed] == ["F-2"]
    before = await household_of("P-3")

    given = await send(client, world, HEADER + F1_AS_HELD + F2_NEW)
    assert given.status_code == 200, given.text
    assert given.json() == {"rows": 2, "updated": 1, "unchanged": 1}
    home = await household_of("P-3")
    assert not home.address_needed
    assert (home.address_line1, home.address_line2, home.town, home.postcode) == (
        "7 Mill Lane",
        "Flat 2",
        "Strood",
        "ME2 4AA",
    )
    assert home.match_key is not None
    assert home.version == before.version + 1
    assert (await client.get(list_url(world), headers=office)).json()["items"] == []
    assert await address_audits() == 1
    # F-1's row equals what was held: its household was not written.
    kept = await household_of("P-1")
    assert (kept.version, kept.latitude) == (1, 51.39)


async def test_report_headings_and_coordinates_are_read(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, small_snapshot(world))
    moved = (
        "Family ID,Address Line 1,Town,Postcode,Notes\r\nF-1,1 New Street,Rochester,ME1 1AA,x\r\n"
    )
    given = await send(client, world, moved)
    assert given.status_code == 200, given.text
    home = await household_of("P-1")
    assert (home.address_line1, home.address_line2, home.postcode) == (
        "1 New Street",
        None,
        "ME1 1AA",
    )
    # The coordinates held were of the old home: gone, so travel goes by the new postcode.
    assert (home.latitude, home.longitude) == (None, None)
    placed = (
        "family_id,line1,postcode,latitude,longitude\r\nF-1,1 New Street,ME1 1AA,51.38,0.51\r\n"
    )
    assert (await send(client, world, placed)).json()["updated"] == 1
    assert (await household_of("P-1")).latitude == 51.38


async def test_a_file_that_changes_nothing_writes_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, without_address(small_snapshot(world), "F-2"))
    office = await bearer(world.login(Role.OFFICE))
    assert (await send(client, world, HEADER + F2_NEW, office)).json()["updated"] == 1
    version = (await household_of("P-3")).version
    rows = await all_rows()

    again = await send(client, world, HEADER + F2_NEW + F1_AS_HELD, office)
    assert again.status_code == 200, again.text
    assert again.json() == {"rows": 2, "updated": 0, "unchanged": 2}
    assert (await household_of("P-3")).version == version
    assert await all_rows() == rows
    assert await address_audits() == 1


def errors_of(response: httpx.Response) -> dict[str, str]:
    problem = assert_problem(response, 422, "address-file-rejected")
    return {error["pointer"]: error["detail"] for error in problem["errors"]}


async def test_one_bad_row_refuses_the_whole_file(client: httpx.AsyncClient, world: World) -> None:
    await load_roster(world, without_address(small_snapshot(world), "F-2"))
    office = await bearer(world.login(Role.OFFICE))
    rows = await all_rows()
    text = (
        HEADER
        + F2_NEW  # row 1: good, yet not written
        + "F-1,12 Station Road,,Rochester,not a postcode\r\n"  # row 2
        + "F-99,1 Lost Lane,,,ME1 1AA\r\n"  # row 3: no such family
        + ",\r\n"  # blank: not counted
        + "F-2,8 Mill Lane,,,ME2 4AA\r\n"  # row 4: F-2 again
        + "F-1,,,,ME2 2AB\r\n"  # row 5: F-1 again, and no first line
    )
    refused = await send(client, world, text, office)
    errors = errors_of(refused)
    assert set(errors) == {
        "#/rows/2/postcode",
        "#/rows/3/family_id",
        "#/rows/4/family_id",
        "#/rows/5/family_id",
        "#/rows/5/address_line1",
    }, errors
    assert errors["#/rows/2/postcode"] == "not a valid UK postcode"
    assert "row 1" in errors["#/rows/4/family_id"]
    assert "no family of this school" in errors["#/rows/3/family_id"]
    assert "not a postcode" not in refused.text  # a value is never repeated back
    assert (
        "nothing" in refused.json()["detail"]
        or "no address was changed" in refused.json()["detail"]
    )
    assert await all_rows() == rows
    assert (await household_of("P-3")).address_needed


async def test_another_schools_family_answers_as_unknown(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, without_address(small_snapshot(world), "F-2"))
    neighbour = small_snapshot(world, school=1)
    neighbour["households"][0]["ref"] = neighbour["households"][0]["mis_id"] = "N-1"
    # Another home, so the sync does not take it for school 0's F-1 (siblings' shared home).
    neighbour["households"][0]["address_line1"] = "99 Elm Road"
    for pupil in neighbour["pupils"]:
        pupil["mis_id"] = "N" + pupil["mis_id"]
        pupil["upn"] = None
        if pupil["household_ref"] == "F-1":
            pupil["household_ref"] = "N-1"
    await load_roster(world, neighbour, school=1)
    async with db.open_session(system_scope("test read")) as session:
        theirs = await session.scalar(
            select(HouseholdSource.household_id).where(col(HouseholdSource.mis_id) == "N-1")
        )
    assert theirs is not None
    office = await bearer(world.login(Role.OFFICE))
    rows = await all_rows()

    errors = errors_of(await send(client, world, HEADER + "N-1,1 Any Road,,,ME1 1AA\r\n", office))
    unknown = errors_of(await send(client, world, HEADER + "Z-9,1 Any Road,,,ME1 1AA\r\n", office))
    assert errors == unknown == {"#/rows/1/family_id": unknown["#/rows/1/family_id"]}
    assert await all_rows() == rows
    async with db.open_session(system_scope("test read")) as session:
        other = await session.get(Household, theirs)
    assert other is not None
    assert other.address_line1 == "99 Elm Road"


async def test_who_may_send_addresses(client: httpx.AsyncClient, world: World) -> None:
    await load_roster(world, without_address(small_snapshot(world), "F-2"))
    teacher = await bearer(world.login(Role.TEACHER))
    other_school = await bearer(world.login(Role.SCHOOL_ADMIN, 0, 1))
    rows = await all_rows()
    assert_problem(await send(client, world, HEADER + F2_NEW, teacher), 403)
    assert_problem(await send(client, world, HEADER + F2_NEW, other_school), 404)
    assert await all_rows() == rows
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    assert (await send(client, world, HEADER + F2_NEW, admin)).status_code == 200


async def test_a_file_that_cannot_be_read_is_refused_whole(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, without_address(small_snapshot(world), "F-2"))
    office = await bearer(world.login(Role.OFFICE))
    no_postcode = await send(client, world, "family_id,address_line1\r\nF-2,7 Mill Lane\r\n")
    problem = assert_problem(no_postcode, 422, "roster-import-missing-columns")
    assert problem["missing_columns"] == ["postcode"]
    assert_problem(await send(client, world, HEADER), 422, "roster-import-empty")
    as_json = await client.post(addresses_url(world), json={"rows": []}, headers=office)
    assert_problem(as_json, 415)
    # The app's body cap for all but whole rosters (1 MiB) holds a school's addresses many times.
    oversized = HEADER + F2_NEW * (get_settings().max_body_bytes // len(F2_NEW) + 1)
    assert_problem(await send(client, world, oversized, office), 413)
    assert (await household_of("P-3")).address_needed


async def test_a_later_sync_without_addresses_keeps_the_files(
    client: httpx.AsyncClient, world: World
) -> None:
    """Plain OneRoster carries no addresses: re-importing it leaves the office's as they are."""
    bundle = zip_bundle(plain_oneroster(school_bundle(world)))
    assert (await upload(client, world, bundle, "oneroster", on_error="skip")).status_code == 202
    assert await run_pending() == 1
    office = await bearer(world.login(Role.OFFICE))
    listed = (await client.get(list_url(world), headers=office)).json()["items"]
    text = HEADER + "".join(
        f"{item['mis_family_id']},{n} Orchard Way,,Strood,ME2 4AA\r\n"
        for n, item in enumerate(listed, 1)
    )
    given = await send(client, world, text)
    assert given.json()["updated"] == len(listed) == 4, given.text

    assert (await upload(client, world, bundle, "oneroster", on_error="skip")).status_code == 202
    assert await run_pending() == 1
    assert (await client.get(list_url(world), headers=office)).json()["items"] == []
    assert (await household_of("s1")).postcode == "ME2 4AA"


async def test_a_family_given_its_address_becomes_placeable(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await scheduling_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    scope = await client.get(f"/api/v1/programmes/{programme['id']}/households", headers=admin)
    other = next(h for h in scope.json()["items"] if h["household_id"] != programme["home"])
    await _forget_address(other["household_id"])
    first = await _run(client, admin, programme["id"])
    assert [u["household_id"] for u in first["unplaced"]] == [other["household_id"]]
    assert first["unplaced"][0]["reason"].startswith("no home address yet")

    row = f"{other['reference']},3 Castle View,,Rochester,ME1 1AA\r\n"
    assert (await send(client, world, HEADER + row)).json()["updated"] == 1
    second = await _run(client, admin, programme["id"])
    assert second["unplaced"] == [], second
    assert second["placed"] == 2
    assert UUID(other["household_id"]) == (await household_of("P-3")).id


async def _run(client: httpx.AsyncClient, admin: dict[str, str], programme_id: str) -> Any:
    started = await client.post(
        f"/api/v1/programmes/{programme_id}/schedule-runs",
        json={"time_limit_seconds": 1},
        headers=admin,
    )
    assert started.status_code == 202, started.text
    assert await run_pending() == 1
    run = await client.get(f"/api/v1/schedule-runs/{started.json()['id']}", headers=admin)
    assert run.json()["status"] == "succeeded", run.text
    return run.json()


async def test_a_pupil_list_without_addresses_keeps_the_families_and_theirs(
    client: httpx.AsyncClient, world: World
) -> None:
    """A pupil list with family ids but no address columns keeps each family's household, and
    the address the office gave it, rather than leaving its pupils without one."""
    await load_roster(world, without_address(small_snapshot(world), "F-2"))
    assert (await send(client, world, HEADER + F2_NEW)).json()["updated"] == 1
    browns = (await household_of("P-3")).id
    pupil_list = (
        "Adno,Legal Surname,Legal Forename,DOB,Reg Group,Year,Family ID,Contact 1 Name\r\n"
        "P-1,Khan,Yusuf,01/10/2021,Robins,Reception,F-1,Aisha Khan\r\n"
        "P-2,Khan,Maryam,11/02/2018,3B,Year 3,F-1,Aisha Khan\r\n"
        "P-3,Brown,Lily,30/05/2018,3B,Year 3,F-2,Zoë Brown\r\n"
        "P-4,Brown,Sam,05/01/2022,Robins,Reception,F-2,Zoë Brown\r\n"
    )
    imported = await upload(client, world, pupil_list.encode(), "pupil_csv")
    assert imported.status_code == 202, imported.text
    assert await run_pending() == 1
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    done = await client.get(
        f"/api/v1/schools/{world.trusts[0].schools[0].id}/roster-imports/{imported.json()['id']}",
        headers=admin,
    )
    assert done.json()["status"] == "succeeded", done.text
    home = await household_of("P-4")
    assert home.id == browns
    assert (home.address_line1, home.postcode) == ("7 Mill Lane", "ME2 4AA")
    assert (await household_of("P-1")).address_line1 == "12 Station Road"
