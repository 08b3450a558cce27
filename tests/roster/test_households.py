"""Correcting a household match: split pupils off, merge households; the next sync keeps it."""

from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlmodel import select

from app.core import db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.roster.models import Pupil
from app.synthetic.generator import World
from tests.conftest import (
    all_rows,
    assert_problem,
    bearer,
    integration_bearer,
    load_roster,
    staff_with_roles,
)
from tests.roster.snapshots import sibling_school_snapshot, small_snapshot


async def pupils() -> dict[str, Pupil]:
    async with db.open_session(system_scope("test read")) as session:
        return {p.mis_id: p for p in await session.scalars(select(Pupil))}


async def test_split_moves_pupils_and_survives_the_next_sync(
    client: httpx.AsyncClient, world: World
) -> None:
    snapshot = small_snapshot(world)
    await load_roster(world, snapshot)
    before = await pupils()
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    household = before["P-1"].household_id
    response = await client.post(
        f"/api/v1/households/{household}/split",
        json={"pupil_ids": [str(before["P-2"].id)]},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    new_household = response.json()["id"]
    assert response.json()["pupil_ids"] == [str(before["P-2"].id)]
    assert len(response.json()["contacts"]) == 2  # the contacts go with both
    after = await pupils()
    assert str(after["P-2"].household_id) == new_household
    assert after["P-1"].household_id == household


async def test_split_refuses_pupils_of_another_household_and_emptying_one(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, small_snapshot(world))
    found = await pupils()
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/households/{found['P-1'].household_id}/split"
    stranger = {"pupil_ids": [str(found["P-3"].id)]}
    refused = assert_problem(await client.post(url, json=stranger, headers=admin), 422)
    assert str(found["P-1"].household_id) not in refused["detail"]  # named as "this household"
    everyone = {"pupil_ids": [str(found["P-1"].id), str(found["P-2"].id)]}
    assert_problem(await client.post(url, json=everyone, headers=admin), 422)
    assert (await pupils())["P-1"].household_id == found["P-1"].household_id


async def test_merge_folds_one_household_into_another(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, small_snapshot(world))
    found = await pupils()
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    keep, fold = found["P-1"].household_id, found["P-3"].household_id
    response = await client.post(
        f"/api/v1/households/{keep}/merge", json={"household_id": str(fold)}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["pupil_ids"]) == 4
    assert len(response.json()["contacts"]) == 3
    assert {p.household_id for p in (await pupils()).values()} == {keep}
    assert_problem(await client.get(f"/api/v1/households/{fold}", headers=admin), 404)
    # The school's family ids now point at the kept household: a re-sync merges nothing back.
    report = await client.put(
        f"/api/v1/schools/{world.trusts[0].schools[0].id}/roster",
        json=small_snapshot(world),
        headers=admin,
    )
    assert report.status_code == 200
    assert report.json()["households"]["created"] == 0
    assert {p.household_id for p in (await pupils()).values()} == {keep}


async def _client_of_school_1(world: World) -> dict[str, str]:
    return (await integration_bearer(world, [1]))[1]


async def _admin_of_school_1(world: World) -> dict[str, str]:
    return await bearer(world.login(Role.SCHOOL_ADMIN, school=1))


async def _teacher_at_0_admin_at_1(world: World) -> dict[str, str]:
    login = await staff_with_roles(world, [(Role.TEACHER, 0), (Role.SCHOOL_ADMIN, 1)])
    return await bearer(login)


@pytest.mark.parametrize(
    "caller", [_client_of_school_1, _admin_of_school_1, _teacher_at_0_admin_at_1]
)
async def test_a_writer_at_one_school_cannot_rehome_another_schools_pupils(
    client: httpx.AsyncClient,
    world: World,
    caller: Callable[[World], Awaitable[dict[str, str]]],
) -> None:
    """The Khans' household holds Yusuf and Maryam (school 0) and Adam (school 1), so school 1
    sees it; folding it into a school 1 family would move school 0's pupils too."""
    await load_roster(world, small_snapshot(world))
    await load_roster(world, sibling_school_snapshot(world), school=1)
    found = await pupils()
    shared, own = found["P-1"].household_id, found["S2-2"].household_id
    assert found["S2-1"].household_id == shared
    headers = await caller(world)
    before = await all_rows()
    response = await client.post(
        f"/api/v1/households/{own}/merge", json={"household_id": str(shared)}, headers=headers
    )
    assert_problem(response, 403)
    assert await all_rows() == before


async def test_a_client_of_both_schools_may_fold_their_shared_household(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, small_snapshot(world))
    await load_roster(world, sibling_school_snapshot(world), school=1)
    found = await pupils()
    shared, own = found["P-1"].household_id, found["S2-2"].household_id
    _, headers = await integration_bearer(world, [0, 1])
    response = await client.post(
        f"/api/v1/households/{own}/merge", json={"household_id": str(shared)}, headers=headers
    )
    assert response.status_code == 200, response.text
    after = await pupils()
    assert {after[m].household_id for m in ("P-1", "P-2", "S2-1", "S2-2")} == {own}
