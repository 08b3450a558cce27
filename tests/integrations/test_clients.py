"""Machine clients: secret shown once, client-credentials tokens, scoped to named schools."""

import asyncio

import httpx
import pytest

from app.core.permissions import Role
from app.core.settings import get_settings
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer, load_roster, staff_with_roles
from tests.roster.snapshots import small_snapshot


async def _create(client: httpx.AsyncClient, world: World, scopes: list[str]) -> dict[str, str]:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    body = {
        "name": "Arbor feed",
        "school_ids": [str(world.trusts[0].schools[0].id)],
        "scopes": scopes,
    }
    created = await client.post("/api/v1/integration-clients", json=body, headers=headers)
    assert created.status_code == 201, created.text
    result: dict[str, str] = created.json()
    return result


async def _token(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


async def test_client_reads_and_writes_only_its_school(
    client: httpx.AsyncClient, world: World
) -> None:
    made = await _create(client, world, ["roster:read", "roster:write"])
    token = await _token(client, made["client_id"], made["client_secret"])
    assert token.status_code == 200
    assert token.json()["refresh_token"] is None
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    home, other = world.trusts[0].schools[0].id, world.trusts[0].schools[1].id
    synced = await client.put(
        f"/api/v1/schools/{home}/roster", json=small_snapshot(world), headers=headers
    )
    assert synced.status_code == 200, synced.text
    assert (await client.get(f"/api/v1/schools/{home}/pupils", headers=headers)).status_code == 200
    assert_problem(await client.get(f"/api/v1/schools/{other}/pupils", headers=headers), 404)
    assert_problem(
        await client.put(
            f"/api/v1/schools/{other}/roster", json=small_snapshot(world, school=1), headers=headers
        ),
        404,
    )
    # A machine token is useless on staff routes.
    assert_problem(await client.get("/api/v1/staff", headers=headers), 403)
    assert_problem(await client.get("/api/v1/me", headers=headers), 403)


async def test_read_only_client_cannot_write(client: httpx.AsyncClient, world: World) -> None:
    made = await _create(client, world, ["roster:read"])
    token = (await _token(client, made["client_id"], made["client_secret"])).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    home = world.trusts[0].schools[0].id
    response = await client.put(
        f"/api/v1/schools/{home}/roster", json=small_snapshot(world), headers=headers
    )
    assert_problem(response, 403)


async def test_revocation_and_rotation_take_effect_at_once(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    made = await _create(client, world, ["roster:read"])
    token = (await _token(client, made["client_id"], made["client_secret"])).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    pupils = f"/api/v1/schools/{world.trusts[0].schools[0].id}/pupils"
    assert (await client.get(pupils, headers=headers)).status_code == 200

    rotated = await client.post(
        f"/api/v1/integration-clients/{made['id']}/rotate-secret", headers=admin
    )
    assert rotated.status_code == 200
    assert_problem(
        await _token(client, made["client_id"], made["client_secret"]), 401, "invalid-client"
    )
    assert (
        await _token(client, made["client_id"], rotated.json()["client_secret"])
    ).status_code == 200

    revoked = await client.post(f"/api/v1/integration-clients/{made['id']}/revoke", headers=admin)
    assert revoked.json()["revoked_at"] is not None
    assert_problem(await client.get(pupils, headers=headers), 401)  # the old token, at once
    assert_problem(
        await _token(client, made["client_id"], rotated.json()["client_secret"]),
        401,
        "invalid-client",
    )


async def test_rotating_the_secret_ends_the_tokens_issued_before_it(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    made = await _create(client, world, ["roster:read"])
    pupils = f"/api/v1/schools/{world.trusts[0].schools[0].id}/pupils"
    old = (await _token(client, made["client_id"], made["client_secret"])).json()
    old_headers = {"Authorization": f"Bearer {old['access_token']}"}
    assert (await client.get(pupils, headers=old_headers)).status_code == 200

    rotated = await client.post(
        f"/api/v1/integration-clients/{made['id']}/rotate-secret", headers=admin
    )
    assert rotated.status_code == 200, rotated.text
    assert_problem(await client.get(pupils, headers=old_headers), 401)
    new = (await _token(client, made["client_id"], rotated.json()["client_secret"])).json()
    new_headers = {"Authorization": f"Bearer {new['access_token']}"}
    assert (await client.get(pupils, headers=new_headers)).status_code == 200
    # A second rotation ends the second secret's tokens as well.
    again = await client.post(
        f"/api/v1/integration-clients/{made['id']}/rotate-secret", headers=admin
    )
    assert again.status_code == 200
    assert_problem(await client.get(pupils, headers=new_headers), 401)


async def test_an_admin_elsewhere_does_not_see_this_schools_clients(
    client: httpx.AsyncClient, world: World
) -> None:
    made = await _create(client, world, ["roster:read"])
    login = await staff_with_roles(world, [(Role.TEACHER, 0), (Role.SCHOOL_ADMIN, 1)])
    headers = await bearer(login)
    listed = await client.get("/api/v1/integration-clients", headers=headers)
    assert listed.status_code == 200
    assert made["id"] not in listed.text
    url = f"/api/v1/integration-clients/{made['id']}"
    assert_problem(await client.get(url, headers=headers), 404)
    assert_problem(await client.post(f"{url}/revoke", headers=headers), 404)


async def test_secret_is_never_shown_again(client: httpx.AsyncClient, world: World) -> None:
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    made = await _create(client, world, ["roster:read"])
    listed = await client.get("/api/v1/integration-clients", headers=admin)
    fetched = await client.get(f"/api/v1/integration-clients/{made['id']}", headers=admin)
    for response in (listed, fetched):
        assert made["client_secret"] not in response.text
        assert "client_secret" not in response.text


async def test_unknown_client_and_wrong_secret_answer_alike(
    client: httpx.AsyncClient, world: World
) -> None:
    made = await _create(client, world, ["roster:read"])
    wrong = await _token(client, made["client_id"], "not-the-secret")
    unknown = await _token(client, "thc_nobody", "not-the-secret")
    assert_problem(wrong, 401, "invalid-client")
    assert_problem(unknown, 401, "invalid-client")
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_staff_token_is_refused_where_only_clients_and_staff_are_allowed(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, small_snapshot(world))
    teacher = await bearer(world.login(Role.TEACHER))
    home = world.trusts[0].schools[0].id
    assert_problem(
        await client.put(
            f"/api/v1/schools/{home}/roster", json=small_snapshot(world), headers=teacher
        ),
        403,
    )


async def test_a_burst_of_wrong_secrets_gets_no_more_checks_than_the_limit(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "login_max_failures", 1)  # four per client and address
    made = await _create(client, world, ["roster:read"])
    burst = await asyncio.gather(
        *(_token(client, made["client_id"], f"wrong-{n}") for n in range(10))
    )
    statuses = [r.status_code for r in burst]
    assert sorted(statuses) == [401] * 4 + [429] * 6, statuses
    # Locked for now, even with the right secret: the failures stay counted.
    assert_problem(await _token(client, made["client_id"], made["client_secret"]), 429)
