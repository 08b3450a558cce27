"""The DSLs' alert, on a frozen clock (the planner is given the time): written at once with the
concern, saying nothing of who or what; an urgent concern escalates to the deputies and the
trust's DSLs after 10 minutes and again every 20 until a DSL acknowledges it."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
from sqlmodel import col, select

from app.core import db
from app.core.london import london_today
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.notifications.models import Message, MessageChannel
from app.notifications.rendering import render_message
from app.programmes.models import DayDuty, Duty
from app.safeguarding.alerts import plan_escalations
from app.staff.models import RoleGrant
from app.synthetic.generator import World
from tests.conftest import bearer
from tests.programmes.test_programmes import create
from tests.safeguarding.helpers import ACCOUNT, alerts_written, raise_one


async def _holders(world: World, role: Role, school: int | None) -> set[UUID]:
    school_id = None if school is None else world.trusts[0].schools[school].id
    async with db.open_session(system_scope("test: role holders")) as session:
        rows = await session.scalars(
            select(RoleGrant.staff_id).where(
                col(RoleGrant.role) == role,
                col(RoleGrant.trust_id) == world.trusts[0].trust.id,
                col(RoleGrant.school_id) == school_id
                if school_id
                else col(RoleGrant.school_id).is_(None),
            )
        )
        return set(rows)


async def test_raising_alerts_the_schools_dsls_at_once_with_no_name_or_detail(
    client: httpx.AsyncClient, world: World
) -> None:
    receipt = await raise_one(client, world, "immediate_danger")
    alerts = await alerts_written()
    assert {m.recipient_id for m in alerts} == await _holders(world, Role.DSL, 0)
    raised_at = datetime.fromisoformat(receipt["raised_at"])
    for message in alerts:
        assert message.send_after == raised_at  # quiet hours do not hold it back
        assert message.programme_id is None  # never capped with a programme's messages
        assert message.household_id is None
        assert message.channel is MessageChannel.EMAIL
        assert set(message.values) == {"school_name", "school_phone", "urgency", "staff_name"}
        assert message.values["urgency"] == "immediate danger"
    told = await render_one(alerts[0])
    for secret in (ACCOUNT, "physical", "Bruising", receipt["id"], "http"):
        assert secret not in told
    assert world.trusts[0].schools[0].name in told


async def render_one(message: Message) -> str:
    async with db.open_session(system_scope("test: the words sent")) as session:
        wording, _ = await render_message(session, message)
    return f"{wording.subject} {wording.body}"


async def test_an_urgent_concern_escalates_until_acknowledged(
    client: httpx.AsyncClient, world: World
) -> None:
    receipt = await raise_one(client, world, "urgent")
    raised_at = datetime.fromisoformat(receipt["raised_at"])
    dsls = await _holders(world, Role.DSL, 0)
    trust_dsls = await _holders(world, Role.TRUST_DSL, None)
    assert trust_dsls
    at_once = len(await alerts_written())

    assert await plan_escalations(raised_at + timedelta(minutes=9)) == 0
    escalated = await plan_escalations(raised_at + timedelta(minutes=10, seconds=30))
    assert escalated == len(dsls | trust_dsls)
    assert await plan_escalations(raised_at + timedelta(minutes=20)) == 0  # told once a level
    newest = (await alerts_written())[at_once:]
    assert {m.recipient_id for m in newest} == dsls | trust_dsls
    # Again, 20 minutes on, while nobody acknowledges.
    again = await plan_escalations(raised_at + timedelta(minutes=30, seconds=30))
    assert again == len(dsls | trust_dsls)

    dsl = await bearer(world.login(Role.DSL))
    acknowledged = await client.post(
        f"/api/v1/concerns/{receipt['id']}/chronology",
        json={"kind": "status", "status": "acknowledged"},
        headers=dsl,
    )
    assert acknowledged.status_code == 201, acknowledged.text
    assert await plan_escalations(raised_at + timedelta(minutes=51)) == 0


async def test_a_routine_concern_does_not_escalate(client: httpx.AsyncClient, world: World) -> None:
    receipt = await raise_one(client, world, "routine")
    assert len(await alerts_written()) == len(await _holders(world, Role.DSL, 0))
    later = datetime.fromisoformat(receipt["raised_at"]) + timedelta(hours=3)
    assert await plan_escalations(later) == 0


async def test_a_school_without_a_dsl_alerts_the_trusts_dsls(
    client: httpx.AsyncClient, world: World
) -> None:
    from sqlmodel import delete

    school_id = world.trusts[0].schools[0].id
    async with db.open_session(system_scope("test: no DSL at the school")) as session:
        await session.execute(
            delete(RoleGrant).where(
                col(RoleGrant.role) == Role.DSL, col(RoleGrant.school_id) == school_id
            )
        )
    await raise_one(client, world, "urgent")
    told = {m.recipient_id for m in await alerts_written()}
    assert told == await _holders(world, Role.TRUST_DSL, None)


async def test_the_message_log_never_shows_a_dsls_alert(
    client: httpx.AsyncClient, world: World
) -> None:
    from app.notifications.models import LoggedMessage

    await raise_one(client, world, "urgent")
    alerts = await alerts_written()
    async with db.open_session(system_scope("test: the worker logged them")) as session:
        for message in alerts:
            wording, _ = await render_message(session, message)
            session.add(
                LoggedMessage(
                    trust_id=message.trust_id,
                    school_id=message.school_id,
                    message_id=message.id,
                    channel=message.channel,
                    to="dsl@example.org",
                    language="en",
                    subject=wording.subject,
                    body=wording.body,
                )
            )
    for role in (Role.TRUST_ADMIN, Role.SCHOOL_ADMIN):
        log = await client.get("/api/v1/messages/log", headers=await bearer(world.login(role)))
        assert log.status_code == 200, log.text
        assert log.json()["items"] == []


async def test_on_a_visit_day_the_rotas_on_call_dsl_hears_first_then_the_deputy(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await create(client, world)
    assert created.status_code == 201, created.text
    programme = created.json()
    trust_dsl = world.login(Role.TRUST_DSL).staff_id
    deputy = world.login(Role.DSL).staff_id
    today = london_today()
    async with db.open_session(system_scope("test: today is a visit day on the rota")) as s:
        for rank, (duty, staff_id) in enumerate(
            [(Duty.DSL_ON_CALL, trust_dsl), (Duty.DSL_DEPUTY, deputy)]
        ):
            s.add(
                DayDuty(
                    trust_id=world.trusts[0].trust.id,
                    school_id=world.trusts[0].schools[0].id,
                    programme_id=UUID(programme["id"]),
                    day=today,
                    duty=duty,
                    staff_id=staff_id,
                    rank=rank,
                    named_at=datetime.now(UTC),
                )
            )
    receipt = await raise_one(client, world, "urgent")
    assert {m.recipient_id for m in await alerts_written()} == {trust_dsl}  # not every DSL
    raised_at = datetime.fromisoformat(receipt["raised_at"])
    await plan_escalations(raised_at + timedelta(minutes=10, seconds=30))
    escalated = [m.recipient_id for m in (await alerts_written())[1:]]
    assert deputy in escalated
