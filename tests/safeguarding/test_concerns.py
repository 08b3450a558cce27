"""Raising a concern and moving it on: the receipt, the workflow, the chronology, corrections."""

from uuid import UUID

import httpx
from sqlmodel import col, select

from app.core import db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.safeguarding.models import ChronologyEntry, Concern
from app.synthetic.generator import World
from tests.conftest import all_rows, assert_problem, bearer
from tests.safeguarding.helpers import ACCOUNT, a_roster, concern_body, raise_one


async def test_a_teacher_raises_a_concern_and_reads_back_only_what_they_raised(
    client: httpx.AsyncClient, world: World
) -> None:
    receipt = await raise_one(client, world)
    assert receipt["status"] == "raised"
    assert receipt["account"] == ACCOUNT
    assert receipt["raised_by"] == str(world.login(Role.TEACHER).staff_id)
    assert receipt["first_read_at"] is None
    assert receipt["acknowledged_at"] is None

    dsl = await bearer(world.login(Role.DSL))
    url = f"/api/v1/concerns/{receipt['id']}"
    assert (await client.get(url, headers=dsl)).status_code == 200
    acknowledged = await client.post(
        f"{url}/chronology", json={"kind": "status", "status": "acknowledged"}, headers=dsl
    )
    assert acknowledged.status_code == 201, acknowledged.text
    note = {"kind": "note", "text": "Spoke to the class teacher; chasing the school nurse."}
    assert (await client.post(f"{url}/chronology", json=note, headers=dsl)).status_code == 201

    teacher = await bearer(world.login(Role.TEACHER))
    again = (await client.get(f"{url}/receipt", headers=teacher)).json()
    assert again["status"] == "acknowledged"
    assert again["first_read_at"] is not None
    assert again["acknowledged_at"] == acknowledged.json()["at"]
    assert "school nurse" not in str(again)  # nothing the DSLs added after
    # The raiser does not read the DSLs' file itself.
    assert_problem(await client.get(url, headers=teacher), 404)
    assert_problem(await client.get(f"{url}/chronology", headers=teacher), 404)
    # Another teacher of the school does not read the receipt either.
    other = await bearer(world.login(Role.SUPPORT_STAFF))
    assert_problem(await client.get(f"{url}/receipt", headers=other), 404)


async def test_a_rejected_concern_writes_nothing(client: httpx.AsyncClient, world: World) -> None:
    await a_roster(world)
    school_id = world.trusts[0].schools[0].id
    teacher = await bearer(world.login(Role.TEACHER))
    before = await all_rows()
    stranger = concern_body(str(UUID(int=7)))
    response = await client.post(
        f"/api/v1/schools/{school_id}/concerns", json=stranger, headers=teacher
    )
    assert_problem(response, 422, "concern-unknown-reference")
    nobody = concern_body(str(UUID(int=7))) | {"pupils": []}
    assert_problem(
        await client.post(f"/api/v1/schools/{school_id}/concerns", json=nobody, headers=teacher),
        422,
    )
    assert await all_rows() == before


async def test_the_concern_and_its_alert_are_one_transaction(world: World) -> None:
    """Whatever fails after the concern is written takes its alert with it, and the reverse."""
    from app.core.principal import Grant, Principal, PrincipalKind
    from app.safeguarding import service
    from app.safeguarding.schemas import ConcernRaise
    from tests.safeguarding.helpers import alerts_written

    pupil_id = await a_roster(world)
    school = world.trusts[0].schools[0]
    teacher = world.login(Role.TEACHER)
    who = Principal(
        PrincipalKind.STAFF, teacher.staff_id, school.trust_id, (Grant(Role.TEACHER, school.id),)
    )
    body = ConcernRaise.model_validate(concern_body(pupil_id))
    try:
        async with db.open_session(who.scope) as session:
            await service.raise_concern(session, who, school.id, body)
            assert len(await alerts_written()) == 0  # not visible before the commit
            raise RuntimeError("the request fails after raising")
    except RuntimeError:
        pass
    async with db.open_session(system_scope("test: nothing kept")) as session:
        assert list(await session.scalars(select(Concern))) == []
    assert await alerts_written() == []


async def test_the_workflow_moves_forward_only_and_reopening_is_an_entry(
    client: httpx.AsyncClient, world: World
) -> None:
    receipt = await raise_one(client, world, "routine")
    dsl = await bearer(world.login(Role.DSL))
    url = f"/api/v1/concerns/{receipt['id']}/chronology"

    def status(value: str) -> dict[str, str]:
        return {"kind": "status", "status": value}

    note = {"kind": "note", "text": "Too early"}
    assert_problem(await client.post(url, json=note, headers=dsl), 409, "concern-not-acknowledged")
    refused = await client.post(url, json=status("closed"), headers=dsl)
    assert_problem(refused, 409, "concern-status-refused")
    for step in ("acknowledged", "action_taken", "closed", "reopened", "closed"):
        moved = await client.post(url, json=status(step), headers=dsl)
        assert moved.status_code == 201, (step, moved.text)
    decision = {"kind": "decision", "decision": "no_referral"}
    assert_problem(await client.post(url, json=decision, headers=dsl), 422)
    decision["text"] = "Explained by a fall at football, seen by the coach; no referral."
    assert (await client.post(url, json=decision, headers=dsl)).status_code == 201
    read = (await client.get(f"/api/v1/concerns/{receipt['id']}", headers=dsl)).json()
    assert read["status"] == "closed"
    assert read["closed_at"] is not None
    entries = (await client.get(url, headers=dsl)).json()
    statuses = [e["status"] for e in entries if e["kind"] == "status"]
    assert statuses == ["acknowledged", "action_taken", "closed", "reopened", "closed"]


async def test_a_correction_is_a_new_entry_naming_the_one_it_corrects(
    client: httpx.AsyncClient, world: World
) -> None:
    receipt = await raise_one(client, world, "routine")
    dsl = await bearer(world.login(Role.DSL))
    url = f"/api/v1/concerns/{receipt['id']}/chronology"
    ack = {"kind": "status", "status": "acknowledged"}
    acknowledged = (await client.post(url, json=ack, headers=dsl)).json()
    contact = {"kind": "contact", "agency": "MASH", "text": "Rang MASH at 11:05; spoke to Sam."}
    wrong = (await client.post(url, json=contact, headers=dsl)).json()
    fixed = contact | {"text": "Rang MASH at 11:50; spoke to Sam.", "corrects_id": wrong["id"]}
    corrected = await client.post(url, json=fixed, headers=dsl)
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["corrects_id"] == wrong["id"]
    entries = (await client.get(url, headers=dsl)).json()
    assert [e["text"] for e in entries if e["kind"] == "contact"] == [
        contact["text"],
        fixed["text"],
    ]
    on_status = contact | {"corrects_id": acknowledged["id"]}
    assert_problem(await client.post(url, json=on_status, headers=dsl), 422)


async def test_there_is_no_way_to_change_or_delete_a_concern(
    client: httpx.AsyncClient, world: World
) -> None:
    receipt = await raise_one(client, world, "routine")
    dsl = await bearer(world.login(Role.DSL)) | {"If-Match": "*"}
    url = f"/api/v1/concerns/{receipt['id']}"
    assert (await client.patch(url, json={"urgency": "routine"}, headers=dsl)).status_code == 405
    assert (await client.delete(url, headers=dsl)).status_code == 405
    assert (await client.delete(f"{url}/chronology", headers=dsl)).status_code == 405
    async with db.open_session(system_scope("test: the concern")) as session:
        assert (await session.scalar(select(Concern))) is not None
        assert list(await session.scalars(select(ChronologyEntry))) == []


async def test_a_concern_names_the_visit_it_arose_on(
    client: httpx.AsyncClient, world: World
) -> None:
    from tests.visits.helpers import published_programme

    programme = await published_programme(client, world)
    visit = programme["visits"][0]
    school_id = world.trusts[0].schools[0].id
    teacher = await bearer(world.login(Role.TEACHER))
    body = concern_body(str(UUID(int=1))) | {"pupils": [], "visit_id": visit["id"]}
    # The visit itself shows the way: its read model names where a concern is raised.
    read = (await client.get(f"/api/v1/visits/{visit['id']}", headers=teacher)).json()
    assert read["raise_concern"] == f"/api/v1/schools/{school_id}/concerns"
    raised = await client.post(read["raise_concern"], json=body, headers=teacher)
    assert raised.status_code == 201, raised.text
    assert raised.json()["visit_id"] == visit["id"]
    assert raised.json()["household_id"] == visit["household_id"]
    other_school = world.trusts[0].schools[1].id
    elsewhere = await client.post(
        f"/api/v1/schools/{other_school}/concerns", json=body, headers=teacher
    )
    assert_problem(elsewhere, 404)
    async with db.open_session(system_scope("test: the concern")) as session:
        rows = list(
            await session.scalars(select(Concern).where(col(Concern.visit_id).is_not(None)))
        )
    assert len(rows) == 1


async def test_a_second_dsl_signs_off_a_closing(client: httpx.AsyncClient, world: World) -> None:
    receipt = await raise_one(client, world, "routine")
    dsl = await bearer(world.login(Role.DSL))
    trust_dsl = world.login(Role.TRUST_DSL)
    url = f"/api/v1/concerns/{receipt['id']}"
    sign_off = {"kind": "sign_off", "text": "Agreed: no referral needed."}
    assert_problem(await client.post(f"{url}/chronology", json=sign_off, headers=dsl), 409)
    for step in ("acknowledged", "closed"):
        moved = {"kind": "status", "status": step}
        assert (await client.post(f"{url}/chronology", json=moved, headers=dsl)).is_success
    refused = await client.post(f"{url}/chronology", json=sign_off, headers=dsl)
    assert_problem(refused, 409, "concern-sign-off-refused")  # not the DSL who closed it
    second = await bearer(trust_dsl)
    signed = await client.post(f"{url}/chronology", json=sign_off, headers=second)
    assert signed.status_code == 201, signed.text
    read = (await client.get(url, headers=dsl)).json()
    assert read["signed_off_by"] == str(trust_dsl.staff_id)
    assert read["status"] == "closed"
    assert_problem(await client.post(f"{url}/chronology", json=sign_off, headers=second), 409)
    # Reopened and closed again: the new closing has no sign-off yet.
    for step in ("reopened", "closed"):
        moved = {"kind": "status", "status": step}
        assert (await client.post(f"{url}/chronology", json=moved, headers=dsl)).is_success
    assert (await client.get(url, headers=dsl)).json()["signed_off_at"] is None
