"""Acting on someone else's account needs power over every role it holds, and an account whose
holder has set a password is never re-invited by anyone else: an invitation sets the password,
so re-inviting an account in use would hand it to whoever asked."""

from typing import Any
from uuid import UUID

import httpx
import pytest

from app.core.permissions import Role
from app.synthetic.generator import Login, World
from tests.conftest import all_rows, assert_problem, bearer, sign_in

STAFF = "/api/v1/staff"
ACCEPT = "/api/v1/auth/invitations/accept"
PERIOD = {"starts_at": "2026-09-01T08:00:00+01:00", "ends_at": "2026-09-01T12:00:00+01:00"}


async def give_roles(
    client: httpx.AsyncClient, world: World, staff_id: UUID, roles: list[dict[str, Any]]
) -> None:
    """Set a member's roles as the home trust's admin, whose powers reach every role."""
    admin = await bearer(world.login(Role.TRUST_ADMIN))
    etag = (await client.get(f"{STAFF}/{staff_id}", headers=admin)).headers["etag"]
    response = await client.put(
        f"{STAFF}/{staff_id}/roles", json={"roles": roles}, headers=admin | {"If-Match": etag}
    )
    assert response.status_code == 200, response.text


def beyond_school_a(world: World, where: str) -> dict[str, Any]:
    if where == "trust":
        return {"role": "trust_dsl"}
    return {"role": "support_staff", "school_id": str(world.trusts[0].schools[1].id)}


@pytest.mark.parametrize("where", ["school_b", "trust"])
async def test_school_admin_cannot_manage_a_colleague_who_also_works_elsewhere(
    client: httpx.AsyncClient, world: World, where: str
) -> None:
    """The pen test's takeover: a school A admin re-invited a colleague who also held a role at
    school B or across the trust, set their password, and became them."""
    colleague = world.login(Role.TEACHER, school=0)
    school_a = str(world.trusts[0].schools[0].id)
    await give_roles(
        client,
        world,
        colleague.staff_id,
        [{"role": "teacher", "school_id": school_a}, beyond_school_a(world, where)],
    )
    period = await client.post(
        "/api/v1/me/unavailability", json=PERIOD, headers=await bearer(colleague)
    )
    assert period.status_code == 201, period.text
    admin_a = await bearer(world.login(Role.SCHOOL_ADMIN, school=0))
    url = f"{STAFF}/{colleague.staff_id}"
    # The colleague is visible to school A's admin (they hold a role there): not a 404.
    current = await client.get(url, headers=admin_a)
    assert current.status_code == 200, current.text
    if_match = admin_a | {"If-Match": current.headers["etag"]}
    before = await all_rows()
    attempts = [
        client.post(f"{url}/invitation", headers=admin_a),
        client.patch(url, json={"full_name": "Taken Over"}, headers=if_match),
        client.patch(url, json={"visit_training_completed_date": None}, headers=if_match),
        client.post(f"{url}/deactivate", headers=admin_a),
        client.post(f"{url}/unavailability", json=PERIOD, headers=admin_a),
        client.delete(f"{url}/unavailability/{period.json()['id']}", headers=admin_a),
        client.get(f"{url}/unavailability", headers=admin_a),
    ]
    for attempt in attempts:
        assert_problem(await attempt, 403, "grant-not-permitted")
    assert await all_rows() == before


async def test_school_admin_still_manages_a_colleague_of_their_school_only(
    client: httpx.AsyncClient, world: World
) -> None:
    teacher = world.login(Role.TEACHER, school=0)
    admin_a = await bearer(world.login(Role.SCHOOL_ADMIN, school=0))
    url = f"{STAFF}/{teacher.staff_id}"
    etag = (await client.get(url, headers=admin_a)).headers["etag"]
    renamed = await client.patch(
        url, json={"full_name": "Renamed"}, headers=admin_a | {"If-Match": etag}
    )
    assert renamed.status_code == 200, renamed.text
    recorded = await client.post(f"{url}/unavailability", json=PERIOD, headers=admin_a)
    assert recorded.status_code == 201, recorded.text


@pytest.mark.parametrize("manager", [Role.TRUST_ADMIN, Role.SCHOOL_ADMIN])
async def test_nobody_reinvites_an_account_with_a_password(
    client: httpx.AsyncClient, world: World, manager: Role
) -> None:
    teacher = world.login(Role.TEACHER, school=0)  # the generated staff have all set passwords
    headers = await bearer(world.login(manager))
    before = await all_rows()
    problem = assert_problem(
        await client.post(f"{STAFF}/{teacher.staff_id}/invitation", headers=headers),
        409,
        "account-already-active",
    )
    assert "deactivate" in problem["detail"]
    assert await all_rows() == before


async def test_an_account_that_has_not_set_a_password_is_invited_again(
    client: httpx.AsyncClient, world: World
) -> None:
    admin_a = await bearer(world.login(Role.SCHOOL_ADMIN, school=0))
    body = {
        "email": "lost.invitation@example.org",
        "full_name": "Lost Invitation",
        "roles": [{"role": "teacher", "school_id": str(world.trusts[0].schools[0].id)}],
    }
    created = (await client.post(STAFF, json=body, headers=admin_a)).json()
    again = await client.post(f"{STAFF}/{created['id']}/invitation", headers=admin_a)
    assert again.status_code == 200, again.text
    old, new = created["invitation"]["token"], again.json()["token"]
    assert_problem(
        await client.post(ACCEPT, json={"token": old, "password": "a long passphrase"}),
        400,
        "invalid-invitation",
    )
    accepted = await client.post(ACCEPT, json={"token": new, "password": "a long passphrase"})
    assert accepted.status_code == 204, accepted.text
    assert_problem(
        await client.post(f"{STAFF}/{created['id']}/invitation", headers=admin_a),
        409,
        "account-already-active",
    )


async def test_platform_operator_cannot_take_over_a_trust_admin(
    client: httpx.AsyncClient, world: World
) -> None:
    operator = await bearer(world.login(Role.PLATFORM_ADMIN))
    trust_admin = world.login(Role.TRUST_ADMIN)
    assert_problem(
        await client.post(f"{STAFF}/{trust_admin.staff_id}/invitation", headers=operator),
        409,
        "account-already-active",
    )
    # A trust admin who also holds a role the operator cannot grant is beyond them entirely.
    dsl = world.login(Role.TRUST_DSL)
    await give_roles(client, world, dsl.staff_id, [{"role": "trust_dsl"}, {"role": "trust_admin"}])
    url = f"{STAFF}/{dsl.staff_id}"
    current = await client.get(url, headers=operator)
    assert current.status_code == 200, current.text
    before = await all_rows()
    assert_problem(await client.post(f"{url}/invitation", headers=operator), 403)
    renamed = await client.patch(
        url,
        json={"full_name": "Operator"},
        headers=operator | {"If-Match": current.headers["etag"]},
    )
    assert_problem(renamed, 403, "grant-not-permitted")
    assert await all_rows() == before
    # The victim still signs in with their own sessions.
    me = await client.get("/api/v1/me", headers=await bearer(dsl))
    assert me.status_code == 200


async def test_setting_a_password_ends_every_earlier_session(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await bearer(world.login(Role.TRUST_ADMIN))
    body = {
        "email": "pending@example.org",
        "full_name": "Pending Member",
        "roles": [{"role": "teacher", "school_id": str(world.trusts[0].schools[0].id)}],
    }
    created = await client.post(STAFF, json=body, headers=admin)
    assert created.status_code == 201, created.text
    member = created.json()
    # A session begun before the password is set (without one, as tests and the demo may).
    login = Login(
        member["email"], "", Role.TEACHER, world.trusts[0].trust.id, None, UUID(member["id"]), ""
    )
    earlier = await sign_in(login)
    token = {"Authorization": f"Bearer {earlier['access_token']}"}
    assert (await client.get("/api/v1/me", headers=token)).status_code == 200
    accepted = await client.post(
        ACCEPT, json={"token": member["invitation"]["token"], "password": "a long passphrase"}
    )
    assert accepted.status_code == 204, accepted.text
    assert_problem(await client.get("/api/v1/me", headers=token), 401, "unauthorized")
    refreshed = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": earlier["refresh_token"]},
    )
    assert_problem(refreshed, 400, "invalid-grant")


async def test_an_invitation_never_replaces_a_password(
    client: httpx.AsyncClient, world: World
) -> None:
    """An invitation issued to an account in use before re-invitations were refused (the
    migration also ends those) cannot be accepted: the holder's password stays."""
    from app.core import db
    from app.core.security import digest
    from app.core.tenancy import system_scope
    from app.core.types import utcnow
    from app.staff.models import StaffMember

    teacher = world.login(Role.TEACHER)
    pair = await sign_in(teacher)
    async with db.open_session(system_scope("an invitation issued before the fix")) as session:
        staff = await session.get(StaffMember, teacher.staff_id)
        assert staff is not None
        staff.invitation_digest = digest("t" * 43)
        staff.invitation_expires_at = utcnow().replace(year=utcnow().year + 1)
    refused = await client.post(ACCEPT, json={"token": "t" * 43, "password": "a long passphrase"})
    assert_problem(refused, 400, "invalid-invitation")
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200
