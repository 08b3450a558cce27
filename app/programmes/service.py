"""Running a programme: its settings and slot grid while in draft (dates that make sense, see
checks.py), how it reads, and whether a household is one it must reach. Its status moves in
transitions.py; its households are listed in households.py."""

import uuid
from collections.abc import Sequence
from datetime import date, time
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit
from app.core.bulk import insert_rows
from app.core.concurrency import save_versioned
from app.core.errors import Unprocessable
from app.core.london import local_time, london_today
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.programmes.checks import Proposed, refuse_senseless, setting_warnings
from app.programmes.exceptions import HouseholdNotInScope, NotInDraft, ProgrammeNameTaken
from app.programmes.grid import Break, slot_grid
from app.programmes.models import HouseholdExemption, ProgrammeStatus, Slot, VisitProgramme
from app.programmes.repository import ProgrammeRepository, clear_slots
from app.programmes.schemas import (
    ProgrammeCreate,
    ProgrammeRead,
    ProgrammeUpdate,
    ProgrammeWarning,
    SlotRead,
    check_coherent,
)
from app.roster.households import move_programme_rows
from app.roster.repository import HouseholdRepository
from app.trusts.models import Trust
from app.trusts.repository import SchoolRepository

# Settings that shape the grid or the scope; they change only while the programme is a draft.
DRAFT_ONLY = frozenset(
    {
        "visit_days",
        "day_starts",
        "day_ends",
        "slot_minutes",
        "travel_buffer_minutes",
        "breaks",
        "year_groups",
        "max_visits_per_adult_per_day",
        "preferences_open_at",
    }
)
GRID_FIELDS = frozenset(
    {"visit_days", "day_starts", "day_ends", "slot_minutes", "travel_buffer_minutes", "breaks"}
)


async def create(
    session: AsyncSession, who: Principal, school_id: UUID, body: ProgrammeCreate
) -> ProgrammeRead:
    school = await SchoolRepository(session, who).get_permitted(
        school_id, Permission.PROGRAMMES_MANAGE
    )
    repository = ProgrammeRepository(session, who)
    taken = await session.scalar(
        repository.base_statement().where(
            col(VisitProgramme.school_id) == school.id,
            col(VisitProgramme.academic_year) == body.academic_year,
            col(VisitProgramme.name) == body.name,
        )
    )
    if taken is not None:
        raise ProgrammeNameTaken(
            f"This school already has a programme '{body.name}' for {body.academic_year}."
        )
    refuse_senseless(
        Proposed(
            academic_year=body.academic_year,
            visit_days=list(body.visit_days),
            preferences_close_at=body.preferences_close_at,
            year_groups=[str(y) for y in body.year_groups],
            changed=frozenset(
                {"academic_year", "visit_days", "preferences_close_at", "year_groups"}
            ),
        ),
        school,
        london_today(),
    )
    trust = await session.get(Trust, school.trust_id)  # tenancy: the school's own trust
    assert trust is not None
    values = body.model_dump(exclude={"visit_days", "breaks", "year_groups"})
    programme = VisitProgramme(
        trust_id=school.trust_id,
        school_id=school.id,
        **values,
        visit_days=sorted(d.isoformat() for d in body.visit_days),
        breaks=[_break_json(b.starts, b.ends) for b in body.breaks],
        year_groups=[str(y) for y in body.year_groups],
    )
    programme.slot_minutes = body.slot_minutes or trust.default_visit_minutes
    programme.max_visits_per_adult_per_day = (
        body.max_visits_per_adult_per_day or trust.default_max_visits_per_day
    )
    session.add(programme)
    await session.flush()
    await _regenerate_slots(session, programme)
    await audit.record(
        session,
        who,
        "programme.create",
        subject_type="visit_programme",
        subject_id=programme.id,
        school_id=school.id,
    )
    return await describe(session, who, programme)


def _break_json(starts: Any, ends: Any) -> dict[str, str]:
    return {
        "starts": starts.isoformat(timespec="minutes"),
        "ends": ends.isoformat(timespec="minutes"),
    }


async def _regenerate_slots(session: AsyncSession, programme: VisitProgramme) -> None:
    await clear_slots(session, programme.id)
    grid = slot_grid(
        programme.days(),
        day_starts=programme.day_starts,
        day_ends=programme.day_ends,
        slot_minutes=programme.slot_minutes,
        travel_buffer_minutes=programme.travel_buffer_minutes,
        breaks=[
            Break(time.fromisoformat(b["starts"]), time.fromisoformat(b["ends"]))
            for b in programme.breaks
        ],
    )
    rows = [
        {
            "id": uuid.uuid4(),
            "trust_id": programme.trust_id,
            "school_id": programme.school_id,
            "programme_id": programme.id,
            "day": slot.day,
            "starts_at": slot.starts_at,
            "ends_at": slot.ends_at,
        }
        for slot in grid
    ]
    await insert_rows(session, Slot.__table__, rows)  # type: ignore[attr-defined]


async def describe(
    session: AsyncSession,
    who: Principal,
    programme: VisitProgramme,
    warnings: Sequence[ProgrammeWarning] = (),
) -> ProgrammeRead:
    counts = await ProgrammeRepository(session, who).slot_counts([programme.id])
    return _read(programme, counts.get(programme.id, 0), warnings)


def _read(
    programme: VisitProgramme, slot_count: int, warnings: Sequence[ProgrammeWarning] = ()
) -> ProgrammeRead:
    days = programme.days()
    return ProgrammeRead.model_validate(
        programme,
        update={
            "visit_days": days,
            "slot_count": slot_count,
            "warnings": [*setting_warnings(days), *warnings],
        },
    )


async def get(session: AsyncSession, who: Principal, programme_id: UUID) -> VisitProgramme:
    return await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_READ
    )


async def list_for_school(
    session: AsyncSession, who: Principal, school_id: UUID, page: PageParams
) -> tuple[list[ProgrammeRead], str | None]:
    school = await SchoolRepository(session, who).get_permitted(
        school_id, Permission.PROGRAMMES_READ
    )
    repository = ProgrammeRepository(session, who)
    statement = repository.base_statement().where(col(VisitProgramme.school_id) == school.id)
    keys = [
        SortKey(VisitProgramme.academic_year, descending=True),
        SortKey(VisitProgramme.id, descending=True),
    ]
    rows, cursor = await paginate(session, statement, page, keys)
    counts = await repository.slot_counts([p.id for p in rows])
    return [_read(p, counts.get(p.id, 0)) for p in rows], cursor


async def update(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    body: ProgrammeUpdate,
    if_match: str | None,
) -> VisitProgramme:
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_MANAGE
    )
    changes = body.changes()
    locked = DRAFT_ONLY & set(changes)
    if locked and programme.status is not ProgrammeStatus.DRAFT:
        raise NotInDraft(
            f"{', '.join(sorted(locked))} can change only while the programme is a draft; "
            f"it is {programme.status}."
        )
    if "visit_days" in changes:
        changes["visit_days"] = sorted(d.isoformat() for d in body.visit_days or [])
    if "breaks" in changes:
        changes["breaks"] = [_break_json(b.starts, b.ends) for b in body.breaks or []]
    if "year_groups" in changes:
        changes["year_groups"] = [str(y) for y in body.year_groups or []]
    merged = {**_current(programme), **changes}
    days = [date.fromisoformat(d) for d in merged["visit_days"]]
    try:
        check_coherent(
            days,
            merged["day_starts"],
            merged["day_ends"],
            merged["preferences_open_at"],
            merged["preferences_close_at"],
        )
    except ValueError as exc:
        raise Unprocessable(str(exc)) from None
    refuse_senseless(
        Proposed(
            academic_year=programme.academic_year,
            visit_days=list(body.visit_days) if body.visit_days is not None else days,
            preferences_close_at=merged["preferences_close_at"],
            year_groups=[str(y) for y in body.year_groups or []],
            changed=frozenset(changes),
        ),
        await SchoolRepository(session, who).get(programme.school_id),
        london_today(),
    )
    await save_versioned(session, programme, changes, if_match)
    if GRID_FIELDS & set(changes):
        await _regenerate_slots(session, programme)
    return programme


def _current(programme: VisitProgramme) -> dict[str, Any]:
    return {
        "visit_days": programme.visit_days,
        "day_starts": programme.day_starts,
        "day_ends": programme.day_ends,
        "preferences_open_at": programme.preferences_open_at,
        "preferences_close_at": programme.preferences_close_at,
    }


async def list_slots(
    session: AsyncSession, who: Principal, programme_id: UUID, page: PageParams
) -> tuple[list[SlotRead], str | None]:
    repository = ProgrammeRepository(session, who)
    programme = await repository.get_permitted(programme_id, Permission.PROGRAMMES_READ)
    rows, cursor = await paginate(
        session, repository.slots(programme.id), page, [SortKey(Slot.starts_at), SortKey(Slot.id)]
    )
    items = [
        SlotRead.model_validate(
            s, update={"local_start": local_time(s.starts_at).strftime("%H:%M")}
        )
        for s in rows
    ]
    return items, cursor


async def follow_household_merge(session: AsyncSession, from_id: UUID, to_id: UUID) -> None:
    await move_programme_rows(session, HouseholdExemption, from_id, to_id)


async def ensure_household_in_scope(
    session: AsyncSession, who: Principal, programme: VisitProgramme, household_id: UUID
) -> None:
    """404 for a household the caller cannot see; 409 for one the programme does not reach."""
    await HouseholdRepository(session, who).get(household_id)
    reached = await ProgrammeRepository(session, who).in_scope(programme, household_id)
    if not reached:
        raise HouseholdNotInScope(
            "That household has no pupil in this programme's year groups; check its children's "
            "classes in the roster."
        )
