"""Subject access: SLT record a request for a pupil's data and export it as JSON (the roster
record, the household and its contacts, the visits and outcomes, the notes, the portal answers);
the pupil's safeguarding records join the export only once a DSL releases them for the request,
a release recorded and audited, and to anyone but a DSL answering 404 as a concern does."""

from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlmodel import col, select

from app.core import db
from app.core.audit import AuditEntry
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.synthetic.generator import World
from tests.conftest import all_rows, assert_problem, bearer
from tests.safeguarding.helpers import ACCOUNT, concern_body
from tests.visits.test_notes import NOTE, _visited

CHRONOLOGY_NOTE = "Spoke to the class teacher; monitoring for a fortnight."
REASON = "Disclosure to the parent does not put the child at risk."


async def _a_request(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """A visit to the Khans (Yusuf, P-1) that happened, its note and outcome, the family's
    portal answer, a concern about Yusuf with a DSL's note, and his parent's request."""
    visit = await _visited(client, world)
    pupil_id = visit["pupil_ids"][0]
    teacher = await bearer(world.login(Role.TEACHER))
    note_url = f"/api/v1/visits/{visit['id']}/pupils/{pupil_id}/note"
    assert (await client.put(note_url, json=NOTE, headers=teacher)).status_code == 200
    outcome = await client.post(
        f"/api/v1/visits/{visit['id']}/outcome", json={"outcome": "completed"}, headers=teacher
    )
    assert outcome.status_code == 200, outcome.text
    school_id = world.trusts[0].schools[0].id
    raised = await client.post(
        f"/api/v1/schools/{school_id}/concerns", json=concern_body(pupil_id), headers=teacher
    )
    assert raised.status_code == 201, raised.text
    concern_id = raised.json()["id"]
    dsl = await bearer(world.login(Role.DSL))
    for entry in (
        {"kind": "status", "status": "acknowledged"},
        {"kind": "note", "text": CHRONOLOGY_NOTE},
    ):
        added = await client.post(
            f"/api/v1/concerns/{concern_id}/chronology", json=entry, headers=dsl
        )
        assert added.status_code == 201, added.text
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    recorded = await client.post(
        f"/api/v1/pupils/{pupil_id}/subject-access-requests",
        json={"requester": "parent", "requester_name": "Mrs Khan", "received_date": "2026-10-01"},
        headers=admin,
    )
    assert recorded.status_code == 201, recorded.text
    request: dict[str, Any] = recorded.json()
    assert request["recorded_by"] == str(world.login(Role.SCHOOL_ADMIN).staff_id)
    assert request["safeguarding_released_at"] is None
    return request | {"visit": visit, "concern_id": concern_id, "admin": admin, "dsl": dsl}


def _url(request: dict[str, Any], tail: str = "") -> str:
    return f"/api/v1/subject-access-requests/{request['id']}{tail}"


async def _audited(action: str) -> list[AuditEntry]:
    async with db.open_session(system_scope("test: the audit log")) as session:
        rows = await session.scalars(
            select(AuditEntry).where(col(AuditEntry.action) == action).order_by(col(AuditEntry.at))
        )
        return list(rows)


async def test_the_export_covers_roster_visits_notes_and_answers_but_no_concern(
    client: httpx.AsyncClient, world: World
) -> None:
    request = await _a_request(client, world)
    exported = await client.get(_url(request, "/export"), headers=request["admin"])
    assert exported.status_code == 200, exported.text
    body = exported.json()
    assert body["pupil"]["id"] == request["pupil_id"]
    assert body["pupil"]["mis_id"] == "P-1"
    assert body["class_name"]
    assert body["household"]["id"] == request["visit"]["household_id"]
    assert body["household"]["contacts"]
    (visit,) = body["visits"]
    assert visit["id"] == request["visit"]["id"]
    assert visit["status"] == "completed"
    (note,) = body["visit_notes"]
    assert note["enjoys"] == NOTE["enjoys"]
    (answer,) = body["portal_answers"]
    assert answer["preferred_slot_ids"]
    # Safeguarding: left out, and nothing says whether there is any.
    assert body["safeguarding_released"] is False
    assert body["concerns"] == []
    for secret in (request["concern_id"], ACCOUNT, "physical", "Bruising", CHRONOLOGY_NOTE):
        assert secret not in exported.text
    (entry,) = await _audited("subject_access.exported")
    assert entry.actor_id == world.login(Role.SCHOOL_ADMIN).staff_id
    assert entry.subject_id == UUID(request["id"])
    assert "Khan" not in str(entry.details)
    assert await _audited("safeguarding.concern_exported") == []


async def test_a_dsls_release_brings_the_concerns_in_recorded_and_audited(
    client: httpx.AsyncClient, world: World
) -> None:
    request = await _a_request(client, world)
    dsl = world.login(Role.DSL)
    released = await client.post(
        _url(request, "/safeguarding-release"), json={"reason": REASON}, headers=request["dsl"]
    )
    assert released.status_code == 200, released.text
    record = released.json()
    assert record["safeguarding_released_by"] == str(dsl.staff_id)
    assert record["safeguarding_released_at"] is not None
    assert record["safeguarding_release_reason"] == REASON
    (entry,) = await _audited("safeguarding.subject_access_released")
    assert entry.actor_id == dsl.staff_id
    assert REASON not in str(entry.details)
    read = await client.get(_url(request), headers=request["admin"])
    assert read.json()["safeguarding_released_by"] == str(dsl.staff_id)

    exported = await client.get(_url(request, "/export"), headers=request["admin"])
    assert exported.status_code == 200, exported.text
    body = exported.json()
    assert body["safeguarding_released"] is True
    (concern,) = body["concerns"]
    assert concern["id"] == request["concern_id"]
    assert concern["category"] == "physical"
    assert concern["account"] == ACCOUNT
    assert [e["text"] for e in concern["chronology"] if e["kind"] == "note"] == [CHRONOLOGY_NOTE]
    # The exporter's read of the file is audited, and its DSLs see it among its readers.
    (read_entry,) = await _audited("safeguarding.concern_exported")
    assert read_entry.actor_id == world.login(Role.SCHOOL_ADMIN).staff_id
    readers = await client.get(
        f"/api/v1/concerns/{request['concern_id']}/readers", headers=request["dsl"]
    )
    assert "subject_access" in {r["part"] for r in readers.json()}

    again = await client.post(
        _url(request, "/safeguarding-release"), json={"reason": REASON}, headers=request["dsl"]
    )
    assert_problem(again, 409, "safeguarding-already-released")


async def test_nobody_but_a_dsl_releases_and_they_are_told_404_as_for_a_concern(
    client: httpx.AsyncClient, world: World
) -> None:
    request = await _a_request(client, world)
    release = _url(request, "/safeguarding-release")
    missing_concern = await client.get(f"/api/v1/concerns/{uuid4()}", headers=request["admin"])
    as_for_a_concern = assert_problem(missing_concern, 404)["type"]
    callers = [
        request["admin"],
        await bearer(world.login(Role.TRUST_ADMIN)),
        await bearer(world.login(Role.TEACHER)),
        await bearer(world.login(Role.OFFICE)),
        await bearer(world.login(Role.DSL, school=1)),  # a DSL of another school of the trust
        await bearer(world.login(Role.TRUST_ADMIN, trust=1)),
    ]
    for headers in callers:
        before = await all_rows()
        refused = await client.post(release, json={"reason": REASON}, headers=headers)
        assert assert_problem(refused, 404)["type"] == as_for_a_concern
        assert await all_rows() == before
    # A DSL asking about a request that does not exist hears the same.
    nothing = await client.post(
        f"/api/v1/subject-access-requests/{uuid4()}/safeguarding-release",
        json={"reason": REASON},
        headers=request["dsl"],
    )
    assert assert_problem(nothing, 404)["type"] == as_for_a_concern
    # The trust's DSL may release, as they may read the school's concerns.
    trust_dsl = await bearer(world.login(Role.TRUST_DSL))
    done = await client.post(release, json={"reason": REASON}, headers=trust_dsl)
    assert done.status_code == 200, done.text


async def test_another_schools_admin_sees_no_request_and_no_pupil(
    client: httpx.AsyncClient, world: World
) -> None:
    request = await _a_request(client, world)
    for headers in (
        await bearer(world.login(Role.SCHOOL_ADMIN, school=1)),
        await bearer(world.login(Role.TRUST_ADMIN, trust=1)),
    ):
        before = await all_rows()
        assert_problem(await client.get(_url(request), headers=headers), 404)
        assert_problem(await client.get(_url(request, "/export"), headers=headers), 404)
        recorded = await client.post(
            f"/api/v1/pupils/{request['pupil_id']}/subject-access-requests",
            json={"requester": "pupil", "requester_name": "Yusuf", "received_date": "2026-10-01"},
            headers=headers,
        )
        assert_problem(recorded, 404)
        assert await all_rows() == before
    # The school's teachers are refused the request and its export.
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(await client.get(_url(request), headers=teacher), 403)
    assert_problem(await client.get(_url(request, "/export"), headers=teacher), 403)


async def test_a_request_missing_who_asked_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    request = await _a_request(client, world)
    before = await all_rows()
    refused = await client.post(
        f"/api/v1/pupils/{request['pupil_id']}/subject-access-requests",
        json={"requester": "neighbour", "received_date": "2026-10-01", "extra": 1},
        headers=request["admin"],
    )
    problem = assert_problem(refused, 422)
    assert {"#/requester", "#/requester_name", "#/extra"} <= {
        e["pointer"] for e in problem["errors"]
    }
    assert await all_rows() == before
