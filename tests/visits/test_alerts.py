"""Safety alerts, on a frozen clock (the planner is given the time): adults not checked out in
time alert the school's office once, then SLT while nobody acknowledges; an answer from the
adults, or an acknowledgement, stops it."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select, update

from app.core import db
from app.core.london import local_time
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.notifications.models import Message, MessageKind
from app.staff.models import RoleGrant
from app.synthetic.generator import World
from app.visits.alerts import plan_overdue_alerts
from app.visits.alerts_models import VisitAlert
from app.visits.models import Visit
from tests.conftest import assert_problem, bearer
from tests.visits.helpers import published_programme


async def _at(visit_id: str, starts: datetime) -> None:
    async with db.open_session(system_scope("test: the visit's time")) as session:
        await session.execute(
            update(Visit)
            .where(col(Visit.id) == UUID(visit_id))
            .values(starts_at=starts, ends_at=starts + timedelta(minutes=45))
        )


async def _alerts_sent() -> list[Message]:
    async with db.open_session(system_scope("test: the outbox")) as session:
        rows = await session.scalars(
            select(Message)
            .where(col(Message.kind) == MessageKind.VISIT_OVERDUE)
            .order_by(col(Message.created_at))
        )
        return list(rows)


async def _chain(world: World) -> list[UUID]:
    """The school's office, then its SLT, as the planner orders them (by name)."""
    school = world.trusts[0].schools[0].id
    async with db.open_session(system_scope("test: who is told")) as session:
        grants = list(
            await session.scalars(select(RoleGrant).where(col(RoleGrant.school_id) == school))
        )
    names = {lg.staff_id: lg.full_name for lg in world.logins}
    order: list[UUID] = []
    for role in (Role.OFFICE, Role.SCHOOL_ADMIN):
        ids = sorted({g.staff_id for g in grants if g.role is role}, key=lambda s: (names[s], s))
        order.extend(i for i in ids if i not in order)
    return order


async def _checked_in_late(client: httpx.AsyncClient, world: World) -> tuple[dict[str, Any], Any]:
    programme = await published_programme(client, world)
    visit = programme["visits"][0]
    ends = utcnow() - timedelta(minutes=5)
    await _at(visit["id"], ends - timedelta(minutes=45))
    teacher = await bearer(world.login(Role.TEACHER))
    checked = await client.post(f"/api/v1/visits/{visit['id']}/check-in", headers=teacher)
    assert checked.status_code == 200, checked.text
    return programme | {"visit": visit}, ends


async def test_adults_not_checked_out_alert_the_office_once_then_slt_until_acknowledged(
    client: httpx.AsyncClient, world: World
) -> None:
    programme, ends = await _checked_in_late(client, world)
    chain = await _chain(world)
    assert len(chain) >= 2
    assert await plan_overdue_alerts(ends + timedelta(minutes=14)) == 0  # not overdue yet
    first = ends + timedelta(minutes=16)
    assert await plan_overdue_alerts(first) == 1
    assert await plan_overdue_alerts(first + timedelta(minutes=1)) == 0  # told once
    (told,) = await _alerts_sent()
    assert told.recipient_id == chain[0]
    assert told.send_after == first  # a staff alert ignores quiet hours
    assert told.programme_id is None  # never held back by a programme's daily cap
    assert "not checked out" in told.values["overdue"]
    assert told.values["family_name"]

    # Ten minutes on, nobody has acknowledged: the next in the chain is told.
    assert await plan_overdue_alerts(first + timedelta(minutes=10)) == 1
    assert [m.recipient_id for m in await _alerts_sent()] == chain[:2]

    office = await bearer(world.login(Role.OFFICE))
    listed = await client.get(f"/api/v1/programmes/{programme['id']}/visit-alerts", headers=office)
    (alert,) = listed.json()["items"]
    assert (alert["kind"], alert["level"]) == ("no_check_out", 1)
    acked = await client.post(f"/api/v1/visit-alerts/{alert['id']}/acknowledgement", headers=office)
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged_by"] == str(world.login(Role.OFFICE).staff_id)
    assert await plan_overdue_alerts(first + timedelta(minutes=40)) == 0
    assert len(await _alerts_sent()) == 2
    still = await client.get(f"/api/v1/programmes/{programme['id']}/visit-alerts", headers=office)
    assert still.json()["items"] == []


async def test_adults_checking_in_after_all_end_the_alert(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    visit = programme["visits"][0]
    starts = utcnow() - timedelta(minutes=25)
    await _at(visit["id"], starts)
    assert await plan_overdue_alerts(utcnow()) == 1  # nobody checked in 20 minutes after
    teacher = await bearer(world.login(Role.TEACHER))
    assert (await client.post(f"/api/v1/visits/{visit['id']}/check-in", headers=teacher)).is_success
    assert await plan_overdue_alerts(utcnow() + timedelta(minutes=15)) == 0
    async with db.open_session(system_scope("test: the alert")) as session:
        alert = await session.scalar(select(VisitAlert))
    assert alert is not None
    assert alert.resolved_at is not None
    assert len(await _alerts_sent()) == 1


async def test_only_the_schools_office_and_slt_acknowledge(
    client: httpx.AsyncClient, world: World
) -> None:
    _, ends = await _checked_in_late(client, world)
    assert await plan_overdue_alerts(ends + timedelta(minutes=16)) == 1
    async with db.open_session(system_scope("test: the alert")) as session:
        alert = await session.scalar(select(VisitAlert))
    assert alert is not None
    url = f"/api/v1/visit-alerts/{alert.id}/acknowledgement"
    assert_problem(await client.post(url, headers=await bearer(world.login(Role.TEACHER))), 403)
    other = await bearer(world.login(Role.OFFICE, school=1))
    assert_problem(await client.post(url, headers=other), 404)
    slt = await bearer(world.login(Role.SCHOOL_ADMIN))
    assert (await client.post(url, headers=slt)).status_code == 200
    again = await client.post(url, headers=slt)  # idempotent: the first acknowledgement stands
    assert again.json()["acknowledged_at"] is not None


async def test_the_days_named_safety_contact_hears_first(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    visit = programme["visits"][0]
    ends = datetime.fromisoformat(visit["ends_at"])
    async with db.open_session(system_scope("test: the adults checked in")) as session:
        await session.execute(
            update(Visit)
            .where(col(Visit.id) == UUID(visit["id"]))
            .values(checked_in_at=datetime.fromisoformat(visit["starts_at"]))
        )
    day = local_time(ends).date().isoformat()
    slt = world.login(Role.SCHOOL_ADMIN)
    named = await client.put(
        f"/api/v1/programmes/{programme['id']}/duty-rota/{day}",
        json={"safety_contact_id": str(slt.staff_id)},
        headers=await bearer(slt),
    )
    assert named.status_code == 200, named.text
    first = ends + timedelta(minutes=16)
    assert await plan_overdue_alerts(first) == 1
    assert await plan_overdue_alerts(first + timedelta(minutes=10)) == 1
    told = [m.recipient_id for m in await _alerts_sent()]
    chain = await _chain(world)
    # The day's contact first, then the office; nobody told twice for being in both.
    assert told == [slt.staff_id, next(s for s in chain if s != slt.staff_id)]
