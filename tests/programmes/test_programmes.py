"""Running a programme: drafts with a generated grid, settings locked once collecting, status one
step at a time by SLT, and the households it must reach."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.core.permissions import Role
from app.synthetic.dates import ACADEMIC_YEAR, VISIT_WEEK
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer, load_roster
from tests.roster.snapshots import small_snapshot

# A Tuesday, Wednesday and Friday still to come; Thursday between them is not a visit day.
TUESDAY, WEDNESDAY, THURSDAY, FRIDAY = VISIT_WEEK[1], VISIT_WEEK[2], VISIT_WEEK[3], VISIT_WEEK[4]
DAYS = [TUESDAY.isoformat(), WEDNESDAY.isoformat(), FRIDAY.isoformat()]


def new_programme(**overrides: Any) -> dict[str, Any]:
    closes = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    return {
        "name": "Home visits 2026",
        "academic_year": ACADEMIC_YEAR,
        "visit_days": DAYS,
        "day_starts": "09:00",
        "day_ends": "15:00",
        "slot_minutes": 45,
        "travel_buffer_minutes": 15,
        "breaks": [{"starts": "12:00", "ends": "13:00"}],
        "year_groups": ["R"],
        "preferences_close_at": closes,
    } | overrides


def programmes_url(world: World, school: int = 0) -> str:
    return f"/api/v1/schools/{world.trusts[0].schools[school].id}/programmes"


async def create(client: httpx.AsyncClient, world: World, **overrides: Any) -> httpx.Response:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    return await client.post(
        programmes_url(world), json=new_programme(**overrides), headers=headers
    )


async def move(
    client: httpx.AsyncClient, programme_id: str, headers: dict[str, str], to: str, **body: Any
) -> httpx.Response:
    """A transition with the ETag just read, as a client that keeps up would send it."""
    url = f"/api/v1/programmes/{programme_id}"
    etag = (await client.get(url, headers=headers)).headers["etag"]
    return await client.post(
        f"{url}/transitions", json={"to": to, **body}, headers=headers | {"If-Match": etag}
    )


async def publish(
    client: httpx.AsyncClient, programme_id: str, headers: dict[str, str], **body: Any
) -> httpx.Response:
    """Publishing as SLT do it: the school's DSL named on call for every visit day (publishing
    waits for that), then the transition."""
    url = f"/api/v1/programmes/{programme_id}"
    programme = (await client.get(url, headers=headers)).json()
    dsls = await client.get(
        "/api/v1/staff",
        params={"school_id": programme["school_id"], "role": "dsl", "active": "true"},
        headers=headers,
    )
    dsl = dsls.json()["items"][0]["id"]
    for day in programme["visit_days"]:
        named = await client.put(
            f"{url}/duty-rota/{day}", json={"dsl_on_call_id": dsl}, headers=headers
        )
        assert named.status_code == 200, named.text
    return await move(client, programme_id, headers, "published", **body)


async def test_a_draft_gets_its_grid_and_trust_defaults(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await create(client, world, slot_minutes=None)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "draft"
    assert body["max_visits_per_adult_per_day"] == 10  # the trust's default
    assert body["slot_minutes"] == world.trusts[0].trust.default_visit_minutes
    headers = await bearer(world.login(Role.TEACHER))
    slots = await client.get(
        f"/api/v1/programmes/{body['id']}/slots", params={"limit": 200}, headers=headers
    )
    items = slots.json()["items"]
    assert len(items) == body["slot_count"] > 0
    assert {s["day"] for s in items} == set(DAYS)
    assert not any("12:" in s["local_start"] for s in items)  # lunch


async def test_settings_are_checked(client: httpx.AsyncClient, world: World) -> None:
    bad_settings: list[dict[str, Any]] = [
        {"day_starts": "16:00", "day_ends": "09:00"},
        {"visit_days": [DAYS[0], DAYS[0]]},
        {"visit_days": [d.isoformat() for d in VISIT_WEEK] + ["2027-07-12"]},
        {"year_groups": []},
        {"day_starts": 32400},
        {"breaks": [{"starts": "13:00", "ends": "12:00"}]},
    ]
    for bad in bad_settings:
        assert_problem(await create(client, world, **bad), 422)
    await create(client, world)
    assert_problem(await create(client, world), 409, "programme-name-taken")


async def test_the_grid_changes_only_while_a_draft(client: httpx.AsyncClient, world: World) -> None:
    created = (await create(client, world)).json()
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{created['id']}"
    etag = (await client.get(url, headers=headers)).headers["etag"]
    changed = await client.patch(
        url, json={"day_ends": "11:00", "breaks": []}, headers=headers | {"If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["slot_count"] == 2 * 3  # 09:00 and 10:00 on three days
    etag = changed.headers["etag"]
    moved = await client.post(
        f"{url}/transitions", json={"to": "collecting"}, headers=headers | {"If-Match": etag}
    )
    assert moved.status_code == 200, moved.text
    locked = await client.patch(
        url, json={"day_ends": "16:00"}, headers=headers | {"If-Match": moved.headers["etag"]}
    )
    assert_problem(locked, 409, "programme-not-draft")
    renamed = await client.patch(
        url, json={"name": "Autumn visits"}, headers=headers | {"If-Match": moved.headers["etag"]}
    )
    assert renamed.status_code == 200


async def test_status_moves_one_step_at_a_time_by_slt(
    client: httpx.AsyncClient, world: World
) -> None:
    created = (await create(client, world)).json()
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    assert_problem(await publish(client, created["id"], admin), 409, "transition-refused")
    teacher = await bearer(world.login(Role.TEACHER))
    url = f"/api/v1/programmes/{created['id']}"
    etag = (await client.get(url, headers=admin)).headers["etag"]
    assert_problem(
        await client.post(
            f"{url}/transitions", json={"to": "collecting"}, headers=teacher | {"If-Match": etag}
        ),
        403,
    )
    for status in ("collecting", "scheduling"):
        moved = await move(client, created["id"], admin, status)
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == status
        assert moved.headers["etag"] == (await client.get(url, headers=admin)).headers["etag"]
    refused = assert_problem(await move(client, created["id"], admin, "draft"), 409)
    assert "only to published" in refused["detail"]


async def test_every_transition_needs_the_current_etag(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await create(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{created.json()['id']}"
    body = {"to": "collecting"}
    assert_problem(await client.post(f"{url}/transitions", json=body, headers=admin), 428)
    stale = created.headers["etag"]
    renamed = await client.patch(url, json={"name": "Renamed"}, headers=admin | {"If-Match": stale})
    assert renamed.status_code == 200, renamed.text
    assert_problem(
        await client.post(f"{url}/transitions", json=body, headers=admin | {"If-Match": stale}),
        412,
    )
    assert (await client.get(url, headers=admin)).json()["status"] == "draft"
    moved = await client.post(
        f"{url}/transitions", json=body, headers=admin | {"If-Match": renamed.headers["etag"]}
    )
    assert moved.status_code == 200, moved.text


async def test_collecting_needs_a_closing_date(client: httpx.AsyncClient, world: World) -> None:
    created = (await create(client, world, preferences_close_at=None)).json()
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    refused = await move(client, created["id"], admin, "collecting")
    body = assert_problem(refused, 409, "transition-refused")
    assert "preferences_close_at" in body["detail"]


async def test_households_in_scope_and_exemptions(client: httpx.AsyncClient, world: World) -> None:
    await load_roster(world, small_snapshot(world))
    created = (await create(client, world)).json()  # Reception only
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{created['id']}/households"
    found = (await client.get(url, headers=admin)).json()["items"]
    # P-1 (F-1) and P-4 (F-2) are in Reception: two households, one pupil each in scope.
    assert len(found) == 2
    assert all(len(h["pupil_ids"]) == 1 and h["year_groups"] == ["R"] for h in found)
    household = found[0]["household_id"]
    exempted = await client.put(
        f"{url}/{household}/exemption",
        json={"kind": "exempt", "reason": "Family moving abroad in August"},
        headers=admin,
    )
    assert exempted.status_code == 200, exempted.text
    assert exempted.json()["exemption"] == "exempt"
    assert exempted.json()["family_name"] == found[0]["family_name"]
    office = await bearer(world.login(Role.OFFICE))
    assert_problem(
        await client.put(
            f"{url}/{household}/exemption", json={"kind": "exempt", "reason": "No"}, headers=office
        ),
        403,
    )
    cleared = await client.delete(f"{url}/{household}/exemption", headers=admin)
    assert cleared.status_code == 204
    items = (await client.get(url, headers=admin)).json()["items"]
    assert all(h["exemption"] is None for h in items)


async def test_households_in_scope_are_paged_with_names_addresses_and_children(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, small_snapshot(world))
    created = (await create(client, world, year_groups=["R", "3"])).json()
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{created['id']}/households"
    first = await client.get(url, params={"limit": 1}, headers=admin)
    assert first.status_code == 200, first.text
    assert len(first.json()["items"]) == 1
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    second = (await client.get(url, params={"limit": 1, "cursor": cursor}, headers=admin)).json()
    assert second["next_cursor"] is None
    families = {h["family_name"]: h for h in first.json()["items"] + second["items"]}
    assert set(families) == {"Khan", "Brown"}
    khan, brown = families["Khan"], families["Brown"]
    assert (khan["reference"], brown["reference"]) == ("F-1", "F-2")  # the MIS family ids
    assert (khan["address_line1"], khan["postcode"]) == ("12 Station Road", "ME2 2AB")
    assert sorted((c["first_name"], c["class_name"]) for c in khan["children"]) == [
        ("Maryam", "3B"),
        ("Yusuf", "Robins"),
    ]
    assert khan["year_groups"] == ["3", "R"]
    # Addresses as the roster shows them: office and the children's class teacher see them,
    # support staff who do not work with the class do not.
    for role, sees in ((Role.OFFICE, True), (Role.TEACHER, True), (Role.SUPPORT_STAFF, False)):
        page = (await client.get(url, headers=await bearer(world.login(role)))).json()["items"]
        assert len(page) == 2
        assert all((h["address_line1"] is not None) is sees for h in page), role
        assert all(h["postcode"] is None or sees for h in page)
        assert all(h["family_name"] and h["children"] for h in page)


async def test_exemption_reasons_reach_slt_and_dsls_only(
    client: httpx.AsyncClient, world: World
) -> None:
    """Everyone at the school sees which households are exempt or offered a neutral venue;
    only SLT, the DSLs and the trust's central team read SLT's reason."""
    await load_roster(world, small_snapshot(world))
    created = (await create(client, world)).json()
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{created['id']}/households"
    household = (await client.get(url, headers=admin)).json()["items"][0]["household_id"]
    reason = "Social care involvement; meet at school"
    offered = await client.put(
        f"{url}/{household}/exemption",
        json={"kind": "neutral_venue", "reason": reason},
        headers=admin,
    )
    assert offered.json()["exemption_reason"] == reason
    for role in Role:
        if role is Role.PLATFORM_ADMIN:
            continue
        listed = await client.get(url, headers=await bearer(world.login(role)))
        assert listed.status_code == 200, f"{role}: {listed.text}"
        (entry,) = [h for h in listed.json()["items"] if h["household_id"] == household]
        assert entry["exemption"] == "neutral_venue", role
        sees = role in {Role.SCHOOL_ADMIN, Role.DSL, Role.TRUST_ADMIN, Role.TRUST_DSL}
        assert entry["exemption_reason"] == (reason if sees else None), role
        assert (reason in listed.text) == sees, role
