"""Building blocks for the parent journey: a collecting programme, invitations, parent tokens."""

from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select, update

from app.core import db
from app.core.permissions import Role
from app.core.sealing import seal
from app.core.tenancy import NO_SCOPE, system_scope
from app.parents import codes
from app.parents import sessions as parent_sessions
from app.parents.models import Invitation
from app.programmes.models import ProgrammeStatus, Slot, VisitProgramme
from app.roster.models import Pupil
from app.synthetic.dates import ACADEMIC_YEAR
from app.synthetic.generator import World
from tests.conftest import bearer, load_roster
from tests.programmes.test_programmes import TUESDAY, move, new_programme, programmes_url
from tests.roster.snapshots import small_snapshot


async def collecting_programme(
    client: httpx.AsyncClient, world: World, **overrides: Any
) -> dict[str, Any]:
    """The small roster, and a Reception programme open for answers (F-1 and F-2 in scope)."""
    await load_roster(world, small_snapshot(world))
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    created = await client.post(
        programmes_url(world), json=new_programme(**overrides), headers=admin
    )
    assert created.status_code == 201, created.text
    moved = await move(client, created.json()["id"], admin, "collecting")
    assert moved.status_code == 200, moved.text
    return dict(moved.json())


async def household_of(pupil_mis_id: str) -> UUID:
    async with db.open_session(system_scope("test lookup")) as session:
        found: UUID | None = await session.scalar(
            select(Pupil.household_id).where(col(Pupil.mis_id) == pupil_mis_id)
        )
    assert found is not None
    return found


async def invitation_code(
    client: httpx.AsyncClient, world: World, programme_id: str, household_id: UUID
) -> str:
    """Issue (or re-issue) the household's invitation as the office and return its code."""
    office = await bearer(world.login(Role.OFFICE))
    issued = await client.post(
        f"/api/v1/programmes/{programme_id}/households/{household_id}/invitation", headers=office
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["code"])


async def parent_headers(client: httpx.AsyncClient, code: str) -> dict[str, str]:
    started = await client.post("/api/v1/parent/sessions", json={"code": code})
    assert started.status_code == 201, started.text
    return {"Authorization": f"Bearer {started.json()['access_token']}"}


def answer_url(programme_id: str, household_id: UUID) -> str:
    return f"/api/v1/parent/programmes/{programme_id}/households/{household_id}/answer"


async def slot_ids(
    client: httpx.AsyncClient, headers: dict[str, str], programme_id: str
) -> list[str]:
    view = await client.get(f"/api/v1/parent/programmes/{programme_id}", headers=headers)
    assert view.status_code == 200, view.text
    return [s["slot_id"] for day in view.json()["days"] for s in day["slots"]]


async def close_window(programme_id: str) -> None:
    async with db.open_session(system_scope("test: the window closes")) as session:
        await session.execute(
            update(VisitProgramme)
            .where(col(VisitProgramme.id) == UUID(programme_id))
            .values(preferences_close_at=datetime.now(UTC) - timedelta(minutes=1))
        )


async def expire_invitations() -> None:
    async with db.open_session(system_scope("test: invitations expire")) as session:
        await session.execute(
            update(Invitation).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


async def a_collecting_programme(world: World) -> UUID:
    """A Reception programme of school 0 collecting answers, with one slot (no API calls)."""
    school = world.trusts[0].schools[0]
    closes = datetime.now(UTC) + timedelta(days=30)
    async with db.open_session(system_scope("test programme")) as session:
        programme = VisitProgramme(
            trust_id=school.trust_id,
            school_id=school.id,
            name="Collecting programme",
            academic_year=ACADEMIC_YEAR,
            visit_days=[TUESDAY.isoformat()],
            day_starts=time(9, 0),
            day_ends=time(12, 0),
            slot_minutes=45,
            travel_buffer_minutes=15,
            year_groups=["R"],
            max_visits_per_adult_per_day=10,
            preferences_close_at=closes,
            status=ProgrammeStatus.COLLECTING,
        )
        session.add(programme)
        await session.flush()
        session.add(
            Slot(
                trust_id=school.trust_id,
                school_id=school.id,
                programme_id=programme.id,
                day=TUESDAY,
                starts_at=datetime.combine(TUESDAY, time(8, 0), tzinfo=UTC),  # 09:00 BST
                ends_at=datetime.combine(TUESDAY, time(8, 45), tzinfo=UTC),
            )
        )
    return programme.id


async def parent_bearer(programme_id: UUID, household_id: UUID) -> dict[str, str]:
    """A parent signed in with a real invitation code, through the real exchange."""
    async with db.open_session(system_scope("test parent")) as session:
        programme = await session.get(VisitProgramme, programme_id)
        assert programme is not None
        code = codes.new_code()
        session.add(
            Invitation(
                trust_id=programme.trust_id,
                school_id=programme.school_id,
                programme_id=programme.id,
                household_id=household_id,
                code_digest=codes.code_digest(code),
                code_sealed=seal(code),
                expires_at=datetime.now(UTC) + timedelta(days=30),
            )
        )
    async with db.open_session(NO_SCOPE) as session:  # as a request: nobody signed in yet
        started = await parent_sessions.start(session, code=code, ip_address="192.0.2.1")
    return {"Authorization": f"Bearer {started.access_token}"}
