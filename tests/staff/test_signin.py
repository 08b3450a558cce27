"""Signing in through the real form endpoint: the password grant, throttling, auditing, refresh
rotation with reuse revocation, deactivated accounts and invitations.

Each real password check costs argon2 time, so every test here makes only a few of them.
"""

import asyncio
from typing import Any

import httpx
import pytest

from app.core.permissions import Role
from app.core.settings import get_settings
from app.staff.models import StaffMember
from app.staff.repository import SignInRepository
from app.synthetic.generator import DEMO_PASSWORD, World
from tests.conftest import assert_problem, bearer, sign_in

TOKEN = "/api/v1/auth/token"
ME = "/api/v1/me"
ACCEPT = "/api/v1/auth/invitations/accept"
NEW_PASSWORD = "correct horse battery"


async def password_grant(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    form = {"grant_type": "password", "username": email, "password": password}
    return await client.post(TOKEN, data=form)


async def refresh_grant(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


def authorised(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def audit_events(
    client: httpx.AsyncClient, world: World, action: str
) -> list[dict[str, Any]]:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    response = await client.get("/api/v1/audit-events", params={"action": action}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_password_grant_issues_a_working_token_pair(
    client: httpx.AsyncClient, world: World
) -> None:
    login = world.login(Role.TEACHER)
    response = await password_grant(client, login.email.upper(), DEMO_PASSWORD)
    assert response.status_code == 200, response.text
    pair = response.json()
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 900
    assert pair["refresh_token"]
    assert pair["refresh_expires_in"] > pair["expires_in"]
    me = await client.get(ME, headers=authorised(pair))
    assert me.status_code == 200
    assert me.json()["id"] == str(login.staff_id)
    assert me.json()["last_login_at"] is not None


async def test_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient, world: World
) -> None:
    wrong = await password_grant(client, world.login(Role.TEACHER).email, "not-the-password")
    unknown = await password_grant(client, "nobody.here@example.org", DEMO_PASSWORD)
    wrong_body = assert_problem(wrong, 400, "invalid-grant")
    unknown_body = assert_problem(unknown, 400, "invalid-grant")
    for field in ("type", "title", "detail", "error"):
        assert wrong_body[field] == unknown_body[field], field
    assert wrong_body["error"] == "invalid_grant"


async def test_failures_lock_the_account_even_for_the_right_password(
    client: httpx.AsyncClient, world: World, few_failures: int
) -> None:
    login = world.login(Role.TEACHER)
    for _ in range(few_failures):
        assert_problem(
            await password_grant(client, login.email, "not-the-password"), 400, "invalid-grant"
        )
    locked = await password_grant(client, login.email, DEMO_PASSWORD)
    assert_problem(locked, 429, "too-many-requests")
    window = get_settings().login_failure_window_seconds
    assert 0 < int(locked.headers["retry-after"]) <= window
    # The lock is the account's, not the address's: a colleague still signs in from here.
    other = await password_grant(client, world.login(Role.SCHOOL_ADMIN).email, DEMO_PASSWORD)
    assert other.status_code == 200, other.text


async def test_failures_from_one_address_throttle_every_account(
    app: Any, client: httpx.AsyncClient, world: World, few_failures: int
) -> None:
    for n in range(few_failures * 4):  # one failure per email: no single account reaches its limit
        assert_problem(
            await password_grant(client, f"guess{n}@example.org", "x"), 400, "invalid-grant"
        )
    login = world.login(Role.TEACHER)
    throttled = await password_grant(client, login.email, DEMO_PASSWORD)
    assert_problem(throttled, 429, "too-many-requests")
    assert int(throttled.headers["retry-after"]) > 0
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        assert (await password_grant(elsewhere, login.email, DEMO_PASSWORD)).status_code == 200


async def test_failed_and_successful_logins_are_audited(
    client: httpx.AsyncClient, world: World
) -> None:
    login = world.login(Role.TEACHER)
    assert_problem(await password_grant(client, login.email, "not-the-password"), 400)
    assert (await password_grant(client, login.email, DEMO_PASSWORD)).status_code == 200
    (failed,) = await audit_events(client, world, "auth.login_failed")
    (succeeded,) = await audit_events(client, world, "auth.login")
    for event in (failed, succeeded):
        assert event["subject_id"] == str(login.staff_id)
        assert event["trust_id"] == str(login.trust_id)
        assert event["ip_address"] == "127.0.0.1"
    assert failed["actor_id"] is None
    assert succeeded["actor_id"] == str(login.staff_id)


async def test_refresh_rotates_and_reuse_revokes_the_session(
    client: httpx.AsyncClient, world: World
) -> None:
    first = await sign_in(world.login(Role.TEACHER))
    second_response = await refresh_grant(client, first["refresh_token"])
    assert second_response.status_code == 200, second_response.text
    second = second_response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    third = (await refresh_grant(client, second["refresh_token"])).json()
    assert (await client.get(ME, headers=authorised(third))).status_code == 200

    reused = await refresh_grant(client, first["refresh_token"])
    assert_problem(reused, 400, "invalid-grant")
    # Reuse means the token was copied: everything in the session stops working, newest included.
    assert_problem(await refresh_grant(client, third["refresh_token"]), 400, "invalid-grant")
    for pair in (first, second, third):
        assert_problem(await client.get(ME, headers=authorised(pair)), 401, "unauthorized")
    (reuse,) = await audit_events(client, world, "auth.refresh_reused")
    assert reuse["subject_id"] == str(world.login(Role.TEACHER).staff_id)


async def test_refresh_grant_refuses_unknown_tokens(
    client: httpx.AsyncClient, world: World
) -> None:
    assert_problem(await refresh_grant(client, "x" * 43), 400, "invalid-grant")
    assert_problem(await client.post(TOKEN, data={"grant_type": "refresh_token"}), 400)


async def test_deactivated_account_cannot_sign_in_or_refresh(
    client: httpx.AsyncClient, world: World
) -> None:
    teacher = world.login(Role.TEACHER)
    pair = await sign_in(teacher)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    done = await client.post(f"/api/v1/staff/{teacher.staff_id}/deactivate", headers=admin)
    assert done.status_code == 200, done.text
    refused = assert_problem(
        await password_grant(client, teacher.email, DEMO_PASSWORD), 400, "invalid-grant"
    )
    assert refused["detail"] == "The email or password is incorrect."
    assert_problem(await refresh_grant(client, pair["refresh_token"]), 400, "invalid-grant")


async def invite(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    school = world.trusts[0].schools[0]
    body = {
        "email": "new.starter@example.org",
        "full_name": "New Starter",
        "roles": [{"role": "teacher", "school_id": str(school.id)}],
    }
    created = await client.post(
        "/api/v1/staff", json=body, headers=await bearer(world.login(Role.TRUST_ADMIN))
    )
    assert created.status_code == 201, created.text
    body_out: dict[str, Any] = created.json()
    return body_out


async def test_invitation_sets_a_password_once(client: httpx.AsyncClient, world: World) -> None:
    created = await invite(client, world)
    token = created["invitation"]["token"]
    assert_problem(
        await password_grant(client, created["email"], NEW_PASSWORD), 400, "invalid-grant"
    )
    accepted = await client.post(ACCEPT, json={"token": token, "password": NEW_PASSWORD})
    assert accepted.status_code == 204, accepted.text
    signed_in = await password_grant(client, created["email"], NEW_PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    me = await client.get(ME, headers=authorised(signed_in.json()))
    assert me.json()["id"] == created["id"]
    assert me.json()["invitation_pending"] is False
    again = await client.post(ACCEPT, json={"token": token, "password": "another long password"})
    assert_problem(again, 400, "invalid-invitation")


async def test_two_acceptances_at_once_set_one_password(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read the invitation before either writes (the password is hashed in between):
    exactly one may set the account's password, and it is the one that opens it."""
    created = await invite(client, world)
    token = created["invitation"]["token"]
    reads = SignInRepository.staff_by_invitation

    async def read_then_linger(self: SignInRepository, digest: str) -> StaffMember | None:
        found = await reads(self, digest)
        await asyncio.sleep(0.3)  # the other acceptance reads the invitation meanwhile
        return found

    monkeypatch.setattr(SignInRepository, "staff_by_invitation", read_then_linger)
    passwords = ["first long password", "second long password"]
    answers = await asyncio.gather(
        *(client.post(ACCEPT, json={"token": token, "password": p}) for p in passwords)
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [204, 400], [a.text for a in answers]
    (winner,) = [p for p, a in zip(passwords, answers, strict=True) if a.status_code == 204]
    (loser,) = [p for p in passwords if p != winner]
    assert (await password_grant(client, created["email"], winner)).status_code == 200
    assert_problem(await password_grant(client, created["email"], loser), 400, "invalid-grant")


async def test_bogus_invitation_token_is_refused(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(ACCEPT, json={"token": "b" * 43, "password": NEW_PASSWORD})
    assert_problem(response, 400, "invalid-invitation")


async def test_short_invitation_password_is_invalid(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await invite(client, world)
    token = created["invitation"]["token"]
    short = await client.post(ACCEPT, json={"token": token, "password": "elevenchars"})
    problem = assert_problem(short, 422, "validation-error")
    assert any(e["pointer"].endswith("/password") for e in problem["errors"])
    # The refused attempt did not spend the invitation.
    assert (
        await client.post(ACCEPT, json={"token": token, "password": NEW_PASSWORD})
    ).status_code == 204


async def invite_address_used_elsewhere(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """An account in trust 0 with the address of a trust 1 teacher (who has a password)."""
    body = {
        "email": world.login(Role.TEACHER, trust=1).email,
        "full_name": "Same Address",
        "roles": [{"role": "teacher", "school_id": str(world.trusts[0].schools[0].id)}],
    }
    created = await client.post(
        "/api/v1/staff", json=body, headers=await bearer(world.login(Role.TRUST_ADMIN))
    )
    assert created.status_code == 201, created.text
    out: dict[str, Any] = created.json()
    return out


async def test_accounts_sharing_an_address_are_told_apart_by_password(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await invite_address_used_elsewhere(client, world)
    token = created["invitation"]["token"]
    accepted = await client.post(ACCEPT, json={"token": token, "password": NEW_PASSWORD})
    assert accepted.status_code == 204, accepted.text
    other = world.login(Role.TEACHER, trust=1)
    accounts = {
        NEW_PASSWORD: (created["id"], created["trust_id"]),
        DEMO_PASSWORD: (str(other.staff_id), str(other.trust_id)),
    }
    for password, (staff_id, trust_id) in accounts.items():
        signed_in = await password_grant(client, created["email"], password)
        assert signed_in.status_code == 200, signed_in.text
        me = (await client.get(ME, headers=authorised(signed_in.json()))).json()
        assert (me["id"], me["trust_id"]) == (staff_id, trust_id)


async def test_a_password_that_opens_the_other_account_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await invite_address_used_elsewhere(client, world)
    token = created["invitation"]["token"]
    same = await client.post(ACCEPT, json={"token": token, "password": DEMO_PASSWORD})
    assert_problem(same, 400, "password-in-use")
    # The refusal spends nothing: the invitation still sets a password of its own.
    accepted = await client.post(ACCEPT, json={"token": token, "password": NEW_PASSWORD})
    assert accepted.status_code == 204, accepted.text
