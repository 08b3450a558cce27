"""Invitations: issued to every household in scope, read by the office, re-issued and revoked; a
code that is wrong, revoked or expired opens nothing, and guessing is throttled."""

import re

import httpx

from app.core.permissions import Role
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.parents.helpers import (
    collecting_programme,
    expire_invitations,
    household_of,
    invitation_code,
    parent_headers,
)


async def test_every_household_in_scope_but_the_exempt_is_invited_once(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await collecting_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    exempt = await household_of("P-4")
    marked = await client.put(
        f"/api/v1/programmes/{programme['id']}/households/{exempt}/exemption",
        json={"kind": "exempt", "reason": "Family known to the school; met in school instead"},
        headers=admin,
    )
    assert marked.status_code == 200, marked.text
    office = await bearer(world.login(Role.OFFICE))
    url = f"/api/v1/programmes/{programme['id']}/invitations"
    first = await client.post(url, headers=office)
    assert first.json() == {"issued": 1, "already_invited": 0, "exempt": 1}
    again = await client.post(url, headers=office)
    assert again.json() == {"issued": 0, "already_invited": 1, "exempt": 1}
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(await client.post(url, headers=teacher), 403)

    invited = await household_of("P-1")
    read = await client.get(
        f"/api/v1/programmes/{programme['id']}/households/{invited}/invitation", headers=office
    )
    code = read.json()["code"]
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){4}[0-9A-HJKMNP-TV-Z]{4}", code)
    assert read.json()["link"].endswith("/" + code.replace("-", ""))
    # As typed on a phone: lower case, spaces instead of dashes.
    await parent_headers(client, code.lower().replace("-", " "))
    trust_admin = await bearer(world.login(Role.TRUST_ADMIN))
    reads = await client.get(
        "/api/v1/audit-events", params={"action": "invitation.read_code"}, headers=trust_admin
    )
    assert [e["subject_id"] for e in reads.json()["items"]] == [str(invited)]


async def test_a_reissued_or_revoked_code_stops_working_at_once(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await collecting_programme(client, world)
    home = await household_of("P-1")
    old_code = await invitation_code(client, world, programme["id"], home)
    old_session = await parent_headers(client, old_code)
    new_code = await invitation_code(client, world, programme["id"], home)
    assert new_code != old_code
    assert_problem(await client.get("/api/v1/parent/session", headers=old_session), 401)
    refused = await client.post("/api/v1/parent/sessions", json={"code": old_code})
    assert_problem(refused, 400, "invalid-code")

    new_session = await parent_headers(client, new_code)
    office = await bearer(world.login(Role.OFFICE))
    url = f"/api/v1/programmes/{programme['id']}/households/{home}/invitation"
    assert (await client.delete(url, headers=office)).status_code == 204
    assert_problem(await client.get("/api/v1/parent/session", headers=new_session), 401)
    assert_problem(
        await client.post("/api/v1/parent/sessions", json={"code": new_code}), 400, "invalid-code"
    )
    assert_problem(await client.get(url, headers=office), 404)
    assert_problem(await client.delete(url, headers=office), 404)


async def test_an_expired_code_opens_nothing(client: httpx.AsyncClient, world: World) -> None:
    programme = await collecting_programme(client, world)
    home = await household_of("P-1")
    code = await invitation_code(client, world, programme["id"], home)
    session = await parent_headers(client, code)
    await expire_invitations()
    assert_problem(await client.get("/api/v1/parent/session", headers=session), 401)
    assert_problem(
        await client.post("/api/v1/parent/sessions", json={"code": code}), 400, "invalid-code"
    )


async def test_guessing_is_throttled_per_address(client: httpx.AsyncClient, world: World) -> None:
    programme = await collecting_programme(client, world)
    code = await invitation_code(client, world, programme["id"], await household_of("P-1"))
    for attempt in range(10):
        wrong = await client.post("/api/v1/parent/sessions", json={"code": f"{attempt:020d}"})
        assert_problem(wrong, 400, "invalid-code")
    throttled = await client.post("/api/v1/parent/sessions", json={"code": code})
    assert_problem(throttled, 429)
    assert int(throttled.headers["retry-after"]) > 0


async def test_invitations_only_for_households_the_programme_reaches(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await collecting_programme(client, world, year_groups=["6"])
    home = await household_of("P-1")  # Reception and Year 3: not reached by a Year 6 programme
    url = f"/api/v1/programmes/{programme['id']}/households/{home}/invitation"
    office = await bearer(world.login(Role.OFFICE))
    assert_problem(await client.post(url, headers=office), 409, "household-not-in-scope")
    other_school = await bearer(world.login(Role.OFFICE, school=1))
    assert_problem(await client.post(url, headers=other_school), 404)
