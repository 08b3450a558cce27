"""A programme that cannot go wrong silently: publishing needs a schedule that reaches every
family (or SLT's word for each one it does not), a published schedule can be reopened before its
first visit day and re-run (the moves recorded), and a class with more families than its adults
can visit is said out loud as the programme opens for answers."""

from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select, update

from app.core import db
from app.core.audit import AuditEntry
from app.core.jobs import run_pending
from app.core.london import london_today
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.programmes.models import VisitProgramme
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer, load_roster
from tests.programmes.test_programmes import DAYS, create, move, publish
from tests.roster.snapshots import small_snapshot
from tests.visits.helpers import planned_programme, scheduling_programme


async def run_schedule(client: httpx.AsyncClient, programme_id: str, headers: Any) -> Any:
    started = await client.post(
        f"/api/v1/programmes/{programme_id}/schedule-runs",
        json={"time_limit_seconds": 2},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    assert await run_pending() == 1
    return (
        await client.get(f"/api/v1/schedule-runs/{started.json()['id']}", headers=headers)
    ).json()


async def visits_of(client: httpx.AsyncClient, programme_id: str, headers: Any) -> list[Any]:
    listed = await client.get(f"/api/v1/programmes/{programme_id}/visits", headers=headers)
    assert listed.status_code == 200, listed.text
    items: list[Any] = listed.json()["items"]
    return items


async def status_of(client: httpx.AsyncClient, programme_id: str, headers: Any) -> str:
    read = await client.get(f"/api/v1/programmes/{programme_id}", headers=headers)
    return str(read.json()["status"])


async def test_publishing_needs_a_schedule(client: httpx.AsyncClient, world: World) -> None:
    programme = await scheduling_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    refused = await publish(client, programme["id"], admin)
    problem = assert_problem(refused, 409, "schedule-missing")
    assert "run the scheduler" in problem["detail"]
    assert await status_of(client, programme["id"], admin) == "scheduling"


async def test_every_family_needs_a_visit_or_slts_acknowledgement(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await scheduling_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    office = await bearer(world.login(Role.OFFICE))
    browns = next(
        h
        for h in (
            await client.get(f"/api/v1/programmes/{programme['id']}/households", headers=admin)
        ).json()["items"]
        if h["family_name"] == "Brown"
    )["household_id"]
    # The Browns can do none of the days, so the run cannot place them.
    away = await client.put(
        f"/api/v1/programmes/{programme['id']}/households/{browns}/answer",
        json={"unavailable": [{"day": d} for d in DAYS]},
        headers=office,
    )
    assert away.status_code == 200, away.text
    run = await run_schedule(client, programme["id"], admin)
    assert [u["household_id"] for u in run["unplaced"]] == [browns]

    refused = await publish(client, programme["id"], admin)
    problem = assert_problem(refused, 409, "schedule-incomplete")
    assert "1 family has no visit: Brown (F-2)" in problem["detail"]
    assert problem["unplaced"] == [
        {
            "household_id": browns,
            "family_name": "Brown",
            "reference": "F-2",
            "reason": run["unplaced"][0]["reason"],
        }
    ]
    assert await status_of(client, programme["id"], admin) == "scheduling"
    assert {v["status"] for v in await visits_of(client, programme["id"], admin)} == {"proposed"}

    published = await move(
        client, programme["id"], admin, "published", acknowledged_unplaced=[browns]
    )
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert {v["status"] for v in await visits_of(client, programme["id"], admin)} == {"scheduled"}
    async with db.open_session(system_scope("test: audit")) as session:
        entry = await session.scalar(
            select(AuditEntry).where(
                col(AuditEntry.subject_id) == UUID(programme["id"]),
                col(AuditEntry.action) == "programme.transition",
                col(AuditEntry.details)["to"].as_string() == "published",
            )
        )
    assert entry is not None
    assert entry.details["acknowledged_unplaced"] == [browns]


async def test_a_family_that_came_into_scope_after_the_run_is_named(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await scheduling_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{programme['id']}/households"
    khans = programme["home"]
    exempt = await client.put(
        f"{url}/{khans}/exemption", json={"kind": "exempt", "reason": "Abroad"}, headers=admin
    )
    assert exempt.status_code == 200, exempt.text
    run = await run_schedule(client, programme["id"], admin)
    assert run["placed"] == 1
    assert (await client.delete(f"{url}/{khans}/exemption", headers=admin)).status_code == 204
    problem = assert_problem(await publish(client, programme["id"], admin), 409)
    assert [(u["family_name"], u["reference"], u["reason"]) for u in problem["unplaced"]] == [
        ("Khan", "F-1", None)
    ]


async def test_a_published_schedule_is_reopened_before_its_first_day(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await planned_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{programme['id']}"
    assert (await publish(client, programme["id"], admin)).status_code == 200
    why = "The Robins' teacher is ill that week"
    back = {"to": "scheduling", "reason": why}
    assert_problem(await client.post(f"{url}/transitions", json=back, headers=admin), 428)
    no_reason = await move(client, programme["id"], admin, "scheduling")
    assert [e["pointer"] for e in assert_problem(no_reason, 422)["errors"]] == ["#/reason"]
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(await move(client, programme["id"], teacher, "scheduling", reason=why), 403)

    reopened = await move(client, programme["id"], admin, "scheduling", reason=why)
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert body["status"] == "scheduling"
    assert [(r["reason"], r["by"]) for r in body["reopenings"]] == [
        (why, str(world.login(Role.SCHOOL_ADMIN).staff_id))
    ]
    # The families were told their times: the visits stay scheduled until changed.
    assert {v["status"] for v in await visits_of(client, programme["id"], admin)} == {"scheduled"}
    async with db.open_session(system_scope("test: audit")) as session:
        entry = await session.scalar(
            select(AuditEntry).where(col(AuditEntry.action) == "programme.reopened")
        )
    assert entry is not None
    assert entry.details == {"from": "published", "to": "scheduling"}  # ids only, no free text
    # The teams unlock, and the programme publishes again.
    teams = (await client.get(f"{url}/teams", headers=admin)).json()
    assert teams[0]["class_name"] == "Robins"
    assert (await publish(client, programme["id"], admin)).status_code == 200

    # Once the first visit day has begun it is too late.
    async with db.open_session(system_scope("test: the visits begin")) as session:
        await session.execute(
            update(VisitProgramme)
            .where(col(VisitProgramme.id) == UUID(programme["id"]))
            .values(visit_days=[london_today().isoformat(), DAYS[2]])
        )
    late = await move(client, programme["id"], admin, "scheduling", reason="Too late now")
    assert "has begun" in assert_problem(late, 409, "transition-refused")["detail"]
    assert await status_of(client, programme["id"], admin) == "published"


async def test_a_published_programme_is_re_run_and_its_moves_recorded(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await planned_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    assert (await publish(client, programme["id"], admin)).status_code == 200
    before = {v["household_id"]: v for v in await visits_of(client, programme["id"], admin)}
    khans = before[programme["home"]]
    browns = next(v for h, v in before.items() if h != programme["home"])
    # The Browns' time is confirmed with them; the Robins' teacher cannot make the Khans' time.
    etag = (await client.get(f"/api/v1/visits/{browns['id']}", headers=admin)).headers["etag"]
    locked = await client.patch(
        f"/api/v1/visits/{browns['id']}", json={"locked": True}, headers=admin | {"If-Match": etag}
    )
    assert locked.status_code == 200, locked.text
    teacher = world.login(Role.TEACHER)
    away = await client.post(
        "/api/v1/me/unavailability",
        json={"starts_at": khans["starts_at"], "ends_at": khans["ends_at"], "reason": "Dentist"},
        headers=await bearer(teacher),
    )
    assert away.status_code == 201, away.text

    run = await run_schedule(client, programme["id"], admin)
    assert run["status"] == "succeeded", run
    assert run["placed"] == 2, run["unplaced"]
    after = {v["household_id"]: v for v in await visits_of(client, programme["id"], admin)}
    moved = after[programme["home"]]
    assert moved["id"] == khans["id"]  # the same visit, moved: its history and link stay
    assert moved["status"] == "scheduled"  # the programme is published: no second confirmation
    assert moved["starts_at"] != khans["starts_at"]
    assert moved["version"] > khans["version"]
    assert after[browns["household_id"]] == locked.json()  # locked: untouched
    changes = await client.get(f"/api/v1/visits/{khans['id']}/changes", headers=admin)
    assert changes.status_code == 200, changes.text
    (history,) = [c for c in changes.json()["items"] if c["kind"] == "rescheduled"]
    assert (_instant(history["from_starts_at"]), _instant(history["to_starts_at"])) == (
        _instant(khans["starts_at"]),
        _instant(moved["starts_at"]),
    )
    assert history["changed_by"] == str(world.login(Role.SCHOOL_ADMIN).staff_id)


def _instant(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_opening_for_answers_warns_of_a_class_over_capacity(
    client: httpx.AsyncClient, world: World
) -> None:
    """One visit day with one slot: Robins' two Reception families cannot both be visited."""
    await load_roster(world, small_snapshot(world))
    created = await create(client, world, visit_days=[DAYS[0]], day_ends="09:45", breaks=[])
    assert created.status_code == 201, created.text
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    robins = await client.get(f"/api/v1/programmes/{created.json()['id']}/teams", headers=admin)
    opened = await move(client, created.json()["id"], admin, "collecting")
    assert opened.status_code == 200, opened.text
    assert opened.json()["status"] == "collecting"
    teacher = world.login(Role.TEACHER).full_name
    assert opened.json()["warnings"] == [
        {
            "type": "class-over-capacity",
            "pointer": None,
            "class_id": robins.json()[0]["class_id"],
            "detail": "Robins: 2 families, 1 visit possible: add a visit day, shorten slots, or "
            f"add a teacher. {teacher} can make at most 1 visit on the programme's 1 day (1 slot "
            "in all, at most 10 visits a day).",
        }
    ]
    # A later read is not the moment of opening: only the settings' own warnings.
    read = await client.get(f"/api/v1/programmes/{created.json()['id']}", headers=admin)
    assert read.json()["warnings"] == []


async def test_a_re_run_that_changes_nothing_leaves_the_visits_alone(
    client: httpx.AsyncClient, world: World
) -> None:
    """Visits keep their ids (and ETags, for SLT's pending changes) when a run places them as
    they were."""
    programme = await planned_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    before = await visits_of(client, programme["id"], admin)
    run = await run_schedule(client, programme["id"], admin)
    assert (run["status"], run["moved"]) == ("succeeded", 0)
    assert await visits_of(client, programme["id"], admin) == before


async def test_publishing_waits_for_an_on_call_safeguarding_lead_every_visit_day(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await planned_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{programme['id']}"
    named = await client.put(
        f"{url}/duty-rota/{DAYS[0]}",
        json={"dsl_on_call_id": str(world.login(Role.TRUST_DSL).staff_id)},  # the trust's covers
        headers=admin,
    )
    assert named.status_code == 200, named.text
    refused = assert_problem(
        await move(client, programme["id"], admin, "published"), 409, "on-call-dsl-missing"
    )
    assert refused["days"] == DAYS[1:]
    assert await status_of(client, programme["id"], admin) == "scheduling"
    assert {v["status"] for v in await visits_of(client, programme["id"], admin)} == {"proposed"}
    assert (await publish(client, programme["id"], admin)).status_code == 200
