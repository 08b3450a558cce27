"""Invitations: issued to every household in scope, read by the office, re-issued and revoked; a
code that is wrong, revoked or expired opens nothing, and guessing is throttled."""

import asyncio
import re
from typing import Any

import httpx
import pytest

from app.core.permissions import Role
from app.core.settings import get_settings
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


async def test_a_parent_who_pastes_the_whole_link_gets_in(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await collecting_programme(client, world)
    home = await household_of("P-1")
    await invitation_code(client, world, programme["id"], home)
    office = await bearer(world.login(Role.OFFICE))
    url = f"/api/v1/programmes/{programme['id']}/households/{home}/invitation"
    link = (await client.get(url, headers=office)).json()["link"]
    assert link.startswith("https://portal.threshold.invalid/p/")
    # As copied from a text message: whole, with a slash or a line break after it, shouted,
    # or with the scheme the phone left off.
    for pasted in (link, f" {link}/\n", link.upper(), link.removeprefix("https://")):
        started = await client.post("/api/v1/parent/sessions", json={"code": pasted})
        assert started.status_code == 201, (pasted, started.text)
        assert started.json()["household_id"] == str(home)
    # The code at the end of someone else's address is not an invitation link.
    elsewhere = link.replace("portal.threshold.invalid", "portal.example.com")
    refused = await client.post("/api/v1/parent/sessions", json={"code": elsewhere})
    assert_problem(refused, 400, "invalid-code")


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


SESSIONS = "/api/v1/parent/sessions"


def wrong_code(n: int) -> dict[str, str]:
    return {"code": f"{n:020d}"}


def elsewhere(app: Any, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_wrong_codes_are_throttled_per_address(
    client: httpx.AsyncClient, world: World
) -> None:
    limit = get_settings().parent_code_max_failures
    for attempt in range(limit):
        assert_problem(await client.post(SESSIONS, json=wrong_code(attempt)), 400, "invalid-code")
    throttled = await client.post(SESSIONS, json=wrong_code(limit))
    assert_problem(throttled, 429, "too-many-requests")
    assert (
        0
        < int(throttled.headers["retry-after"])
        <= get_settings().parent_code_failure_window_seconds
    )


async def test_a_strangers_burst_of_wrong_codes_does_not_lock_out_parents_at_that_address(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "parent_code_max_failures", 3)
    programme = await collecting_programme(client, world)
    code = await invitation_code(client, world, programme["id"], await household_of("P-1"))
    burst = await asyncio.gather(*(client.post(SESSIONS, json=wrong_code(n)) for n in range(10)))
    statuses = [r.status_code for r in burst]
    # Counted before answered: "wrong" exactly as often as the limit allows, the rest refused.
    assert sorted(statuses) == [400] * 3 + [429] * 7, statuses
    # A parent on the same connection (a school's wi-fi, a proxy) with a real code gets in.
    assert (await client.post(SESSIONS, json={"code": code})).status_code == 201


async def test_a_valid_code_has_its_own_limit_wherever_it_is_used_from(
    app: Any, client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "parent_code_max_uses", 3)
    programme = await collecting_programme(client, world)
    code = await invitation_code(client, world, programme["id"], await household_of("P-1"))
    other = await invitation_code(client, world, programme["id"], await household_of("P-3"))
    clients = [elsewhere(app, f"203.0.113.{n}") for n in range(8)]
    try:
        burst = await asyncio.gather(*(c.post(SESSIONS, json={"code": code}) for c in clients))
    finally:
        for c in clients:
            await c.aclose()
    statuses = [r.status_code for r in burst]
    assert sorted(statuses) == [201] * 3 + [429] * 5, statuses
    throttled = await client.post(SESSIONS, json={"code": code})
    problem = assert_problem(throttled, 429, "too-many-requests")
    assert "code" in problem["detail"]
    # The limit is the code's: another household's code still works from the same address.
    assert (await client.post(SESSIONS, json={"code": other})).status_code == 201


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


async def test_an_invitation_carries_an_etag_that_moves_when_it_changes(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await collecting_programme(client, world)
    home = await household_of("P-1")
    office = await bearer(world.login(Role.OFFICE))
    url = f"/api/v1/programmes/{programme['id']}/households/{home}/invitation"
    issued = await client.post(url, headers=office)
    assert issued.status_code == 201, issued.text
    read = await client.get(url, headers=office)
    assert read.headers["ETag"] == issued.headers["ETag"]
    assert issued.json()["invitation_id"].replace("-", "") in read.headers["ETag"]

    # The family uses its code: the invitation records it, and its version moves.
    await parent_headers(client, read.json()["code"])
    used = await client.get(url, headers=office)
    assert used.json()["last_used_at"] is not None
    assert used.json()["version"] > read.json()["version"]
    assert used.headers["ETag"] != read.headers["ETag"]

    reissued = await client.post(url, headers=office)
    assert reissued.headers["ETag"] not in {read.headers["ETag"], used.headers["ETag"]}
