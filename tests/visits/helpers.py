"""A programme taken to scheduling, and one with a finished schedule run."""

from typing import Any

import httpx

from app.core.jobs import run_pending
from app.core.permissions import Role
from app.synthetic.generator import World
from tests.conftest import bearer
from tests.parents.helpers import (
    answer_url,
    collecting_programme,
    household_of,
    invitation_code,
    parent_headers,
    slot_ids,
)
from tests.programmes.test_programmes import move


async def scheduling_programme(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    programme = await collecting_programme(client, world)
    home = await household_of("P-1")
    parent = await parent_headers(
        client, await invitation_code(client, world, programme["id"], home)
    )
    slots = await slot_ids(client, parent, programme["id"])
    chosen = await client.put(
        answer_url(programme["id"], home), json={"preferred_slot_ids": [slots[3]]}, headers=parent
    )
    assert chosen.status_code == 200, chosen.text
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    pool = await client.put(
        f"/api/v1/programmes/{programme['id']}/second-adults",
        json={"staff_ids": [str(world.login(Role.SUPPORT_STAFF).staff_id)]},
        headers=admin,
    )
    assert pool.status_code == 200, pool.text
    moved = await move(client, programme["id"], admin, "scheduling")
    assert moved.status_code == 200, moved.text
    return programme | {"slots": slots, "home": str(home)}


async def planned_programme(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """The scheduling programme with a finished run: two proposed visits, both with the Robins'
    teacher, F-1's at its first choice."""
    programme = await scheduling_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    started = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs",
        json={"time_limit_seconds": 2},
        headers=admin,
    )
    assert started.status_code == 202, started.text
    assert await run_pending() == 1
    listed = await client.get(f"/api/v1/programmes/{programme['id']}/visits", headers=admin)
    return programme | {"visits": listed.json()["items"], "run_id": started.json()["id"]}
