"""A schedule run through the API: asked for, solved by a worker, its visits proposed with two
adults each, explained, and confirmed when the programme is published."""

import asyncio
from typing import Any
from uuid import UUID

import httpx
import pytest

from app.core import db
from app.core.jobs import run_pending
from app.core.permissions import Role
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.roster.models import Household
from app.scheduling.service import quality
from app.synthetic.generator import World
from tests.conftest import all_rows, assert_problem, bearer
from tests.parents.helpers import collecting_programme
from tests.programmes.test_programmes import DAYS, move, publish
from tests.roster.importing.test_pupil_csv import sims_file
from tests.visits.helpers import scheduling_programme


async def test_a_run_proposes_visits_and_publishing_confirms_them(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await scheduling_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    started = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs",
        json={"time_limit_seconds": 2, "seed": 3},
        headers=admin,
    )
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    assert started.json()["progress"] == 0.0
    again = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs", json={}, headers=admin
    )
    refusal = assert_problem(again, 409, "schedule-run-under-way")
    assert refusal["run_id"] == started.json()["id"]
    assert await run_pending() == 1

    teacher = await bearer(world.login(Role.TEACHER))
    run = (
        await client.get(f"/api/v1/schedule-runs/{started.json()['id']}", headers=teacher)
    ).json()
    assert run["status"] == "succeeded", run
    assert run["progress"] == 1.0
    assert run["households"] == 2
    assert run["placed"] == 2, run["unplaced"]
    assert run["best_bound"] <= run["objective"]
    assert run["objective_parts"]["total"] == run["objective"]
    assert run["objective_parts"]["unplaced"] == 0
    assert (run["unplaced_count"], run["unplaced_minimum"]) == (0, 0)
    assert run["unplaced_unavoidable"] is True
    visits = (
        await client.get(f"/api/v1/programmes/{programme['id']}/visits", headers=teacher)
    ).json()["items"]
    assert len(visits) == 2
    assert all(v["status"] == "proposed" and len(v["adults"]) >= 2 for v in visits)
    first_choice = next(v for v in visits if v["household_id"] == programme["home"])
    assert first_choice["slot_id"] == programme["slots"][3]
    assert {a["role"] for a in first_choice["adults"]} == {"teacher", "second_adult"}

    published = await publish(client, programme["id"], admin)
    assert published.status_code == 200, published.text
    one = await client.get(f"/api/v1/visits/{first_choice['id']}", headers=teacher)
    assert one.json()["status"] == "scheduled"


async def test_runs_only_while_scheduling(client: httpx.AsyncClient, world: World) -> None:
    programme = await collecting_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    refused = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs", json={}, headers=admin
    )
    assert_problem(refused, 409, "programme-not-scheduling")
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(
        await client.post(
            f"/api/v1/programmes/{programme['id']}/schedule-runs", json={}, headers=teacher
        ),
        403,
    )


async def test_one_run_of_a_programme_at_a_time_even_when_asked_at_once(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await scheduling_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{programme['id']}/schedule-runs"
    answers = await asyncio.gather(
        *(client.post(url, json={"time_limit_seconds": 2}, headers=admin) for _ in range(3))
    )
    assert sorted(a.status_code for a in answers) == [202, 409, 409], [a.text for a in answers]
    started = next(a for a in answers if a.status_code == 202).json()
    for refused in (a for a in answers if a.status_code == 409):
        body = assert_problem(refused, 409, "schedule-run-under-way")
        assert body["run_id"] == started["id"]
        assert started["id"] in body["detail"]
    assert await run_pending() == 1
    again = await client.post(url, json={"time_limit_seconds": 2}, headers=admin)
    assert again.status_code == 202, again.text  # once the first has finished


async def test_a_run_counts_against_the_schools_allowance(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    programme = await scheduling_programme(client, world)
    monkeypatch.setattr(get_settings(), "jobs_max_per_school", 1)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    imported = await client.post(
        f"/api/v1/schools/{world.trusts[0].schools[0].id}/roster-imports",
        files={"file": ("pupils.csv", sims_file())},
        data={"format": "pupil_csv", "academic_year": "2026/27"},
        headers=admin,
    )
    assert imported.status_code == 202, imported.text
    before = await all_rows()
    refused = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs", json={}, headers=admin
    )
    body = assert_problem(refused, 429, "too-many-jobs")
    assert "1 roster.import" in body["detail"]
    assert "retry-after" in refused.headers
    assert await all_rows() == before


async def test_a_run_states_a_class_over_capacity_above_the_families(
    client: httpx.AsyncClient, world: World
) -> None:
    """One visit day of one slot: the Robins' two families need two visits, and the run says so
    once, as the root cause, before the family it could not place. (Adults finish at their last
    visit: the day ends with the slot, leaving no time to drive back to school.)"""
    programme = await collecting_programme(
        client,
        world,
        visit_days=[DAYS[0]],
        day_ends="09:45",
        breaks=[],
        adults_finish_at_last_visit=True,
    )
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    pool = await client.put(
        f"/api/v1/programmes/{programme['id']}/second-adults",
        json={"staff_ids": [str(world.login(Role.SUPPORT_STAFF).staff_id)]},
        headers=admin,
    )
    assert pool.status_code == 200, pool.text
    assert (await move(client, programme["id"], admin, "scheduling")).status_code == 200
    started = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs",
        json={"time_limit_seconds": 2},
        headers=admin,
    )
    assert started.status_code == 202, started.text
    assert await run_pending() == 1
    run = (await client.get(f"/api/v1/schedule-runs/{started.json()['id']}", headers=admin)).json()
    assert run["placed"] == 1
    assert len(run["unplaced"]) == 1
    robins = (await client.get(f"/api/v1/programmes/{programme['id']}/teams", headers=admin)).json()
    (cause,) = run["root_causes"]
    assert cause == {
        "kind": "class-over-capacity",
        "class_id": robins[0]["class_id"],
        "families": 2,
        "visits_possible": 1,
        "detail": f"Robins: {robins[0]['capacity']['problem']}",  # as the teams read it
    }
    assert cause["detail"].startswith("Robins: 2 families, 1 visit possible: add a visit day")


async def test_the_day_ends_back_at_school_unless_adults_finish_at_their_last_visit(
    client: httpx.AsyncClient, world: World
) -> None:
    """One slot, 09:00-09:45, and the day ends at 09:45: no family can be visited and the drive
    back made by then, and the run says so; once the programme says adults finish at their last
    visit, the slot can be used."""
    programme = await collecting_programme(
        client, world, visit_days=[DAYS[0]], day_ends="09:45", breaks=[]
    )
    assert programme["adults_finish_at_last_visit"] is False  # the default: back to school
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{programme['id']}"
    pool = await client.put(
        f"{url}/second-adults",
        json={"staff_ids": [str(world.login(Role.SUPPORT_STAFF).staff_id)]},
        headers=admin,
    )
    assert pool.status_code == 200, pool.text
    assert (await move(client, programme["id"], admin, "scheduling")).status_code == 200

    async def run_once() -> dict[str, Any]:
        started = await client.post(
            f"{url}/schedule-runs", json={"time_limit_seconds": 2}, headers=admin
        )
        assert started.status_code == 202, started.text
        assert await run_pending() == 1
        found = await client.get(f"/api/v1/schedule-runs/{started.json()['id']}", headers=admin)
        return dict(found.json())

    late = await run_once()
    assert late["placed"] == 0
    assert {u["reason"] for u in late["unplaced"]} == {"too late to drive back to school by 09:45"}
    etag = (await client.get(url, headers=admin)).headers["etag"]
    changed = await client.patch(
        url, json={"adults_finish_at_last_visit": True}, headers=admin | {"If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["adults_finish_at_last_visit"] is True
    assert (await run_once())["placed"] == 1  # two families, one slot, one teacher


async def test_a_run_with_room_for_everyone_has_no_root_cause(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await scheduling_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    started = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs", json={}, headers=admin
    )
    assert await run_pending() == 1
    run = (await client.get(f"/api/v1/schedule-runs/{started.json()['id']}", headers=admin)).json()
    assert (run["root_causes"], run["unplaced"]) == ([], [])


async def test_a_run_reports_unplaced_families_apart_from_its_gap(
    client: httpx.AsyncClient, world: World
) -> None:
    """With no second adult anywhere, no family can be visited: the run says how many are
    unplaced and that no schedule could place them, and its objective, bound and gap are the
    placed families' (none), not 100,000 points a family on both sides of a ratio."""
    programme = await scheduling_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    emptied = await client.put(
        f"/api/v1/programmes/{programme['id']}/second-adults", json={"staff_ids": []}, headers=admin
    )
    assert emptied.status_code == 200, emptied.text
    started = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs",
        json={"time_limit_seconds": 1},
        headers=admin,
    )
    assert await run_pending() == 1
    run = (await client.get(f"/api/v1/schedule-runs/{started.json()['id']}", headers=admin)).json()
    assert run["status"] == "succeeded", run
    assert run["unplaced_count"] == 2 == len(run["unplaced"])
    assert run["unplaced_minimum"] == 2
    assert run["unplaced_unavoidable"] is True
    assert run["objective_parts"]["unplaced"] == 2
    assert run["objective_parts"]["total"] >= 200_000
    assert run["objective"] == run["objective_parts"]["total"] - 200_000
    assert run["best_bound"] <= run["objective"]
    assert "placed families" in run["gap_of"]
    assert run["quality"] == quality(run["gap"])


def test_the_gap_is_told_in_words_and_optimal_only_when_closed() -> None:
    assert quality(None) is None
    assert quality(0.0) is not None
    assert quality(0.0).startswith("proven optimal")  # type: ignore[union-attr]
    told = quality(0.0731)
    assert told is not None
    assert "7.3%" in told
    assert "optimal" not in told


async def _forget_address(household_id: str) -> None:
    async with db.open_session(system_scope("test write")) as session:
        home = await session.get(Household, UUID(household_id))
        assert home is not None
        home.address_line1 = home.postcode = home.match_key = None


async def test_a_run_explains_a_household_without_an_address(
    client: httpx.AsyncClient, world: World
) -> None:
    """A household a OneRoster feed left without an address cannot be visited at home: the run
    says so and where to give it one, until it asks for a neutral venue at school."""
    programme = await scheduling_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    other = next(
        h["household_id"]
        for h in (
            await client.get(f"/api/v1/programmes/{programme['id']}/households", headers=admin)
        ).json()["items"]
        if h["household_id"] != programme["home"]
    )
    await _forget_address(other)
    started = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs",
        json={"time_limit_seconds": 1},
        headers=admin,
    )
    assert started.status_code == 202, started.text
    assert await run_pending() == 1
    run = (await client.get(f"/api/v1/schedule-runs/{started.json()['id']}", headers=admin)).json()
    assert run["status"] == "succeeded", run
    assert run["placed"] == 1
    (unplaced,) = run["unplaced"]
    assert unplaced["household_id"] == other
    assert unplaced["reason"].startswith("no home address yet: give it one (the data-quality list")

    at_school = await client.put(
        f"/api/v1/programmes/{programme['id']}/households/{other}/exemption",
        json={"kind": "neutral_venue", "reason": "No fixed address yet"},
        headers=admin,
    )
    assert at_school.status_code == 200, at_school.text
    rerun = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs",
        json={"time_limit_seconds": 1},
        headers=admin,
    )
    assert rerun.status_code == 202, rerun.text
    assert await run_pending() == 1
    done = (await client.get(f"/api/v1/schedule-runs/{rerun.json()['id']}", headers=admin)).json()
    assert done["placed"] == 2, done["unplaced"]
