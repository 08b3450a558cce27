"""Signing in under a burst: wrong passwords arriving together must neither stall the rest of
the API nor get more checks than the throttle allows.

Each password check costs argon2 time (tens of milliseconds on an idle machine, half a second
on a busy one), so the bursts here are as small as the point they prove allows.
"""

import asyncio
import time

import httpx

from app.core.permissions import Role
from app.synthetic.generator import World
from tests.conftest import bearer
from tests.staff.test_signin import ME, password_grant

PROMPTLY = 1.0  # seconds: what any other request may take while sign-ins fail around it


async def test_a_burst_of_wrong_passwords_does_not_stall_other_requests(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.TEACHER))
    emails = [world.login(role).email for role in (Role.SCHOOL_ADMIN, Role.OFFICE)]
    emails += [f"stranger{n}@example.org" for n in range(14)]
    burst = [
        asyncio.create_task(password_grant(client, email, "not-the-password")) for email in emails
    ]
    await asyncio.sleep(0)  # every sign-in has started
    waits = []
    while not all(task.done() for task in burst):
        started = time.perf_counter()
        me = await client.get(ME, headers=headers)
        waits.append(time.perf_counter() - started)
        assert me.status_code == 200, me.text
        await asyncio.sleep(0.05)
    statuses = [task.result().status_code for task in burst]
    assert waits, "the burst ended before another request could be made"
    assert max(waits) < PROMPTLY, (max(waits), statuses)
    # Every sign-in was refused as wrong, or turned away at once while the checks were busy.
    assert set(statuses) <= {400, 503}, statuses
    assert 400 in statuses
