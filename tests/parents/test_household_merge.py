"""A household merge carries the family's answer and invitation with it."""

import httpx

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


async def test_the_answer_and_the_code_follow_a_merge(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await collecting_programme(client, world)
    merged, kept = await household_of("P-1"), await household_of("P-4")
    code = await invitation_code(client, world, programme["id"], merged)
    parent = await parent_headers(client, code)
    slots = await slot_ids(client, parent, programme["id"])
    saved = await client.put(
        answer_url(programme["id"], merged), json={"preferred_slot_ids": slots[:2]}, headers=parent
    )
    assert saved.status_code == 200, saved.text
    kept_code = await invitation_code(client, world, programme["id"], kept)

    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    folded = await client.post(
        f"/api/v1/households/{kept}/merge", json={"household_id": str(merged)}, headers=admin
    )
    assert folded.status_code == 200, folded.text

    office = await bearer(world.login(Role.OFFICE))
    answer = await client.get(
        f"/api/v1/programmes/{programme['id']}/households/{kept}/answer", headers=office
    )
    assert [p["slot_id"] for p in answer.json()["preferred"]] == slots[:2]
    # The kept household already had a live code: the merged family's code was retired.
    refused = await client.post("/api/v1/parent/sessions", json={"code": code})
    assert refused.status_code == 400
    reopened = await parent_headers(client, kept_code)
    me = (await client.get("/api/v1/parent/session", headers=reopened)).json()
    assert me["household_id"] == str(kept)


def test_the_parents_side_follows_a_merge_in_one_hook() -> None:
    from app.registry import MERGE_HOOKS

    names = [f"{h.__module__}.{h.__name__}" for h in MERGE_HOOKS]
    assert [n for n in names if n.startswith("app.parents.")] == [
        "app.parents.invitations.follow_household_merge"
    ]
