"""Running a programme: its settings and slot grid while in draft, its status one step at a
time, and which households it must reach."""

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date, time
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete

from app.core import audit
from app.core.bulk import insert_rows
from app.core.concurrency import etag_of, save_versioned
from app.core.errors import Unprocessable
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import utcnow
from app.programmes.exceptions import (
    HouseholdNotInScope,
    NotInDraft,
    ProgrammeNameTaken,
    TransitionRefused,
)
from app.programmes.grid import Break, local_time, slot_grid
from app.programmes.models import (
    NEXT_STATUS,
    HouseholdExemption,
    ProgrammeStatus,
    Slot,
    VisitProgramme,
)
from app.programmes.repository import ProgrammeRepository
from app.programmes.schemas import (
    ExemptionSet,
    HouseholdInScope,
    ProgrammeCreate,
    ProgrammeRead,
    ProgrammeUpdate,
    SlotRead,
    check_coherent,
)
from app.roster.households import move_programme_rows, on_household_merge
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
    school = await SchoolRepository(session, who).get(school_id)
    who.ensure(Permission.PROGRAMMES_MANAGE, school.id)
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
    await session.execute(delete(Slot).where(col(Slot.programme_id) == programme.id))
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
    session: AsyncSession, who: Principal, programme: VisitProgramme
) -> ProgrammeRead:
    counts = await ProgrammeRepository(session, who).slot_counts([programme.id])
    return _read(programme, counts.get(programme.id, 0))


def _read(programme: VisitProgramme, slot_count: int) -> ProgrammeRead:
    return ProgrammeRead.model_validate(
        programme, update={"visit_days": programme.days(), "slot_count": slot_count}
    )


async def get(session: AsyncSession, who: Principal, programme_id: UUID) -> VisitProgramme:
    programme = await ProgrammeRepository(session, who).get(programme_id)
    who.ensure(Permission.PROGRAMMES_READ, programme.school_id)
    return programme


async def list_for_school(
    session: AsyncSession, who: Principal, school_id: UUID, page: PageParams
) -> tuple[list[ProgrammeRead], str | None]:
    school = await SchoolRepository(session, who).get(school_id)
    who.ensure(Permission.PROGRAMMES_READ, school.id)
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
    programme = await ProgrammeRepository(session, who).get(programme_id)
    who.ensure(Permission.PROGRAMMES_MANAGE, programme.school_id)
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
    try:
        check_coherent(
            [date.fromisoformat(d) for d in merged["visit_days"]],
            merged["day_starts"],
            merged["day_ends"],
            merged["preferences_open_at"],
            merged["preferences_close_at"],
        )
    except ValueError as exc:
        raise Unprocessable(str(exc)) from None
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


# Areas that act when a programme reaches a status (scheduling confirms its visits on publish)
# register here, so programmes need not know them. A hook may refuse by raising.
TransitionHook = Callable[[AsyncSession, VisitProgramme], Awaitable[None]]
_transition_hooks: dict[ProgrammeStatus, list[TransitionHook]] = defaultdict(list)


def on_transition(status: ProgrammeStatus) -> Callable[[TransitionHook], TransitionHook]:
    def register(hook: TransitionHook) -> TransitionHook:
        _transition_hooks[status].append(hook)
        return hook

    return register


async def transition(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    to: ProgrammeStatus,
    if_match: str | None,
) -> VisitProgramme:
    programme = await ProgrammeRepository(session, who).get(programme_id)
    who.ensure(Permission.PROGRAMMES_MANAGE, programme.school_id)
    expected = NEXT_STATUS.get(programme.status)
    if to != expected:
        after = f"only to {expected}" if expected else "no further"
        raise TransitionRefused(f"A {programme.status} programme moves {after}, not to {to}.")
    if to is ProgrammeStatus.COLLECTING:
        await _ensure_ready_to_collect(session, who, programme)
    for hook in _transition_hooks[to]:
        await hook(session, programme)
    # If-Match is optional here: the step is checked against the status just read, and the
    # row version still guards the update against a change made in between.
    await save_versioned(session, programme, {"status": to}, if_match or etag_of(programme))
    await audit.record(
        session,
        who,
        "programme.transition",
        subject_type="visit_programme",
        subject_id=programme.id,
        school_id=programme.school_id,
        details={"to": to.value},
    )
    return programme


async def _ensure_ready_to_collect(
    session: AsyncSession, who: Principal, programme: VisitProgramme
) -> None:
    missing = []
    if programme.preferences_close_at is None:
        missing.append("preferences_close_at")
    elif programme.preferences_close_at <= utcnow():
        missing.append("a preferences_close_at in the future")
    counts = await ProgrammeRepository(session, who).slot_counts([programme.id])
    if not counts.get(programme.id):
        missing.append("at least one slot (the daily window is shorter than a slot)")
    if missing:
        raise TransitionRefused(
            f"Before collecting preferences the programme needs {', '.join(missing)}."
        )


async def list_slots(
    session: AsyncSession, who: Principal, programme_id: UUID, page: PageParams
) -> tuple[list[SlotRead], str | None]:
    repository = ProgrammeRepository(session, who)
    programme = await repository.get(programme_id)
    who.ensure(Permission.PROGRAMMES_READ, programme.school_id)
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


async def households_in_scope(
    session: AsyncSession, who: Principal, programme_id: UUID
) -> list[HouseholdInScope]:
    repository = ProgrammeRepository(session, who)
    programme = await repository.get(programme_id)
    who.ensure(Permission.PROGRAMMES_READ, programme.school_id)
    pupils: dict[UUID, list[UUID]] = defaultdict(list)
    years: dict[UUID, set[str]] = defaultdict(set)
    for household_id, pupil_id, year in await repository.in_scope(programme):
        pupils[household_id].append(pupil_id)
        years[household_id].add(year)
    exemptions = await repository.exemptions(programme.id)
    reasons = who.can(Permission.EXEMPTION_REASONS, programme.school_id)
    return [
        _in_scope(household_id, ids, years[household_id], exemptions.get(household_id), reasons)
        for household_id, ids in pupils.items()
    ]


def _in_scope(
    household_id: UUID,
    pupil_ids: list[UUID],
    years: set[str],
    exemption: HouseholdExemption | None,
    with_reason: bool,
) -> HouseholdInScope:
    return HouseholdInScope(
        household_id=household_id,
        pupil_ids=pupil_ids,
        year_groups=sorted(years),  # type: ignore[arg-type]
        exemption=exemption.kind if exemption else None,
        exemption_reason=exemption.reason if exemption and with_reason else None,
    )


async def set_exemption(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    household_id: UUID,
    body: ExemptionSet,
) -> HouseholdInScope:
    repository = ProgrammeRepository(session, who)
    programme = await repository.get(programme_id)
    who.ensure(Permission.PROGRAMMES_MANAGE, programme.school_id)
    await ensure_household_in_scope(session, who, programme, household_id)
    existing = (await repository.exemptions(programme.id)).get(household_id)
    if existing is None:
        session.add(
            HouseholdExemption(
                trust_id=programme.trust_id,
                school_id=programme.school_id,
                programme_id=programme.id,
                household_id=household_id,
                kind=body.kind,
                reason=body.reason,
                decided_by=who.id,
            )
        )
    else:
        existing.kind, existing.reason, existing.decided_by = body.kind, body.reason, who.id
    await audit.record(
        session,
        who,
        f"programme.household_{body.kind}",
        subject_type="household",
        subject_id=household_id,
        school_id=programme.school_id,
    )
    await session.flush()
    found = [
        h
        for h in await households_in_scope(session, who, programme.id)
        if h.household_id == household_id
    ]
    return found[0]


@on_household_merge
async def _follow_merge(session: AsyncSession, from_id: UUID, to_id: UUID) -> None:
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


async def clear_exemption(
    session: AsyncSession, who: Principal, programme_id: UUID, household_id: UUID
) -> None:
    repository = ProgrammeRepository(session, who)
    programme = await repository.get(programme_id)
    who.ensure(Permission.PROGRAMMES_MANAGE, programme.school_id)
    await session.execute(
        delete(HouseholdExemption).where(
            col(HouseholdExemption.programme_id) == programme.id,
            col(HouseholdExemption.household_id) == household_id,
        )
    )
