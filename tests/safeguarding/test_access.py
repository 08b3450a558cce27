"""Need-to-know: who reads a concern (the school's DSLs and the trust's), who reads only their
receipt (its raiser), and who finds nothing at all (404, as if there were no concern); every read
audited, the readers listed to a DSL, and nothing of it in the trust's audit log."""

from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlmodel import col, select, text

from app.core import db
from app.core.audit import AuditEntry
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.synthetic.generator import World
from tests.conftest import IS_POSTGRES, assert_problem, bearer, integration_bearer
from tests.parents.helpers import a_collecting_programme, household_of, parent_bearer
from tests.safeguarding.helpers import raise_one

PARTS = ("", "/chronology", "/readers")


async def _principals(world: World) -> dict[str, dict[str, str]]:
    """The issue's access matrix: each caller's credentials."""
    programme_id = await a_collecting_programme(world)
    _, client_headers = await integration_bearer(
        world, [0], scopes=("roster:read", "roster:write", "visits:read")
    )
    return {
        "raiser": await bearer(world.login(Role.TEACHER)),
        "other_teacher": await bearer(world.login(Role.SUPPORT_STAFF)),
        "slt": await bearer(world.login(Role.SCHOOL_ADMIN)),
        "office": await bearer(world.login(Role.OFFICE)),
        "dsl": await bearer(world.login(Role.DSL)),
        "other_school_dsl": await bearer(world.login(Role.DSL, school=1)),
        "other_trust_dsl": await bearer(world.login(Role.DSL, trust=1)),
        "trust_dsl": await bearer(world.login(Role.TRUST_DSL)),
        "trust_admin": await bearer(world.login(Role.TRUST_ADMIN)),
        "platform_admin": await bearer(world.login(Role.PLATFORM_ADMIN)),
        "parent": await parent_bearer(programme_id, await household_of("P-1")),
        "integration": client_headers,
    }


READERS = {"dsl", "trust_dsl"}


async def test_each_caller_sees_exactly_what_it_should(
    client: httpx.AsyncClient, world: World
) -> None:
    receipt = await raise_one(client, world, "routine")
    url = f"/api/v1/concerns/{receipt['id']}"
    school_list = f"/api/v1/schools/{world.trusts[0].schools[0].id}/concerns"
    for name, headers in (await _principals(world)).items():
        for part in PARTS:
            response = await client.get(url + part, headers=headers)
            if name in READERS:
                assert response.status_code == 200, (name, part, response.text)
            else:
                assert_problem(response, 404)
        listed = await client.get(school_list, headers=headers)
        if name in READERS:
            assert [c["id"] for c in listed.json()["items"]] == [receipt["id"]]
        else:
            assert_problem(listed, 404)
        receipt_read = await client.get(f"{url}/receipt", headers=headers)
        if name == "raiser":
            assert receipt_read.json()["id"] == receipt["id"]
        else:
            assert_problem(receipt_read, 404)
        entry = {"kind": "status", "status": "acknowledged"}
        added = await client.post(f"{url}/chronology", json=entry, headers=headers)
        if name not in READERS:
            assert_problem(added, 404)


async def _reads(concern_id: str) -> list[AuditEntry]:
    async with db.open_session(system_scope("test: the audit log")) as session:
        rows = await session.scalars(
            select(AuditEntry)
            .where(col(AuditEntry.subject_id) == UUID(concern_id))
            .where(col(AuditEntry.action) == "safeguarding.concern_read")
            .order_by(col(AuditEntry.at))
        )
        return list(rows)


async def test_every_read_is_audited_and_a_dsl_lists_the_readers(
    client: httpx.AsyncClient, world: World
) -> None:
    receipt = await raise_one(client, world, "routine")
    url = f"/api/v1/concerns/{receipt['id']}"
    dsl = world.login(Role.DSL)
    trust_dsl = world.login(Role.TRUST_DSL)
    assert (await client.get(url, headers=await bearer(dsl))).status_code == 200
    chronology = await client.get(f"{url}/chronology", headers=await bearer(trust_dsl))
    assert chronology.status_code == 200
    # Refused reads leave nothing.
    await client.get(url, headers=await bearer(world.login(Role.SCHOOL_ADMIN)))
    reads = await _reads(receipt["id"])
    assert [(r.actor_id, r.details["part"]) for r in reads] == [
        (dsl.staff_id, "concern"),
        (trust_dsl.staff_id, "chronology"),
    ]
    for read in reads:
        assert set(read.details) == {"part"}  # ids only: no category, no words

    readers = (await client.get(f"{url}/readers", headers=await bearer(dsl))).json()
    assert [(r["actor_id"], r["part"]) for r in readers] == [
        (str(dsl.staff_id), "concern"),
        (str(trust_dsl.staff_id), "chronology"),
        (str(dsl.staff_id), "readers"),
    ]


async def test_the_trusts_audit_log_holds_no_trace_of_a_concern(
    client: httpx.AsyncClient, world: World
) -> None:
    receipt = await raise_one(client, world, "routine")
    dsl = await bearer(world.login(Role.DSL))
    assert (await client.get(f"/api/v1/concerns/{receipt['id']}", headers=dsl)).is_success
    admin = await bearer(world.login(Role.TRUST_ADMIN))
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/audit-events", headers=admin, params=params)).json()
        events += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert await _reads(receipt["id"])  # the log holds the read; the trust's view does not
    assert receipt["id"] not in str(events)
    assert not [e for e in events if e["action"].startswith("safeguarding.")]
    by_subject = await client.get(
        "/api/v1/audit-events", headers=admin, params={"subject_id": receipt["id"]}
    )
    assert by_subject.json()["items"] == []


@pytest.mark.skipif(not IS_POSTGRES, reason="the trigger is PostgreSQL's")
async def test_postgresql_refuses_update_and_delete_on_the_records(
    client: httpx.AsyncClient, world: World
) -> None:
    receipt = await raise_one(client, world, "routine")
    dsl = await bearer(world.login(Role.DSL))
    entry = {"kind": "status", "status": "acknowledged"}
    added = await client.post(
        f"/api/v1/concerns/{receipt['id']}/chronology", json=entry, headers=dsl
    )
    assert added.status_code == 201
    entry_id, concern_id = UUID(added.json()["id"]), UUID(receipt["id"])
    statements = [
        ("UPDATE chronology_entry SET text = 'rewritten' WHERE id = :id", entry_id),
        ("DELETE FROM chronology_entry WHERE id = :id", entry_id),
        ("UPDATE concern SET account = 'rewritten' WHERE id = :id", concern_id),
        ("DELETE FROM concern_pupil WHERE concern_id = :id", concern_id),
    ]
    for statement, row_id in statements:
        async with db.get_database().engine.connect() as connection:
            with pytest.raises(Exception, match="append-only"):
                await connection.execute(text(statement), {"id": row_id})
            await connection.rollback()
    read = await client.get(f"/api/v1/concerns/{receipt['id']}", headers=dsl)
    assert read.json()["account"] == receipt["account"]
    assert read.json()["status"] == "acknowledged"
