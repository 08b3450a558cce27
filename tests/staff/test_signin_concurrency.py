"""Signing in under a burst: wrong passwords arriving together must not stall the rest of the
API, must get no more password checks than the throttle allows, and a stranger's failures from
a shared address must not lock out the people who sign in there.

Each password check costs argon2 time (tens of milliseconds on an idle machine, a second on a
busy one), so the bursts here are as small as the point they prove allows.
"""

import asyncio
import time
from collections.abc import Awaitable, Iterable
from typing import Any

import argon2
import httpx
import pytest
from sqlmodel import col, func, select

from app.core import db
from app.core.permissions import Role
from app.core.ratelimit import RateLimitHit
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.synthetic.generator import DEMO_PASSWORD, World
from tests.conftest import assert_problem, bearer
from tests.staff.test_signin import ME, password_grant

PROMPTLY = 1.0  # seconds: what any other request may take while sign-ins fail around it
WRONG = "not-the-password"


@pytest.fixture
def argon2_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stored hash of every argon2 verification, from whichever thread runs it."""
    checked: list[str] = []
    original = argon2.PasswordHasher.verify

    def spy(self: argon2.PasswordHasher, hash: str | bytes, password: str | bytes) -> Any:
        checked.append(hash if isinstance(hash, str) else hash.decode())
        return original(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", spy)
    return checked


async def together(requests: Iterable[Awaitable[httpx.Response]]) -> list[int]:
    responses = await asyncio.gather(*requests)
    return [r.status_code for r in responses]


async def failures_counted(bucket: str) -> int:
    async with db.open_session(system_scope("test: count throttled attempts")) as session:
        count = await session.scalar(select(func.count()).where(col(RateLimitHit.bucket) == bucket))
    return int(count or 0)


async def test_a_burst_of_wrong_passwords_does_not_stall_other_requests(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.TEACHER))
    emails = [world.login(role).email for role in (Role.SCHOOL_ADMIN, Role.OFFICE)]
    emails += [f"stranger{n}@example.org" for n in range(14)]
    burst = [asyncio.create_task(password_grant(client, email, WRONG)) for email in emails]
    waits = []
    try:
        await asyncio.sleep(0)  # every sign-in has started
        while not all(task.done() for task in burst):
            started = time.perf_counter()
            me = await client.get(ME, headers=headers)
            waits.append(time.perf_counter() - started)
            assert me.status_code == 200, me.text
            await asyncio.sleep(0.05)
    finally:
        statuses = [r.status_code for r in await asyncio.gather(*burst)]
    assert waits, "the burst ended before another request could be made"
    assert max(waits) < PROMPTLY, (max(waits), statuses)
    # Each was refused as wrong, or turned away at once while the checks were all busy.
    assert set(statuses) <= {400, 503}, statuses
    assert 400 in statuses


async def test_a_burst_at_one_account_gets_no_more_checks_than_its_limit(
    client: httpx.AsyncClient, world: World, few_failures: int, argon2_checks: list[str]
) -> None:
    login = world.login(Role.TEACHER)
    statuses = await together(password_grant(client, login.email, WRONG) for _ in range(6))
    # Exactly the allowance was checked; the rest were refused before any check.
    assert sorted(statuses) == [400] * few_failures + [429] * (6 - few_failures), statuses
    assert len(argon2_checks) == statuses.count(400)
    assert await failures_counted("login:account") == statuses.count(400)
    assert_problem(await password_grant(client, login.email, DEMO_PASSWORD), 429)


async def test_checks_beyond_the_queue_are_turned_away_at_once_and_not_counted(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "password_hash_concurrency", 1)
    monkeypatch.setattr(get_settings(), "password_hash_queue", 1)
    emails = [f"stranger{n}@example.org" for n in range(6)]
    responses = await asyncio.gather(*(password_grant(client, e, WRONG) for e in emails))
    statuses = [r.status_code for r in responses]
    assert set(statuses) == {400, 503}, statuses
    busy = next(r for r in responses if r.status_code == 503)
    assert_problem(busy, 503, "service-unavailable")
    assert busy.headers["retry-after"] == "1"
    # A sign-in that was never checked is no failure: only the checked ones count.
    assert await failures_counted("login:address") == statuses.count(400)


async def test_a_stranger_at_a_shared_address_does_not_lock_out_those_who_sign_in_there(
    client: httpx.AsyncClient, world: World, few_failures: int
) -> None:
    teacher, colleague = world.login(Role.TEACHER), world.login(Role.SCHOOL_ADMIN)
    assert (await password_grant(client, teacher.email, DEMO_PASSWORD)).status_code == 200
    strangers = [f"guess{n}@example.org" for n in range(few_failures * 4)]
    statuses = await together(password_grant(client, email, WRONG) for email in strangers)
    assert statuses == [400] * len(strangers)
    # The address is now throttled for accounts not seen signing in from it...
    assert_problem(await password_grant(client, colleague.email, DEMO_PASSWORD), 429)
    # ...but not for the teacher, who has.
    assert (await password_grant(client, teacher.email, DEMO_PASSWORD)).status_code == 200
    # The teacher's own account keeps its own limit, wherever the guesses come from.
    for _ in range(few_failures):
        assert_problem(await password_grant(client, teacher.email, WRONG), 400, "invalid-grant")
    assert_problem(await password_grant(client, teacher.email, DEMO_PASSWORD), 429)


async def test_unknown_inactive_and_known_accounts_cost_one_check_alike(
    client: httpx.AsyncClient, world: World, argon2_checks: list[str]
) -> None:
    teacher = world.login(Role.TEACHER)
    leaver = world.login(Role.OFFICE)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    done = await client.post(f"/api/v1/staff/{leaver.staff_id}/deactivate", headers=admin)
    assert done.status_code == 200, done.text
    for email in (teacher.email, "nobody.here@example.org", leaver.email):
        before = len(argon2_checks)
        assert_problem(await password_grant(client, email, WRONG), 400, "invalid-grant")
        assert len(argon2_checks) == before + 1, email
    # The stand-in hash for the unknown and the inactive is made like a real one: same cost.
    parameters = {stored.rsplit("$", 2)[0] for stored in argon2_checks}
    assert len(parameters) == 1, parameters
