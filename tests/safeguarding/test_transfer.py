"""A pupil's file transferred when they leave: within the trust the receiving school's DSLs see
it pending, give a receipt and then read its concerns (its other staff still cannot); to an
outside school the sending DSL records the confirmation; a file with neither after 5 days
alerts the sending school's DSLs once, on a frozen clock (the planner is given the time)."""

from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select

from app.core import db
from app.core.audit import AuditEntry
from app.core.london import LONDON, london_today
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.notifications.models import Message, MessageKind
from app.roster.models import Pupil
from app.safeguarding.files import plan_overdue_transfers
from app.staff.models import RoleGrant
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer, load_roster
from tests.roster.snapshots import small_snapshot
from tests.safeguarding.helpers import ACCOUNT, a_roster, concern_body
from tests.safeguarding.test_alerts import render_one

SENT = date(2026, 9, 1)


async def _pupil_at(world: World, school: int, mis_id: str) -> UUID:
    school_id = world.trusts[0].schools[school].id
    async with db.open_session(system_scope("test lookup")) as session:
        found = await session.scalar(
            select(Pupil.id).where(col(Pupil.mis_id) == mis_id, col(Pupil.school_id) == school_id)
        )
    assert found is not None
    return found


async def _send(
    client: httpx.AsyncClient, world: World, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A concern about P-1 at school 0 (its roster loaded), and the file sent: the concern's
    receipt, the transfer."""
    pupil_id = await _pupil_at(world, 0, "P-1")
    raised = await client.post(
        f"/api/v1/schools/{world.trusts[0].schools[0].id}/concerns",
        json=concern_body(str(pupil_id), "routine"),
        headers=await bearer(world.login(Role.TEACHER)),
    )
    assert raised.status_code == 201, raised.text
    concern: dict[str, Any] = raised.json()
    sent = await client.post(
        f"/api/v1/pupils/{pupil_id}/protection-file/transfers",
        json={"sent_date": SENT.isoformat(), "route": "secure_electronic"} | body,
        headers=await bearer(world.login(Role.DSL)),
    )
    assert sent.status_code == 201, sent.text
    return concern, sent.json()


async def test_within_the_trust_the_receiving_dsls_give_a_receipt_then_read_the_concerns(
    client: httpx.AsyncClient, world: World
) -> None:
    await a_roster(world)
    await load_roster(world, small_snapshot(world, school=1), school=1)
    to_school = world.trusts[0].schools[1].id
    concern, transfer = await _send(client, world, {"to_school_id": str(to_school)})
    arrived = await _pupil_at(world, 1, "P-1")  # the same UPN on the new school's roll
    assert (transfer["to_pupil_id"], transfer["concerns"]) == (str(arrived), 1)
    dsl_there = await bearer(world.login(Role.DSL, school=1))
    teacher_there = await bearer(world.login(Role.TEACHER, school=1))
    dsl_here = await bearer(world.login(Role.DSL))
    concern_url = f"/api/v1/concerns/{concern['id']}"

    listed = await client.get(
        f"/api/v1/schools/{to_school}/protection-file-transfers", headers=dsl_there
    )
    assert [(t["id"], t["direction"]) for t in listed.json()] == [(transfer["id"], "incoming")]
    assert ACCOUNT not in listed.text
    assert_problem(await client.get(concern_url, headers=dsl_there), 404)  # not yet received
    school_list = f"/api/v1/schools/{to_school}/concerns"
    assert (await client.get(school_list, headers=dsl_there)).json()["items"] == []
    transfer_url = f"/api/v1/protection-file-transfers/{transfer['id']}"
    for dsl in (dsl_here, dsl_there):
        one = await client.get(transfer_url, headers=dsl)
        assert (one.status_code, one.json()["id"]) == (200, transfer["id"])
    assert_problem(await client.get(transfer_url, headers=teacher_there), 404)
    before = one.headers["etag"]
    receipt_url = f"{transfer_url}/receipt"
    assert_problem(await client.post(receipt_url, headers=teacher_there), 404)
    assert_problem(await client.post(receipt_url, headers=dsl_here), 403)  # the sender's own
    received = await client.post(receipt_url, headers=dsl_there)
    assert received.status_code == 200, received.text
    assert received.json()["received_at"] is not None
    assert_problem(await client.post(receipt_url, headers=dsl_there), 409)
    after = await client.get(transfer_url, headers=dsl_here)
    assert after.json()["received_at"] is not None
    assert after.headers["etag"] != before  # the receipt changed it

    read = await client.get(concern_url, headers=dsl_there)
    assert (read.status_code, read.json()["account"]) == (200, ACCOUNT)
    # The receiving school's list holds it beside its own, marked as the sending school's.
    received_list = (await client.get(school_list, headers=dsl_there)).json()["items"]
    assert [(c["id"], c["school_id"]) for c in received_list] == [
        (concern["id"], str(world.trusts[0].schools[0].id))
    ]
    assert_problem(await client.get(school_list, headers=teacher_there), 404)
    file = await client.get(f"/api/v1/pupils/{arrived}/protection-file", headers=dsl_there)
    assert [c["id"] for c in file.json()["concerns"]] == [concern["id"]]
    assert [t["id"] for t in file.json()["transfers"]] == [transfer["id"]]
    assert (await client.get(concern_url, headers=dsl_here)).status_code == 200  # kept
    for headers in (teacher_there, await bearer(world.login(Role.SCHOOL_ADMIN, school=1))):
        assert_problem(await client.get(concern_url, headers=headers), 404)
        assert_problem(
            await client.get(f"/api/v1/pupils/{arrived}/protection-file", headers=headers), 404
        )
    # The receiving school writes its own concerns, not the sending school's chronology.
    note = {"kind": "note", "text": "Read on arrival."}
    assert_problem(
        await client.post(f"{concern_url}/chronology", json=note, headers=dsl_there), 403
    )
    async with db.open_session(system_scope("test: the audit log")) as session:
        actions = set(
            await session.scalars(
                select(AuditEntry.action).where(col(AuditEntry.subject_id) == UUID(transfer["id"]))
            )
        )
    assert actions == {
        "safeguarding.transfer_recorded",
        "safeguarding.transfer_read",
        "safeguarding.transfer_received",
    }


async def test_an_outside_schools_confirmation_is_recorded_by_the_sending_dsl(
    client: httpx.AsyncClient, world: World
) -> None:
    await a_roster(world)
    _, transfer = await _send(
        client, world, {"to_school_name": "Hilltop Academy, Leeds", "to_school_urn": "140321"}
    )
    assert (transfer["to_school_id"], transfer["to_pupil_id"]) == (None, None)
    base = f"/api/v1/protection-file-transfers/{transfer['id']}"
    dsl = await bearer(world.login(Role.DSL))
    assert_problem(await client.post(f"{base}/receipt", headers=dsl), 409)
    body = {"confirmed_date": "2026-09-03", "confirmed_by_name": "Mr Adeyemi, DSL"}
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(await client.post(f"{base}/confirmation", json=body, headers=teacher), 404)
    early = body | {"confirmed_date": "2026-08-31"}
    assert_problem(await client.post(f"{base}/confirmation", json=early, headers=dsl), 409)
    confirmed = await client.post(f"{base}/confirmation", json=body, headers=dsl)
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["confirmed_date"], confirmed.json()["confirmed_by_name"]) == (
        "2026-09-03",
        "Mr Adeyemi, DSL",
    )
    assert_problem(await client.post(f"{base}/confirmation", json=body, headers=dsl), 409)
    listed = await client.get(
        f"/api/v1/schools/{world.trusts[0].schools[0].id}/protection-file-transfers", headers=dsl
    )
    assert [t["direction"] for t in listed.json()] == ["outgoing"]


async def test_a_transfer_to_a_school_not_of_the_trust_or_sent_tomorrow_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    await a_roster(world)
    url = f"/api/v1/pupils/{await _pupil_at(world, 0, 'P-1')}/protection-file/transfers"
    dsl = await bearer(world.login(Role.DSL))
    foreign = world.trusts[1].schools[0].id
    for body in (
        {"sent_date": SENT.isoformat(), "to_school_id": str(foreign)},
        {"sent_date": SENT.isoformat(), "to_school_id": str(world.trusts[0].schools[0].id)},
        {"sent_date": (london_today() + timedelta(days=1)).isoformat(), "to_school_name": "X"},
    ):
        refused = await client.post(url, json=body | {"route": "hand_delivery"}, headers=dsl)
        assert_problem(refused, 422)
    both = {"to_school_name": "X", "to_school_id": str(foreign)}
    assert_problem(
        await client.post(url, json={"sent_date": "2026-09-01", "route": "x"} | both, headers=dsl),
        422,
    )


async def _dsls(world: World) -> set[UUID]:
    async with db.open_session(system_scope("test: role holders")) as session:
        rows = await session.scalars(
            select(RoleGrant.staff_id).where(
                col(RoleGrant.role) == Role.DSL,
                col(RoleGrant.school_id) == world.trusts[0].schools[0].id,
            )
        )
        return set(rows)


async def _transfer_alerts() -> list[Message]:
    async with db.open_session(system_scope("test: the outbox")) as session:
        rows = await session.scalars(
            select(Message).where(col(Message.kind) == MessageKind.SAFEGUARDING_TRANSFER)
        )
        return list(rows)


async def test_an_unreceived_transfer_alerts_the_sending_dsls_once_after_5_days(
    client: httpx.AsyncClient, world: World
) -> None:
    await a_roster(world)
    await _send(client, world, {"to_school_name": "Hilltop Academy", "to_school_urn": "140321"})
    _, confirmed = await _send(client, world, {"to_school_name": "Brookside Primary"})
    dsl = await bearer(world.login(Role.DSL))
    answer = await client.post(
        f"/api/v1/protection-file-transfers/{confirmed['id']}/confirmation",
        json={"confirmed_date": "2026-09-02", "confirmed_by_name": "Ms Reed"},
        headers=dsl,
    )
    assert answer.status_code == 200, answer.text

    def london(day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=LONDON)

    assert await plan_overdue_transfers(london(SENT + timedelta(days=4), time(23, 59))) == 0
    dsls = await _dsls(world)
    assert await plan_overdue_transfers(london(SENT + timedelta(days=5), time(0, 1))) == len(dsls)
    assert await plan_overdue_transfers(london(SENT + timedelta(days=9), time(9))) == 0
    alerts = await _transfer_alerts()
    assert {m.recipient_id for m in alerts} == dsls
    assert set(alerts[0].values) == {"school_name", "school_phone", "staff_name", "days"}
    told = await render_one(alerts[0])
    for secret in ("Yusuf", "Khan", "Hilltop", "140321", ACCOUNT, "http"):
        assert secret not in told
    assert "5 days" in told
