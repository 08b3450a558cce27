"""Outcomes: a scheduled visit of a published programme is recorded once, as completed, no
access, declined or cancelled, by an adult on it or SLT; a no-access visit may be closed as not
visited by SLT or the office."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select

from app.core import db
from app.core.audit import AuditEntry
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.synthetic.generator import World
from tests.conftest import all_rows, assert_problem, bearer, staff_with_roles
from tests.programmes.test_publishing import run_schedule, visits_of
from tests.visits.helpers import planned_programme, published_programme, pupil_of, visit_begun


def _url(visit_id: str, action: str = "outcome") -> str:
    return f"/api/v1/visits/{visit_id}/{action}"


def _of(programme: dict[str, Any], pupil_id: str) -> dict[str, Any]:
    visit: dict[str, Any] = next(v for v in programme["visits"] if pupil_id in v["pupil_ids"])
    return visit


async def test_an_adult_on_the_visit_records_it_completed_with_times(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    visit = _of(programme, await pupil_of("P-1"))
    teacher = world.login(Role.TEACHER)
    assert str(teacher.staff_id) in {a["staff_id"] for a in visit["adults"]}
    await visit_begun(visit["id"])
    arrived = (utcnow() - timedelta(minutes=80)).isoformat()
    departed = (utcnow() - timedelta(minutes=40)).isoformat()
    recorded = await client.post(
        _url(visit["id"]),
        json={"outcome": "completed", "arrived_at": arrived, "departed_at": departed},
        headers=await bearer(teacher),
    )
    assert recorded.status_code == 200, recorded.text
    body = recorded.json()
    assert body["status"] == "completed"
    assert body["outcome"]["outcome"] == "completed"
    assert body["outcome"]["recorded_by"] == str(teacher.staff_id)
    assert body["outcome"]["closed"] is False
    assert datetime.fromisoformat(body["arrived_at"]) == datetime.fromisoformat(arrived)
    assert datetime.fromisoformat(body["departed_at"]) == datetime.fromisoformat(departed)
    assert body["version"] > visit["version"]
    assert recorded.headers["etag"] == f'"{UUID(visit["id"]).hex}.{body["version"]}"'

    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    history = await client.get(_url(visit["id"], "changes"), headers=admin)
    assert [c["kind"] for c in history.json()["items"]][-1] == "outcome_recorded"
    async with db.open_session(system_scope("test: audit")) as session:
        entries = list(
            await session.scalars(
                select(AuditEntry).where(col(AuditEntry.action) == "visit.outcome_recorded")
            )
        )
    assert [e.subject_id for e in entries] == [UUID(visit["id"])]
    assert entries[0].actor_id == teacher.staff_id


async def test_a_second_outcome_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    visit = _of(programme, await pupil_of("P-1"))
    await visit_begun(visit["id"])
    teacher = await bearer(world.login(Role.TEACHER))
    first = await client.post(_url(visit["id"]), json={"outcome": "completed"}, headers=teacher)
    assert first.status_code == 200, first.text
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    before = await all_rows()
    again = await client.post(
        _url(visit["id"]), json={"outcome": "no_access", "reason": "Nobody answered"}, headers=admin
    )
    problem = assert_problem(again, 409, "visit-outcome-refused")
    assert "already recorded (completed)" in problem["detail"]
    assert await all_rows() == before


async def test_a_visit_is_not_completed_before_its_planned_start(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    visit = _of(programme, await pupil_of("P-1"))
    teacher = await bearer(world.login(Role.TEACHER))
    before = await all_rows()
    early = await client.post(_url(visit["id"]), json={"outcome": "completed"}, headers=teacher)
    assert "cannot be completed before then" in assert_problem(early, 409)["detail"]
    assert await all_rows() == before
    # A family may decline ahead of the day: that needs no visit time to have come.
    declined = await client.post(
        _url(visit["id"]),
        json={"outcome": "declined", "reason": "The family phoned to say no thank you"},
        headers=teacher,
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["outcome"]["reason"] == "The family phoned to say no thank you"


async def test_a_reason_is_required_unless_completed(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    visit = _of(programme, await pupil_of("P-1"))
    teacher = await bearer(world.login(Role.TEACHER))
    before = await all_rows()
    for outcome in ("no_access", "declined", "cancelled"):
        refused = await client.post(_url(visit["id"]), json={"outcome": outcome}, headers=teacher)
        problem = assert_problem(refused, 422, "validation-error")
        assert [e["pointer"] for e in problem["errors"]] == ["#/reason"], problem
    backwards = await client.post(
        _url(visit["id"]),
        json={
            "outcome": "no_access",
            "reason": "No answer",
            "arrived_at": "2026-09-02T10:00:00+01:00",
            "departed_at": "2026-09-02T09:00:00+01:00",
        },
        headers=teacher,
    )
    assert [e["pointer"] for e in assert_problem(backwards, 422)["errors"]] == ["#/departed_at"]
    future = (utcnow() + timedelta(hours=2)).isoformat()
    ahead = await client.post(
        _url(visit["id"]),
        json={"outcome": "no_access", "reason": "No answer", "arrived_at": future},
        headers=teacher,
    )
    assert [e["pointer"] for e in assert_problem(ahead, 422)["errors"]] == ["#/arrived_at"]
    assert await all_rows() == before


async def test_only_its_adults_and_slt_record_it(client: httpx.AsyncClient, world: World) -> None:
    """A teacher of a child on the visit who is not on it sees it and is refused (403); the
    office and the DSL see it and are refused; another school's staff and another trust's find
    no visit (404). SLT records any visit of the school."""
    # A teacher supporting 3B, where Maryam (F-1) and Lily (F-2) are: on neither visit.
    colleague = await staff_with_roles(world, [(Role.TEACHER, 0)])
    programme = await published_programme(client, world, support_3b=colleague)
    visit = _of(programme, await pupil_of("P-1"))
    await visit_begun(visit["id"])
    assert str(colleague.staff_id) not in {a["staff_id"] for a in visit["adults"]}
    seen = await client.get(f"/api/v1/visits/{visit['id']}", headers=await bearer(colleague))
    assert seen.status_code == 200, seen.text
    body = {"outcome": "completed"}
    callers = [
        (await bearer(login), status)
        for login, status in (
            (colleague, 403),
            (world.login(Role.OFFICE), 403),
            (world.login(Role.DSL), 403),
            (world.login(Role.TEACHER, school=1), 404),
            (world.login(Role.SCHOOL_ADMIN, school=1), 404),
            (world.login(Role.TRUST_ADMIN, trust=1), 404),
        )
    ]
    before = await all_rows()
    for headers, status in callers:
        assert_problem(await client.post(_url(visit["id"]), json=body, headers=headers), status)
    missing = await client.post(
        _url("00000000-0000-4000-8000-000000000000"), json=body, headers=callers[0][0]
    )
    assert_problem(missing, 404)
    assert await all_rows() == before
    recorded = await client.post(
        _url(visit["id"]), json=body, headers=await bearer(world.login(Role.SCHOOL_ADMIN))
    )
    assert recorded.status_code == 200, recorded.text


async def test_only_a_published_programme_s_scheduled_visits_are_recorded(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await planned_programme(client, world)
    visit = programme["visits"][0]
    await visit_begun(visit["id"])
    refused = await client.post(
        _url(visit["id"]),
        json={"outcome": "completed"},
        headers=await bearer(world.login(Role.SCHOOL_ADMIN)),
    )
    assert "once it is published" in assert_problem(refused, 409)["detail"]


async def test_a_joined_sibling_s_own_outcome_is_kept(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    yusuf, maryam = await pupil_of("P-1"), await pupil_of("P-2")
    visit = _of(programme, yusuf)
    assert set(visit["pupil_ids"]) == {yusuf, maryam}
    await visit_begun(visit["id"])
    teacher = await bearer(world.login(Role.TEACHER))
    stranger = await client.post(
        _url(visit["id"]),
        json={
            "outcome": "completed",
            "pupils": [{"pupil_id": await pupil_of("P-3"), "outcome": "declined"}],
        },
        headers=teacher,
    )
    assert [e["pointer"] for e in assert_problem(stranger, 422)["errors"]] == [
        "#/pupils/0/pupil_id"
    ]
    recorded = await client.post(
        _url(visit["id"]),
        json={"outcome": "completed", "pupils": [{"pupil_id": maryam, "outcome": "no_access"}]},
        headers=teacher,
    )
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["outcome"]["pupils"] == [{"pupil_id": maryam, "outcome": "no_access"}]
    read = await client.get(f"/api/v1/visits/{visit['id']}", headers=teacher)
    assert read.json()["outcome"]["pupils"] == [{"pupil_id": maryam, "outcome": "no_access"}]


async def test_a_no_access_visit_is_closed_as_not_visited_by_slt_or_the_office(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    visit = _of(programme, await pupil_of("P-1"))
    teacher = await bearer(world.login(Role.TEACHER))
    office = await bearer(world.login(Role.OFFICE))
    close = {"reason": "Three calls and a visit unanswered"}
    not_yet = await client.post(_url(visit["id"], "close"), json=close, headers=office)
    assert "Only a no-access visit" in assert_problem(not_yet, 409, "visit-not-closable")["detail"]
    recorded = await client.post(
        _url(visit["id"]), json={"outcome": "no_access", "reason": "No answer"}, headers=teacher
    )
    assert recorded.status_code == 200, recorded.text
    assert_problem(await client.post(_url(visit["id"], "close"), json=close, headers=teacher), 403)
    closed = await client.post(_url(visit["id"], "close"), json=close, headers=office)
    assert closed.status_code == 200, closed.text
    outcome = closed.json()["outcome"]
    assert closed.json()["status"] == "no_access"
    assert outcome["closed"] is True
    assert outcome["closed_by"] == str(world.login(Role.OFFICE).staff_id)
    assert outcome["closed_reason"] == close["reason"]
    again = await client.post(_url(visit["id"], "close"), json=close, headers=office)
    assert "already closed" in assert_problem(again, 409)["detail"]


async def test_an_outcome_s_reason_stays_out_of_the_audit_log(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    visit = _of(programme, await pupil_of("P-1"))
    reason = "Dad said come back another week"
    recorded = await client.post(
        _url(visit["id"]),
        json={"outcome": "cancelled", "reason": reason},
        headers=await bearer(world.login(Role.SCHOOL_ADMIN)),
    )
    assert recorded.status_code == 200, recorded.text
    async with db.open_session(system_scope("test: audit")) as session:
        entry = await session.scalar(
            select(AuditEntry).where(col(AuditEntry.action) == "visit.outcome_recorded")
        )
    assert entry is not None
    assert entry.details == {"status": "cancelled"}
    assert reason not in str(entry.details)


async def test_a_re_run_leaves_a_visit_with_an_outcome_as_it_was(
    client: httpx.AsyncClient, world: World
) -> None:
    """A published programme may be re-run; a visit whose outcome is recorded happened (or was
    called off) for good: the run neither brings a cancelled one back nor places the family
    again."""
    programme = await published_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    cancelled = _of(programme, await pupil_of("P-1"))
    recorded = await client.post(
        _url(cancelled["id"]),
        json={"outcome": "cancelled", "reason": "The family moved away"},
        headers=admin,
    )
    assert recorded.status_code == 200, recorded.text
    run = await run_schedule(client, programme["id"], admin)
    assert run["status"] == "succeeded", run
    after = {v["id"]: v for v in await visits_of(client, programme["id"], admin)}
    assert len(after) == 2
    assert after[cancelled["id"]]["status"] == "cancelled"
    assert after[cancelled["id"]]["outcome"] == recorded.json()["outcome"]
    other = _of(programme, await pupil_of("P-3"))
    assert after[other["id"]]["status"] == "scheduled"


async def test_no_outcome_while_a_schedule_run_is_under_way(
    client: httpx.AsyncClient, world: World
) -> None:
    """A run rewrites the schedule it read before the outcome, which would undo it."""
    programme = await published_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    started = await client.post(
        f"/api/v1/programmes/{programme['id']}/schedule-runs",
        json={"time_limit_seconds": 2},
        headers=admin,
    )
    assert started.status_code == 202, started.text
    visit = programme["visits"][0]
    before = await all_rows()
    refused = await client.post(
        _url(visit["id"]), json={"outcome": "cancelled", "reason": "Moved away"}, headers=admin
    )
    assert_problem(refused, 409, "schedule-run-under-way")
    assert await all_rows() == before
