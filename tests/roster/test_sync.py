"""The bulk sync: a snapshot makes the roster equal to it, in one transaction, or changes nothing."""

from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import select

from app.core import db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.roster.models import Contact, Household, Pupil, SchoolClass
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.roster.snapshots import small_snapshot


def roster_url(world: World, trust: int = 0, school: int = 0) -> str:
    return f"/api/v1/schools/{world.trusts[trust].schools[school].id}/roster"


async def counts() -> dict[str, int]:
    async with db.open_session(system_scope("test counts")) as session:
        return {
            model.__name__: await session.scalar(select(func.count()).select_from(model)) or 0
            for model in (SchoolClass, Household, Contact, Pupil)
        }


async def pupils_by_mis_id() -> dict[str, Pupil]:
    async with db.open_session(system_scope("test read")) as session:
        return {p.mis_id: p for p in await session.scalars(select(Pupil))}


async def test_snapshot_builds_a_school_from_nothing_and_again_changes_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    snapshot = small_snapshot(world)
    first = await client.put(roster_url(world), json=snapshot, headers=headers)
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["pupils"] == {"created": 4, "updated": 0, "unchanged": 0, "left": 0}
    assert report["classes"]["created"] == 2
    assert report["households"]["created"] == 2
    assert report["contacts"]["created"] == 3
    assert report["rejected"] == []
    assert await counts() == {"SchoolClass": 2, "Household": 2, "Contact": 3, "Pupil": 4}
    pupils = await pupils_by_mis_id()
    assert pupils["P-1"].household_id == pupils["P-2"].household_id  # siblings across classes
    assert pupils["P-3"].upn is None  # UN2: unknown, stored as no UPN

    before = {p.mis_id: p.updated_at for p in pupils.values()}
    again = await client.put(roster_url(world), json=snapshot, headers=headers)
    assert again.status_code == 200
    body = again.json()
    for area in ("pupils", "classes", "households", "contacts"):
        assert body[area]["created"] == body[area]["updated"] == body[area]["left"] == 0, area
    assert body["pupils"]["unchanged"] == 4
    assert {p.mis_id: p.updated_at for p in (await pupils_by_mis_id()).values()} == before


async def test_normalises_postcodes_and_phones(client: httpx.AsyncClient, world: World) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    await client.put(roster_url(world), json=small_snapshot(world), headers=headers)
    async with db.open_session(system_scope("test read")) as session:
        postcodes = set(await session.scalars(select(Household.postcode)))
        mobiles = set(await session.scalars(select(Contact.mobile)))
    assert postcodes == {"ME2 2AB", "ME1 1AA"}
    assert mobiles == {"+447911123456", "+447824555123", "+447911123457"}


async def test_dropped_pupil_goes_off_roll_and_moving_class_updates(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    snapshot = small_snapshot(world)
    await client.put(roster_url(world), json=snapshot, headers=headers)
    snapshot["pupils"] = [p for p in snapshot["pupils"] if p["mis_id"] != "P-4"]
    snapshot["pupils"][0]["class_mis_id"] = "C-3B"
    response = await client.put(roster_url(world), json=snapshot, headers=headers)
    assert response.json()["pupils"] == {"created": 0, "updated": 1, "unchanged": 2, "left": 1}
    pupils = await pupils_by_mis_id()
    assert pupils["P-4"].on_roll is False
    assert pupils["P-4"].left_on is not None
    assert len(pupils) == 4  # never deleted
    async with db.open_session(system_scope("test read")) as session:
        three_b = await session.scalar(select(SchoolClass.id).where(SchoolClass.mis_id == "C-3B"))
    assert pupils["P-1"].class_id == three_b


async def test_dry_run_reports_without_writing(client: httpx.AsyncClient, world: World) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    response = await client.put(
        roster_url(world), params={"dry_run": "true"}, json=small_snapshot(world), headers=headers
    )
    assert response.status_code == 200
    assert response.json()["dry_run"] is True
    assert response.json()["pupils"]["created"] == 4
    assert await counts() == {"SchoolClass": 0, "Household": 0, "Contact": 0, "Pupil": 0}


def _break(snapshot: dict[str, Any], where: str, index: int, key: str, value: Any) -> None:
    snapshot[where][index][key] = value


BAD_ROWS = [
    ("pupils", 0, "upn", "Q207000016049", "#/pupils/0/upn", "check letter"),
    ("households", 1, "postcode", "ZZ1 1ZZZ", "#/households/1/postcode", "postcode"),
    ("pupils", 2, "class_mis_id", "C-9Z", "#/pupils/2/class_mis_id", "no such class"),
    ("pupils", 3, "mis_id", "P-1", "#/pupils/3/mis_id", "twice"),
]


async def test_bad_rows_reject_the_whole_snapshot_and_write_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    for where, index, key, value, pointer, words in BAD_ROWS:
        snapshot = small_snapshot(world)
        _break(snapshot, where, index, key, value)
        response = await client.put(roster_url(world), json=snapshot, headers=headers)
        body = assert_problem(response, 422, "roster-rejected")
        assert pointer in [e["pointer"] for e in body["errors"]], body
        assert words in str(body["errors"]), body
        assert await counts() == {"SchoolClass": 0, "Household": 0, "Contact": 0, "Pupil": 0}


async def test_a_rejected_snapshot_names_fields_and_rules_never_the_values(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    snapshot = small_snapshot(world)
    snapshot["pupils"][0]["upn"] = "Q207000016049"
    snapshot["pupils"][1]["upn"] = "A2070000160"
    snapshot["households"][1]["postcode"] = "ZZ1 1ZZZ"
    snapshot["classes"][0]["teacher_emails"] = ["nobody.here@example.org"]
    snapshot["pupils"][2]["class_mis_id"] = "C-SECRET"

    response = await client.put(roster_url(world), json=snapshot, headers=headers)

    body = assert_problem(response, 422, "roster-rejected")
    for value in ("Q207000016049", "207000016049", "A2070000160", "ZZ1 1ZZZ", "ZZ11ZZZ"):
        assert value not in response.text
    for value in ("nobody.here", "C-SECRET"):
        assert value not in response.text
    reasons = {error["pointer"]: error["detail"] for error in body["errors"]}
    assert reasons["#/households/1/postcode"] == "not a valid UK postcode"
    assert "UPN" in reasons["#/pupils/0/upn"]
    assert "UPN" in reasons["#/pupils/1/upn"]
    assert "no such class" in reasons["#/pupils/2/class_mis_id"]
    report = await client.put(
        roster_url(world),
        params={"on_error": "skip", "dry_run": "true"},
        json=snapshot,
        headers=headers,
    )
    assert report.status_code == 200, report.text
    assert report.json()["rejected"]
    assert report.json()["warnings"]
    for value in ("Q207000016049", "ZZ1 1ZZZ", "nobody.here", "C-SECRET"):
        assert value not in report.text


async def contacts_by_name() -> dict[str, Contact]:
    async with db.open_session(system_scope("test read")) as session:
        return {c.name: c for c in await session.scalars(select(Contact))}


async def test_a_landline_contact_is_kept_for_calls_never_texts(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    snapshot = small_snapshot(world)
    zoe = snapshot["households"][1]["contacts"][0]
    zoe |= {"mobile": "020 7946 0000", "email": "zoe.brown@example.org"}

    response = await client.put(roster_url(world), json=snapshot, headers=headers)

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["rejected"] == []
    assert report["contacts"]["created"] == 3
    assert report["warnings"] == [
        {
            "pointer": "#/households/1/contacts/0/mobile",
            "reason": "not a UK mobile number: kept as a landline, no texts",
        }
    ]
    kept = (await contacts_by_name())["Zoë Brown"]
    assert (kept.mobile, kept.landline) == (None, "+442079460000")
    assert kept.email == "zoe.brown@example.org"
    assert (kept.preferred_language, kept.interpreter_needed) == ("Polish", True)
    assert "7946" not in response.text


async def test_a_wrong_number_or_email_is_left_out_and_the_contact_kept(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    snapshot = small_snapshot(world)
    snapshot["households"][1]["contacts"][0]["mobile"] = "07911 FLOWER"
    snapshot["households"][0]["contacts"][1]["email"] = "omar@@example.org"

    response = await client.put(roster_url(world), json=snapshot, headers=headers)

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["rejected"] == []
    assert report["contacts"]["created"] == 3
    warnings = {w["pointer"]: w["reason"] for w in report["warnings"]}
    assert warnings["#/households/1/contacts/0/mobile"].startswith("not a phone number: left out")
    assert warnings["#/households/0/contacts/1/email"].startswith("not a valid email address")
    for value in ("FLOWER", "omar@"):
        assert value not in response.text
    assert ".;" not in response.text
    contacts = await contacts_by_name()
    assert (contacts["Zoë Brown"].mobile, contacts["Zoë Brown"].landline) == (None, None)
    assert contacts["Zoë Brown"].interpreter_needed
    assert (contacts["Omar Khan"].email, contacts["Omar Khan"].mobile) == (None, "+447824555123")

    stamps = {c.name: c.updated_at for c in contacts.values()}
    again = (await client.put(roster_url(world), json=snapshot, headers=headers)).json()
    assert again["contacts"] == {"created": 0, "updated": 0, "unchanged": 3, "left": 0}
    assert again["households"]["created"] == again["households"]["updated"] == 0
    assert {c.name: c.updated_at for c in (await contacts_by_name()).values()} == stamps


async def test_skip_applies_valid_rows_and_leaves_rejected_pupils_alone(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    snapshot = small_snapshot(world)
    await client.put(roster_url(world), json=snapshot, headers=headers)
    snapshot["pupils"][3]["upn"] = "X207000016049"
    snapshot["pupils"][3]["legal_first_name"] = "Samuel"
    response = await client.put(
        roster_url(world), params={"on_error": "skip"}, json=snapshot, headers=headers
    )
    assert response.status_code == 200
    body = response.json()
    assert [r["pointer"] for r in body["rejected"]] == ["#/pupils/3/upn"]
    assert body["pupils"]["left"] == 0  # a rejected pupil has not left
    pupils = await pupils_by_mis_id()
    assert pupils["P-4"].on_roll
    assert pupils["P-4"].legal_first_name == "Sam"


async def test_siblings_across_two_schools_share_one_household(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await bearer(world.login(Role.TRUST_ADMIN))
    first = small_snapshot(world, school=0)
    await client.put(roster_url(world, school=0), json=first, headers=admin)
    # The second school's MIS names the family differently but has the same home and mother.
    second = small_snapshot(world, school=1)
    second["classes"] = [{"mis_id": "Y7A", "name": "7A", "year_group": "7"}]
    second["households"] = [
        {
            **first["households"][0],
            "ref": "FAM-900",
            "mis_id": "FAM-900",
            "address_line1": "12, Station Road",
            "postcode": "ME22AB",
            "contacts": [first["households"][0]["contacts"][0]],
        }
    ]
    second["pupils"] = [
        {
            "mis_id": "S2-1",
            "legal_first_name": "Adam",
            "legal_last_name": "Khan",
            "date_of_birth": "2014-03-03",
            "class_mis_id": "Y7A",
            "household_ref": "FAM-900",
        }
    ]
    response = await client.put(roster_url(world, school=1), json=second, headers=admin)
    assert response.status_code == 200, response.text
    merges = response.json()["merges"]
    assert len(merges) == 1
    pupils = await pupils_by_mis_id()
    assert merges[0]["household_id"] == str(pupils["P-1"].household_id)
    assert pupils["S2-1"].household_id == pupils["P-1"].household_id
    # Father came only from school 0's feed; school 1's sync does not remove him.
    assert (await counts())["Contact"] == 3


async def test_unknown_fields_and_bad_shapes_are_422(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    snapshot = small_snapshot(world)
    snapshot["pupils"][0]["favourite_colour"] = "blue"
    assert_problem(await client.put(roster_url(world), json=snapshot, headers=headers), 422)
    assert (await counts())["Pupil"] == 0


async def test_an_overlong_staff_email_is_refused_not_echoed(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    snapshot = small_snapshot(world)
    snapshot["classes"][0]["teacher_emails"] = ["a" * 300_000 + "@example.org"]
    response = await client.put(roster_url(world), json=snapshot, headers=headers)
    body = assert_problem(response, 422)
    assert "#/classes/0/teacher_emails/0" in response.text
    assert len(response.content) < 10_000, body
    assert (await counts())["Pupil"] == 0


async def test_an_idempotency_key_reused_with_another_query_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    """A dry run's key cannot be replayed as the real sync: the query is part of the request."""
    headers = await bearer(world.login(Role.SCHOOL_ADMIN)) | {"Idempotency-Key": "roster-sync-0002"}
    snapshot = small_snapshot(world)
    tried = await client.put(
        roster_url(world), json=snapshot, headers=headers, params={"dry_run": "true"}
    )
    assert tried.status_code == 200, tried.text
    applied = await client.put(roster_url(world), json=snapshot, headers=headers)
    assert "used for a different request" in assert_problem(applied, 422)["detail"]
    assert (await counts())["Pupil"] == 0


async def test_idempotency_key_replays(client: httpx.AsyncClient, world: World) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN)) | {"Idempotency-Key": "roster-sync-0001"}
    snapshot = small_snapshot(world)
    first = await client.put(roster_url(world), json=snapshot, headers=headers)
    second = await client.put(roster_url(world), json=snapshot, headers=headers)
    assert first.json() == second.json()
    assert second.json()["pupils"]["created"] == 4
