"""The chase list by equity need: families with more of a looked-after child, free school meals,
SEND, EAL and a past visit that found no one in come first, page after page, and no entry says
which needs a family has. Counted here from the pupils' rows."""

from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select, update

from app.core import db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.roster.models import Pupil, SendStatus
from app.synthetic.generator import World
from app.visits.models import Visit, VisitStatus
from tests.conftest import bearer
from tests.parents.helpers import a_collecting_programme
from tests.parents.test_counts_on_generated_data import (
    build,
    not_answered,
    roster_of,
)
from tests.visits.helpers import a_run_and_visit


async def needs_of(children: dict[UUID, set[UUID]], no_access: UUID) -> dict[UUID, int]:
    async with db.open_session(system_scope("test: the pupils' flags")) as session:
        pupils = {
            p.id: p
            for p in await session.scalars(
                select(Pupil).where(col(Pupil.id).in_([c for k in children.values() for c in k]))
            )
        }
    found = {}
    for household, ids in children.items():
        kids = [pupils[i] for i in ids]
        found[household] = (
            any(p.looked_after for p in kids)
            + any(p.free_school_meals for p in kids)
            + any(p.send != SendStatus.NONE for p in kids)
            + any(p.eal for p in kids)
            + (household == no_access)
        )
    return found


async def test_the_chase_list_by_need_puts_the_neediest_first(
    client: httpx.AsyncClient, world: World
) -> None:
    scenario = await build(client, world)
    roster = await roster_of(scenario.programme_id)
    to_chase = not_answered(set(roster.children), scenario)
    # A family with no flags at all, whose visit in an earlier programme found no one in.
    plain = await needs_of({h: roster.children[h] for h in to_chase}, no_access=scenario.left)
    chosen = next(h for h in sorted(to_chase) if plain[h] == 0)
    earlier = await a_collecting_programme(world)
    _, visit_id = await a_run_and_visit(earlier, chosen, world.login(Role.TEACHER).staff_id)
    async with db.open_session(system_scope("test: no one was in")) as session:
        await session.execute(
            update(Visit).where(col(Visit.id) == visit_id).values(status=VisitStatus.NO_ACCESS)
        )
    needs = await needs_of({h: roster.children[h] for h in to_chase}, no_access=chosen)
    assert needs[chosen] == 1

    headers = await bearer(world.login(Role.OFFICE))
    url = f"/api/v1/programmes/{scenario.programme_id}/chase-list"
    entries = await pages(client, url, headers, order="equity")
    ids = [UUID(e["household_id"]) for e in entries]
    assert ids == sorted(to_chase, key=lambda h: (-needs[h], h))
    assert len({needs[h] for h in ids}) >= 3, "too few levels of need to tell the order"
    by_household = await pages(client, url, headers, order=None)
    assert [UUID(e["household_id"]) for e in by_household] == sorted(to_chase)
    # The same entries either way: the order says who comes first, never why.
    assert sorted(entries, key=lambda e: e["household_id"]) == by_household


async def pages(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], order: str | None
) -> list[dict[str, Any]]:
    """Every page of seven, following the cursors (the order is sent with each)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        params = {"limit": 7} | ({"order": order} if order else {})
        response = await client.get(
            url, params=params | ({"cursor": cursor} if cursor else {}), headers=headers
        )
        assert response.status_code == 200, response.text
        items.extend(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the chase list never ends")


async def test_an_unknown_order_is_refused(client: httpx.AsyncClient, world: World) -> None:
    programme_id = await a_collecting_programme(world)
    response = await client.get(
        f"/api/v1/programmes/{programme_id}/chase-list?order=flags",
        headers=await bearer(world.login(Role.OFFICE)),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
