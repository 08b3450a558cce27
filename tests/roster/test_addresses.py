"""Households without a home address (plain OneRoster carries none): kept and flagged, listed
for the office, given their address through the API or by a later sync that carries one."""

from typing import Any

import httpx
from sqlmodel import select

from app.core import db
from app.core.audit import AuditEntry
from app.core.jobs import run_pending
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.roster.models import Household, Pupil
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer, load_roster
from tests.roster.importing.bundles import plain_oneroster, zip_bundle
from tests.roster.snapshots import small_snapshot
from tests.roster.test_imports import school_bundle, upload

ADDRESS = ("address_line1", "address_line2", "town", "postcode", "latitude", "longitude")


def without_address(snapshot: dict[str, Any], ref: str) -> dict[str, Any]:
    for household in snapshot["households"]:
        if household["ref"] == ref:
            for field in ADDRESS:
                household.pop(field, None)
    return snapshot


def list_url(world: World) -> str:
    return f"/api/v1/schools/{world.trusts[0].schools[0].id}/data-quality/households"


async def household_of(mis_id: str) -> Household:
    async with db.open_session(system_scope("test read")) as session:
        pupil = (await session.scalars(select(Pupil).where(Pupil.mis_id == mis_id))).one()
        found = await session.get(Household, pupil.household_id)
        assert found is not None
        return found


async def test_a_plain_oneroster_bundle_imports_with_its_households_flagged(
    client: httpx.AsyncClient, world: World
) -> None:
    bundle = zip_bundle(plain_oneroster(school_bundle(world)))
    accepted = await upload(client, world, bundle, "oneroster", on_error="skip")
    assert accepted.status_code == 202, accepted.text
    assert await run_pending() == 1

    office = await bearer(world.login(Role.OFFICE))
    listed = await client.get(list_url(world), headers=office)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    # Khans (s1, s4), Okafor, Evans, Novak (s5, s6): every household, none with an address.
    assert len(items) == 4
    khans = next(i for i in items if len(i["children"]) == 2 and "Khan" in str(i["children"]))
    assert khans["mis_family_id"].startswith("or:")
    assert all(child["class_name"] for child in khans["children"])
    home = await household_of("s1")
    assert home.address_needed
    assert home.match_key is None

    again = await upload(client, world, bundle, "oneroster", on_error="skip")
    assert again.status_code == 202, again.text
    assert await run_pending() == 1
    # Matched again by the school's own family ids, never by an empty address.
    assert (await household_of("s1")).id == home.id
    relisted = await client.get(list_url(world), headers=office)
    assert len(relisted.json()["items"]) == 4


async def test_the_office_gives_a_household_its_address_and_it_leaves_the_list(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, without_address(small_snapshot(world), "F-2"))
    office = await bearer(world.login(Role.OFFICE))
    listed = (await client.get(list_url(world), headers=office)).json()["items"]
    assert [item["mis_family_id"] for item in listed] == ["F-2"]
    children = {(c["first_name"], c["last_name"], c["class_name"]) for c in listed[0]["children"]}
    assert children == {("Lily", "Brown", "3B"), ("Sam", "Brown", "Robins")}

    url = f"/api/v1/households/{listed[0]['id']}"
    read = await client.get(url, headers=office)
    assert read.json()["address_needed"] is True
    assert read.json()["postcode"] is None
    body = {"address_line1": "3 Castle View", "postcode": "me1 1aa"}
    assert_problem(await client.patch(url, json=body, headers=office), 428)
    half = {"address_line1": "3 Castle View"}
    assert_problem(
        await client.patch(url, json=half, headers=office | {"If-Match": read.headers["ETag"]}),
        422,
    )
    bad = {**body, "postcode": "not a postcode"}
    assert_problem(
        await client.patch(url, json=bad, headers=office | {"If-Match": read.headers["ETag"]}),
        422,
    )
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(await client.patch(url, json=body, headers=teacher), 403)

    given = await client.patch(url, json=body, headers=office | {"If-Match": read.headers["ETag"]})
    assert given.status_code == 200, given.text
    assert given.json()["postcode"] == "ME1 1AA"
    assert given.json()["address_needed"] is False
    assert given.headers["ETag"] != read.headers["ETag"]
    stale = await client.patch(url, json=body, headers=office | {"If-Match": read.headers["ETag"]})
    assert_problem(stale, 412)
    assert (await client.get(list_url(world), headers=office)).json()["items"] == []
    async with db.open_session(system_scope("test read")) as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert "household.address_set" in actions

    # The MIS still carries no address: the office's stays. A sync that carries one fills it.
    await load_roster(world, without_address(small_snapshot(world), "F-2"))
    assert (await household_of("P-3")).postcode == "ME1 1AA"
    moved = small_snapshot(world)
    await load_roster(world, moved)
    assert (await household_of("P-3")).address_line1 == "3 Castle View"
    assert (await household_of("P-3")).postcode == "ME1 1AA"


async def test_a_sync_fills_a_missing_address(client: httpx.AsyncClient, world: World) -> None:
    await load_roster(world, without_address(small_snapshot(world), "F-2"))
    assert (await household_of("P-3")).address_needed
    await load_roster(world, small_snapshot(world))
    home = await household_of("P-3")
    assert not home.address_needed
    assert home.postcode == "ME1 1AA"
    assert home.match_key is not None


async def test_the_list_is_for_those_who_may_see_addresses(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, without_address(small_snapshot(world), "F-2"))
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(await client.get(list_url(world), headers=teacher), 403)
    dsl = await bearer(world.login(Role.DSL))
    assert len((await client.get(list_url(world), headers=dsl)).json()["items"]) == 1


async def test_a_snapshot_household_with_half_an_address_is_rejected(
    client: httpx.AsyncClient, world: World
) -> None:
    snapshot = without_address(small_snapshot(world), "F-2")
    snapshot["households"][1]["postcode"] = "ME1 1AA"
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    synced = await client.put(
        f"/api/v1/schools/{world.trusts[0].schools[0].id}/roster",
        json=snapshot,
        headers=admin,
        params={"on_error": "skip"},
    )
    assert synced.status_code == 200, synced.text
    pointers = {r["pointer"] for r in synced.json()["rejected"]}
    assert "#/households/1/address_line1" in pointers


async def test_a_patch_that_moves_the_home_drops_the_old_homes_coordinates(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, small_snapshot(world))
    office = await bearer(world.login(Role.OFFICE))
    home = await household_of("P-1")
    assert home.latitude is not None
    assert home.address_line1 is not None
    url = f"/api/v1/households/{home.id}"

    async def patch(body: dict[str, Any]) -> httpx.Response:
        etag = (await client.get(url, headers=office)).headers["ETag"]
        answer = await client.patch(url, json=body, headers=office | {"If-Match": etag})
        assert answer.status_code == 200, answer.text
        return answer

    # The same home, written differently: its coordinates stay.
    same = await patch({"address_line1": home.address_line1.upper(), "postcode": home.postcode})
    assert same.json()["latitude"] == home.latitude
    # A new home without coordinates: travel falls back to its postcode, not the old home's point.
    moved = await patch({"address_line1": "9 New Road", "postcode": "ME4 4QU"})
    assert moved.json()["latitude"] is None
    assert moved.json()["longitude"] is None
    # A new home with its coordinates keeps them.
    placed = await patch(
        {
            "address_line1": "1 Dock Road",
            "postcode": "ME4 4TZ",
            "latitude": 51.39,
            "longitude": 0.53,
        }
    )
    assert (placed.json()["latitude"], placed.json()["longitude"]) == (51.39, 0.53)
