"""Staff management: invitations, roles within the granting caller's powers, deactivation."""

from typing import Any

import httpx
import pytest

from app.core.permissions import Role
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer, staff_with_roles


def invite(
    school_id: Any, role: str = "teacher", email: str = "new.teacher@example.org"
) -> dict[str, Any]:
    return {
        "email": email,
        "full_name": "New Teacher",
        "roles": [{"role": role, "school_id": str(school_id)}],
    }


async def test_school_admin_invites_teacher_at_own_school(
    client: httpx.AsyncClient, world: World
) -> None:
    school = world.trusts[0].schools[0]
    headers = await bearer(world.login(Role.SCHOOL_ADMIN, school=0))
    response = await client.post("/api/v1/staff", json=invite(school.id), headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["invitation"]["token"]
    assert body["invitation_pending"] is True
    assert body["roles"] == [{"role": "teacher", "school_id": str(school.id)}]
    assert body["trust_id"] == str(world.trusts[0].trust.id)


async def test_school_admin_cannot_grant_elsewhere_or_above(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN, school=0))
    other_school = world.trusts[0].schools[1]
    foreign_school = world.trusts[1].schools[0]
    # Another school of the same trust is outside a school admin's scope, exactly like a foreign one.
    for school in (other_school, foreign_school):
        response = await client.post("/api/v1/staff", json=invite(school.id), headers=headers)
        assert_problem(response, 422, "unknown-school")
    trust_role = {"email": "x@example.org", "full_name": "X", "roles": [{"role": "trust_admin"}]}
    assert_problem(
        await client.post("/api/v1/staff", json=trust_role, headers=headers),
        403,
        "grant-not-permitted",
    )


@pytest.mark.parametrize(
    "roles",
    [
        [{"role": "platform_admin"}],
        [{"role": "teacher"}],
        [{"role": "trust_admin", "school_id": None}] * 0,
        [{"role": "headteacher", "school_id": "00000000-0000-4000-8000-000000000000"}],
    ],
)
async def test_malformed_grants_are_refused(
    client: httpx.AsyncClient, world: World, roles: list[Any]
) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    body = {"email": "y@example.org", "full_name": "Y", "roles": roles}
    assert_problem(await client.post("/api/v1/staff", json=body, headers=headers), 422)


@pytest.mark.parametrize(
    "field", ["id", "trust_id", "is_active", "password_hash", "created_at", "version"]
)
async def test_mass_assignment_is_refused(
    client: httpx.AsyncClient, world: World, field: str
) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    body = invite(world.trusts[0].schools[0].id) | {field: str(world.trusts[1].trust.id)}
    problem = assert_problem(await client.post("/api/v1/staff", json=body, headers=headers), 422)
    assert any(field in e["pointer"] for e in problem["errors"])
    listed = await client.get("/api/v1/staff", params={"limit": 200}, headers=headers)
    assert "new.teacher@example.org" not in {s["email"] for s in listed.json()["items"]}


async def test_duplicate_email_conflicts_within_the_trust(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    # A colleague at another school: invisible to this admin, yet the trust's address all the same.
    taken = world.login(Role.TEACHER, school=1).email
    response = await client.post(
        "/api/v1/staff", json=invite(world.trusts[0].schools[0].id, email=taken), headers=headers
    )
    assert_problem(response, 409, "email-taken")


async def test_an_address_used_by_another_trust_reveals_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    """A 409 here told any school admin who works at other trusts; the address is a separate
    account in each trust instead."""
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    school_id = world.trusts[0].schools[0].id
    elsewhere = world.login(Role.TEACHER, trust=1).email
    created = await client.post(
        "/api/v1/staff", json=invite(school_id, email=elsewhere), headers=headers
    )
    fresh = await client.post(
        "/api/v1/staff", json=invite(school_id, email="nobody.yet@example.org"), headers=headers
    )
    assert created.status_code == fresh.status_code == 201, created.text
    assert set(created.json()) == set(fresh.json())
    assert created.json()["trust_id"] == str(world.trusts[0].trust.id)
    assert created.json()["invitation_pending"] is True


async def test_idempotent_replay_never_carries_the_invitation_token(
    client: httpx.AsyncClient, world: World
) -> None:
    from sqlmodel import select

    from app.core import db
    from app.core.idempotency import IdempotencyRecord
    from app.core.tenancy import system_scope

    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    headers = admin | {"Idempotency-Key": "new-staff-0001"}
    body = invite(world.trusts[0].schools[0].id)
    first = await client.post("/api/v1/staff", json=body, headers=headers)
    assert first.status_code == 201, first.text
    token = first.json()["invitation"]["token"]
    assert token
    async with db.open_session(system_scope("read the stored response")) as session:
        (record,) = (await session.scalars(select(IdempotencyRecord))).all()
    assert token not in str(record.response_body)
    replay = await client.post("/api/v1/staff", json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert token not in replay.text
    expected = first.json()
    expected["invitation"]["token"] = None
    assert replay.json() == expected
    # The lost token is replaced by a new invitation, which only the first answer could not give.
    again = await client.post(f"/api/v1/staff/{first.json()['id']}/invitation", headers=admin)
    assert again.status_code == 200, again.text
    assert again.json()["token"] not in (None, token)


async def test_staff_visibility_follows_schools(client: httpx.AsyncClient, world: World) -> None:
    admin_a = await bearer(world.login(Role.SCHOOL_ADMIN, school=0))
    listed = (await client.get("/api/v1/staff", params={"limit": 200}, headers=admin_a)).json()[
        "items"
    ]
    school_a = str(world.trusts[0].schools[0].id)
    assert listed
    assert all(any(r["school_id"] == school_a for r in s["roles"]) for s in listed)
    other_teacher = world.login(Role.TEACHER, school=1)
    assert_problem(
        await client.get(f"/api/v1/staff/{other_teacher.staff_id}", headers=admin_a), 404
    )
    foreign = world.login(Role.TEACHER, trust=1)
    trust_admin = await bearer(world.login(Role.TRUST_ADMIN))
    assert_problem(await client.get(f"/api/v1/staff/{foreign.staff_id}", headers=trust_admin), 404)
    assert (
        await client.get(f"/api/v1/staff/{other_teacher.staff_id}", headers=trust_admin)
    ).status_code == 200


async def test_an_admin_elsewhere_reads_only_that_schools_staff(
    client: httpx.AsyncClient, world: World
) -> None:
    """A teacher at school 0 who is school admin at school 1 reads school 1's staff, not
    school 0's: staff:read held at one school says nothing of another."""
    login = await staff_with_roles(world, [(Role.TEACHER, 0), (Role.SCHOOL_ADMIN, 1)])
    headers = await bearer(login)
    listed = await client.get("/api/v1/staff", params={"limit": 200}, headers=headers)
    school_1 = str(world.trusts[0].schools[1].id)
    items = listed.json()["items"]
    assert items
    assert all(any(r["school_id"] == school_1 for r in s["roles"]) for s in items)
    teacher_0, teacher_1 = world.login(Role.TEACHER, school=0), world.login(Role.TEACHER, school=1)
    assert_problem(await client.get(f"/api/v1/staff/{teacher_0.staff_id}", headers=headers), 404)
    assert (
        await client.get(f"/api/v1/staff/{teacher_1.staff_id}", headers=headers)
    ).status_code == 200
    me = await client.get("/api/v1/me", headers=headers)
    assert me.json()["id"] == str(login.staff_id)


@pytest.mark.parametrize(
    "role", [Role.TEACHER, Role.SUPPORT_STAFF, Role.OFFICE, Role.DSL, Role.TRUST_DSL]
)
async def test_non_admins_cannot_list_staff(
    client: httpx.AsyncClient, world: World, role: Role
) -> None:
    assert_problem(await client.get("/api/v1/staff", headers=await bearer(world.login(role))), 403)


async def test_roles_change_within_powers_and_keeps_the_rest(
    client: httpx.AsyncClient, world: World
) -> None:
    school_a, school_b = world.trusts[0].schools[0], world.trusts[0].schools[1]
    trust_admin = await bearer(world.login(Role.TRUST_ADMIN))
    created = await client.post(
        "/api/v1/staff",
        json={
            "email": "two.schools@example.org",
            "full_name": "Two Schools",
            "roles": [
                {"role": "teacher", "school_id": str(school_a.id)},
                {"role": "support_staff", "school_id": str(school_b.id)},
            ],
        },
        headers=trust_admin,
    )
    staff_id = created.json()["id"]
    admin_a = await bearer(world.login(Role.SCHOOL_ADMIN, school=0))
    current = await client.get(f"/api/v1/staff/{staff_id}", headers=admin_a)
    changed = await client.put(
        f"/api/v1/staff/{staff_id}/roles",
        json={"roles": [{"role": "office", "school_id": str(school_a.id)}]},
        headers=admin_a | {"If-Match": current.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    roles = {(r["role"], r["school_id"]) for r in changed.json()["roles"]}
    # The support role at school B is beyond a school A admin's powers, so it stays.
    assert roles == {("office", str(school_a.id)), ("support_staff", str(school_b.id))}
    audit = await client.get(
        "/api/v1/audit-events", params={"action": "staff.roles_changed"}, headers=trust_admin
    )
    assert [e["subject_id"] for e in audit.json()["items"]] == [staff_id]


async def test_roles_put_needs_current_if_match(client: httpx.AsyncClient, world: World) -> None:
    teacher = world.login(Role.TEACHER)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    body = {"roles": [{"role": "teacher", "school_id": str(teacher.school_id)}]}
    url = f"/api/v1/staff/{teacher.staff_id}/roles"
    assert_problem(await client.put(url, json=body, headers=admin), 428, "precondition-required")
    etag = (await client.get(f"/api/v1/staff/{teacher.staff_id}", headers=admin)).headers["etag"]
    stale = etag.replace('.1"', '.0"')
    assert_problem(await client.put(url, json=body, headers=admin | {"If-Match": stale}), 412)
    assert (await client.put(url, json=body, headers=admin | {"If-Match": etag})).status_code == 200


async def test_nobody_changes_their_own_roles(client: httpx.AsyncClient, world: World) -> None:
    login = world.login(Role.TRUST_ADMIN)
    headers = await bearer(login)
    etag = (await client.get(f"/api/v1/staff/{login.staff_id}", headers=headers)).headers["etag"]
    response = await client.put(
        f"/api/v1/staff/{login.staff_id}/roles",
        json={"roles": []},
        headers=headers | {"If-Match": etag},
    )
    assert_problem(response, 409, "own-account")


async def test_deactivation_needs_power_over_every_role(
    client: httpx.AsyncClient, world: World
) -> None:
    dsl = world.login(Role.TRUST_DSL)
    school_admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    assert_problem(
        await client.post(f"/api/v1/staff/{dsl.staff_id}/deactivate", headers=school_admin), 404
    )
    teacher = world.login(Role.TEACHER)
    done = await client.post(f"/api/v1/staff/{teacher.staff_id}/deactivate", headers=school_admin)
    assert done.status_code == 200
    assert done.json()["is_active"] is False
    again = await client.post(f"/api/v1/staff/{teacher.staff_id}/reactivate", headers=school_admin)
    assert again.json()["is_active"] is True


async def test_patch_staff_records_training(client: httpx.AsyncClient, world: World) -> None:
    teacher = world.login(Role.TEACHER)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    etag = (await client.get(f"/api/v1/staff/{teacher.staff_id}", headers=admin)).headers["etag"]
    response = await client.patch(
        f"/api/v1/staff/{teacher.staff_id}",
        json={"visit_training_completed_date": "2026-07-10"},
        headers=admin | {"If-Match": etag},
    )
    assert response.status_code == 200, response.text
    assert response.json()["visit_training_completed_date"] == "2026-07-10"
    assert_problem(
        await client.patch(
            f"/api/v1/staff/{teacher.staff_id}",
            json={"full_name": None},
            headers=admin | {"If-Match": response.headers["etag"]},
        ),
        422,
    )


async def test_me_lists_permissions_by_school(client: httpx.AsyncClient, world: World) -> None:
    login = world.login(Role.TEACHER)
    me = (await client.get("/api/v1/me", headers=await bearer(login))).json()
    assert me["id"] == str(login.staff_id)
    assert "schools:read" in me["permissions"][str(login.school_id)]
    assert "staff:read" not in me["permissions"][str(login.school_id)]
