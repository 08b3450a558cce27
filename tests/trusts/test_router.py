"""Trusts and schools through the API: who may do what, and isolation between tenants."""

from typing import Any

import httpx
import pytest

from app.core.permissions import Role
from app.synthetic.generator import Generator, World
from tests.conftest import assert_problem, bearer


def new_school(urn: str = "131313", **overrides: Any) -> dict[str, Any]:
    body = {
        "urn": urn,
        "name": "Temple Hill Primary Academy",
        "phase": "primary",
        "address_line1": "Temple Hill Square",
        "town": "Dartford",
        "postcode": " da1 5nd ",
        "participation": "full",
    }
    return body | overrides


async def test_trust_admin_creates_school_in_own_trust(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    created = await client.post("/api/v1/schools", json=new_school(), headers=headers)
    assert created.status_code == 201, created.text
    school = created.json()
    assert school["trust_id"] == str(world.trusts[0].trust.id)
    assert school["postcode"] == "DA1 5ND"
    fetched = await client.get(f"/api/v1/schools/{school['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.headers["etag"]
    assert fetched.headers["cache-control"] == "no-store"


async def test_other_trust_cannot_see_the_school(client: httpx.AsyncClient, world: World) -> None:
    foreign_school = world.trusts[1].schools[0]
    headers = await bearer(world.login(Role.TRUST_ADMIN, trust=0))
    missing = await client.get(
        "/api/v1/schools/00000000-0000-4000-8000-000000000000", headers=headers
    )
    foreign = await client.get(f"/api/v1/schools/{foreign_school.id}", headers=headers)
    assert_problem(missing, 404, "not-found")
    assert_problem(foreign, 404, "not-found")
    assert foreign.json()["title"] == missing.json()["title"]
    listed = await client.get("/api/v1/schools", headers=headers)
    ids = {s["id"] for s in listed.json()["items"]}
    assert ids == {str(s.id) for s in world.trusts[0].schools}


async def test_school_staff_see_only_their_school(client: httpx.AsyncClient, world: World) -> None:
    headers = await bearer(world.login(Role.TEACHER, trust=0, school=1))
    listed = await client.get("/api/v1/schools", headers=headers)
    assert [s["id"] for s in listed.json()["items"]] == [str(world.trusts[0].schools[1].id)]
    sibling_school = world.trusts[0].schools[0]
    assert_problem(await client.get(f"/api/v1/schools/{sibling_school.id}", headers=headers), 404)


@pytest.mark.parametrize(
    "role", [Role.SCHOOL_ADMIN, Role.TEACHER, Role.DSL, Role.OFFICE, Role.TRUST_DSL]
)
async def test_only_trust_admins_create_schools(
    client: httpx.AsyncClient, world: World, role: Role
) -> None:
    headers = await bearer(world.login(role))
    response = await client.post("/api/v1/schools", json=new_school(), headers=headers)
    assert_problem(response, 403, "forbidden")


async def test_urn_unique_across_trusts(client: httpx.AsyncClient, world: World) -> None:
    taken = world.trusts[1].schools[0].urn
    headers = await bearer(world.login(Role.TRUST_ADMIN, trust=0))
    response = await client.post("/api/v1/schools", json=new_school(urn=taken), headers=headers)
    assert_problem(response, 409, "urn-taken")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("urn", "12345"),
        ("urn", "12345a"),
        ("postcode", "NOT A CODE"),
        ("phase", "college"),
        ("participation", "partial"),
    ],
)
async def test_invalid_school_is_refused_and_nothing_written(
    client: httpx.AsyncClient, world: World, field: str, value: str
) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    body = assert_problem(
        await client.post("/api/v1/schools", json=new_school(**{field: value}), headers=headers),
        422,
    )
    assert body["errors"], body
    listed = await client.get("/api/v1/schools", headers=headers)
    assert len(listed.json()["items"]) == len(world.trusts[0].schools)


async def test_participation_needs_a_reason_on_update(
    client: httpx.AsyncClient, world: World
) -> None:
    school = world.trusts[0].schools[0]
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    etag = (await client.get(f"/api/v1/schools/{school.id}", headers=headers)).headers["etag"]
    refused = await client.patch(
        f"/api/v1/schools/{school.id}",
        json={"participation": "none"},
        headers=headers | {"If-Match": etag},
    )
    assert_problem(refused, 422, "participation-reason-missing")
    accepted = await client.patch(
        f"/api/v1/schools/{school.id}",
        json={"participation": "none", "participation_reason": "Temporary closure for rebuild"},
        headers=headers | {"If-Match": etag},
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["participation"] == "none"
    assert accepted.headers["etag"] != etag


async def test_school_admin_cannot_change_school_record(
    client: httpx.AsyncClient, world: World
) -> None:
    school = world.trusts[0].schools[0]
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    etag = (await client.get(f"/api/v1/schools/{school.id}", headers=headers)).headers["etag"]
    response = await client.patch(
        f"/api/v1/schools/{school.id}",
        json={"name": "Renamed"},
        headers=headers | {"If-Match": etag},
    )
    assert_problem(response, 403)


async def test_platform_admin_creates_trust_with_first_admin(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.PLATFORM_ADMIN))
    response = await client.post(
        "/api/v1/trusts",
        json={
            "name": "Weald Trust",
            "first_admin": {"email": "Head@Weald.example.org", "full_name": "Sam Head"},
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    invitation = created["first_admin_invitation"]
    assert invitation["token"]
    accepted = await client.post(
        "/api/v1/auth/invitations/accept",
        json={"token": invitation["token"], "password": "a long enough passphrase"},
    )
    assert accepted.status_code == 204
    signed_in = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "password",
            "username": "head@weald.example.org",
            "password": "a long enough passphrase",
        },
    )
    assert signed_in.status_code == 200, signed_in.text
    admin = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    me = (await client.get("/api/v1/me", headers=admin)).json()
    assert me["trust_id"] == created["id"]
    assert me["roles"] == [{"role": "trust_admin", "school_id": None}]
    listed = await client.get("/api/v1/trusts", headers=admin)
    assert [t["id"] for t in listed.json()["items"]] == [created["id"]]


async def test_trust_admin_sees_only_own_trust(client: httpx.AsyncClient, world: World) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN, trust=1))
    listed = await client.get("/api/v1/trusts", headers=headers)
    assert [t["id"] for t in listed.json()["items"]] == [str(world.trusts[1].trust.id)]
    assert_problem(
        await client.get(f"/api/v1/trusts/{world.trusts[0].trust.id}", headers=headers), 404
    )
    assert_problem(await client.post("/api/v1/trusts", json={"name": "X"}, headers=headers), 403)


async def test_school_list_pages_with_cursor(client: httpx.AsyncClient, world: World) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    for i in range(4):
        created = await client.post(
            "/api/v1/schools", json=new_school(urn=f"13000{i}", name=f"School {i}"), headers=headers
        )
        assert created.status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/schools", params=params, headers=headers)).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(world.trusts[0].schools) + 4
    assert_problem(
        await client.get("/api/v1/schools", params={"cursor": "garbage!"}, headers=headers), 422
    )
    assert_problem(await client.get("/api/v1/schools", params={"limit": 201}, headers=headers), 422)


async def test_generator_is_deterministic() -> None:
    first, second = Generator(seed=3).world(), Generator(seed=3).world()
    assert [lg.email for lg in first.logins] == [lg.email for lg in second.logins]
    assert [s.id for s in first.trusts[0].schools] == [s.id for s in second.trusts[0].schools]


async def test_idempotent_replay_withholds_the_first_admin_token(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.PLATFORM_ADMIN)) | {"Idempotency-Key": "new-trust-01"}
    body = {
        "name": "Weald Trust",
        "first_admin": {"email": "a@weald.example.org", "full_name": "A"},
    }
    first = await client.post("/api/v1/trusts", json=body, headers=headers)
    assert first.status_code == 201, first.text
    token = first.json()["first_admin_invitation"]["token"]
    replay = await client.post("/api/v1/trusts", json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert replay.json()["first_admin_invitation"]["token"] is None
    assert token not in replay.text


async def test_a_partial_school_names_the_year_groups_it_visits(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    partly = {"participation": "partial", "participation_reason": "Reception only this year"}
    created = await client.post(
        "/api/v1/schools",
        json=new_school(**partly, participating_year_groups=["N2", "R"]),
        headers=headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["participating_year_groups"] == ["N2", "R"]
    full = await client.post(
        "/api/v1/schools",
        json=new_school("141414", participating_year_groups=["R"]),
        headers=headers,
    )
    assert_problem(full, 422)
