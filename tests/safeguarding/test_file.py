"""The pupil's child protection file, the trust's counts (suppressed when small) and elevated
access to old closed concerns (a fresh sign-in)."""

from datetime import UTC, datetime, time, timedelta
from uuid import UUID

import httpx
from sqlmodel import col, select, update

from app.core import db
from app.core.audit import AuditEntry
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.safeguarding.models import (
    ChronologyEntry,
    ChronologyEntryKind,
    Concern,
    ConcernCategory,
    ConcernStatus,
    ConcernUrgency,
)
from app.staff.models import AuthSession
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.parents.helpers import a_collecting_programme
from tests.programmes.test_programmes import TUESDAY
from tests.safeguarding.helpers import a_roster, concern_body
from tests.visits.helpers import pupil_of


async def test_a_pupils_file_lists_the_concerns_naming_them_for_the_dsls_only(
    client: httpx.AsyncClient, world: World
) -> None:
    first = await a_roster(world)
    second = await pupil_of("P-2")
    school_id = world.trusts[0].schools[0].id
    teacher = await bearer(world.login(Role.TEACHER))
    url = f"/api/v1/schools/{school_id}/concerns"
    raised = []
    for body in (
        concern_body(first, "routine"),
        concern_body(second, "routine")
        | {
            "pupils": [
                {"pupil_id": second, "role": "subject"},
                {"pupil_id": first, "role": "sibling"},
            ]
        },
        concern_body(second, "routine"),
    ):
        response = await client.post(url, json=body, headers=teacher)
        assert response.status_code == 201, response.text
        raised.append(response.json()["id"])

    dsl = world.login(Role.DSL)
    file = await client.get(f"/api/v1/pupils/{first}/concerns", headers=await bearer(dsl))
    assert [c["id"] for c in file.json()] == raised[:2]
    trust_dsl = await bearer(world.login(Role.TRUST_DSL))
    file = await client.get(f"/api/v1/pupils/{second}/concerns", headers=trust_dsl)
    assert [c["id"] for c in file.json()] == raised[1:]
    for role, school in ((Role.TEACHER, 0), (Role.SCHOOL_ADMIN, 0), (Role.DSL, 1)):
        other = await bearer(world.login(role, school=school))
        assert_problem(await client.get(f"/api/v1/pupils/{first}/concerns", headers=other), 404)
    async with db.open_session(system_scope("test: the audit log")) as session:
        read = await session.scalar(
            select(AuditEntry).where(
                col(AuditEntry.action) == "safeguarding.file_read",
                col(AuditEntry.actor_id) == dsl.staff_id,
            )
        )
    assert read is not None
    assert read.subject_id == UUID(first)


async def _concerns_at(world: World, when: datetime, how_many: int) -> list[UUID]:
    """Concerns of school 0 raised at `when`, written as raising writes them."""
    school = world.trusts[0].schools[0]
    raiser = world.login(Role.TEACHER).staff_id
    rows = [
        Concern(
            trust_id=school.trust_id,
            school_id=school.id,
            raised_by=raiser,
            raised_at=when,
            category=ConcernCategory.NEGLECT,
            urgency=ConcernUrgency.ROUTINE,
            account="Written by the test",
            occurred_at=when,
        )
        for _ in range(how_many)
    ]
    async with db.open_session(system_scope("test: concerns in the past")) as session:
        session.add_all(rows)
    return [r.id for r in rows]


async def test_trust_admins_see_counts_by_programme_suppressed_when_small(
    client: httpx.AsyncClient, world: World
) -> None:
    programme_id = await a_collecting_programme(world)
    during = datetime.combine(TUESDAY, time(10, 0), tzinfo=UTC)
    await _concerns_at(world, during, 9)
    await _concerns_at(world, during + timedelta(days=2), 5)  # after the programme's only day
    admin = await bearer(world.login(Role.TRUST_ADMIN))
    url = f"/api/v1/trusts/{world.trusts[0].trust.id}/concern-counts"
    (count,) = (await client.get(url, headers=admin)).json()
    assert (count["programme_id"], count["concerns"]) == (str(programme_id), None)
    await _concerns_at(world, during, 1)
    (count,) = (await client.get(url, headers=admin)).json()
    assert count["concerns"] == 10
    assert set(count) == {
        "programme_id",
        "school_id",
        "academic_year",
        "first_day",
        "last_day",
        "concerns",
    }
    slt = await bearer(world.login(Role.SCHOOL_ADMIN))
    assert_problem(await client.get(url, headers=slt), 403)
    other = await bearer(world.login(Role.TRUST_ADMIN, trust=1))
    assert_problem(await client.get(url, headers=other), 404)


async def test_an_old_closed_concern_needs_a_fresh_sign_in(
    client: httpx.AsyncClient, world: World
) -> None:
    await a_roster(world)
    (concern_id,) = await _concerns_at(world, utcnow() - timedelta(days=400), 1)
    dsl = world.login(Role.DSL)
    school = world.trusts[0].schools[0]
    async with db.open_session(system_scope("test: closed long ago")) as session:
        for status, days in ((ConcernStatus.ACKNOWLEDGED, 399), (ConcernStatus.CLOSED, 390)):
            session.add(
                ChronologyEntry(
                    trust_id=school.trust_id,
                    school_id=school.id,
                    concern_id=concern_id,
                    at=utcnow() - timedelta(days=days),
                    by=dsl.staff_id,
                    kind=ChronologyEntryKind.STATUS,
                    status=status,
                )
            )
    url = f"/api/v1/concerns/{concern_id}"
    headers = await bearer(dsl)
    assert (await client.get(url, headers=headers)).status_code == 200  # just signed in
    async with db.open_session(system_scope("test: a sign-in ten minutes old")) as session:
        await session.execute(
            update(AuthSession)
            .where(col(AuthSession.staff_id) == dsl.staff_id)
            .values(created_at=utcnow() - timedelta(minutes=10))
        )
    for part in ("", "/chronology"):
        stale = await client.get(url + part, headers=headers)
        assert_problem(stale, 403, "fresh-sign-in-required")
    assert (await client.get(url, headers=await bearer(dsl))).status_code == 200
    # An old concern still open is not held back: it is live work.
    (open_one,) = await _concerns_at(world, utcnow() - timedelta(days=400), 1)
    assert (await client.get(f"/api/v1/concerns/{open_one}", headers=headers)).status_code == 200
