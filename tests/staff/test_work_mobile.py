"""A staff member's work mobile: set by its holder or the admins who manage them, kept in E.164,
read by nobody else (not a colleague, not the platform's operator, not a machine client)."""

from typing import Any

import httpx
from sqlmodel import select

from app.core import db
from app.core.audit import AuditEntry
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.staff.models import StaffMember
from app.synthetic.generator import Login, World
from tests.conftest import all_rows, assert_problem, bearer, integration_bearer

MOBILE, E164 = "07911 123456", "+447911123456"


async def set_own_mobile(
    client: httpx.AsyncClient, login: Login, mobile: str | None
) -> httpx.Response:
    headers = await bearer(login)
    etag = (await client.get("/api/v1/me", headers=headers)).headers["etag"]
    return await client.patch(
        "/api/v1/me", json={"work_mobile": mobile}, headers=headers | {"If-Match": etag}
    )


async def stored_mobile(staff_id: Any) -> str | None:
    async with db.open_session(system_scope("test: the stored mobile")) as session:
        member = await session.get(StaffMember, staff_id)
        assert member is not None
        return member.work_mobile


async def test_a_staff_member_sets_their_own_mobile_in_e164(
    client: httpx.AsyncClient, world: World
) -> None:
    dsl = world.login(Role.DSL)
    response = await set_own_mobile(client, dsl, MOBILE)
    assert response.status_code == 200, response.text
    assert response.json()["work_mobile"] == E164
    assert await stored_mobile(dsl.staff_id) == E164
    me = await client.get("/api/v1/me", headers=await bearer(dsl))
    assert me.json()["work_mobile"] == E164
    async with db.open_session(system_scope("test: the audit")) as session:
        entries = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "staff.work_mobile_changed")
            )
        )
    assert [e.subject_id for e in entries] == [dsl.staff_id]
    assert E164 not in str(entries[0].details)
    assert "7911" not in str(entries[0].details)

    removed = await set_own_mobile(client, dsl, None)
    assert removed.status_code == 200, removed.text
    assert await stored_mobile(dsl.staff_id) is None


async def test_a_bad_mobile_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, world: World
) -> None:
    dsl = world.login(Role.DSL)
    headers = await bearer(dsl)
    etag = (await client.get("/api/v1/me", headers=headers)).headers["etag"]
    for bad, why in (
        ("020 7946 0000", "landline"),
        ("call me", "letters"),
        ("12345", "not a valid phone number"),
    ):
        before = await all_rows()
        response = await client.patch(
            "/api/v1/me", json={"work_mobile": bad}, headers=headers | {"If-Match": etag}
        )
        problem = assert_problem(response, 422)
        assert problem["errors"][0]["pointer"] == "#/work_mobile"
        assert why in problem["detail"]
        assert bad not in response.text
        assert await all_rows() == before
    assert await stored_mobile(dsl.staff_id) is None


async def test_a_school_admin_sets_a_colleagues_mobile(
    client: httpx.AsyncClient, world: World
) -> None:
    dsl = world.login(Role.DSL)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/staff/{dsl.staff_id}"
    etag = (await client.get(url, headers=admin)).headers["etag"]
    response = await client.patch(
        url, json={"work_mobile": "+44 7911 123456"}, headers=admin | {"If-Match": etag}
    )
    assert response.status_code == 200, response.text
    assert response.json()["work_mobile"] == E164
    bad = await client.patch(
        url, json={"work_mobile": "0800 123 4567"}, headers=admin | {"If-Match": etag}
    )
    assert_problem(bad, 422)


async def test_the_mobile_is_read_by_its_holder_and_admins_only(
    client: httpx.AsyncClient, world: World
) -> None:
    dsl = world.login(Role.DSL)
    assert (await set_own_mobile(client, dsl, MOBILE)).status_code == 200
    url = f"/api/v1/staff/{dsl.staff_id}"
    for role in (Role.SCHOOL_ADMIN, Role.TRUST_ADMIN):
        read = await client.get(url, headers=await bearer(world.login(role)))
        assert read.json()["work_mobile"] == E164
    # Colleagues without staff:read, and the school's machine client, never reach it.
    for role in (Role.TEACHER, Role.OFFICE, Role.SUPPORT_STAFF, Role.DSL):
        headers = await bearer(world.login(role))
        for path in (url, "/api/v1/staff"):
            response = await client.get(path, headers=headers)
            assert response.status_code in (403, 404)
            assert E164 not in response.text
    _, machine = await integration_bearer(
        world, [0], scopes=("roster:read", "roster:write", "visits:read")
    )
    for path in (url, "/api/v1/staff", "/api/v1/me"):
        response = await client.get(path, headers=machine)
        assert response.status_code in (403, 404)
        assert E164 not in response.text
    # Another school's admin does not see the DSL at all.
    other_admin = await bearer(world.login(Role.SCHOOL_ADMIN, school=1))
    assert (await client.get(url, headers=other_admin)).status_code == 404
    listed = await client.get("/api/v1/staff", headers=other_admin)
    assert E164 not in listed.text
