"""What a parent sees and does: their children (first names and classes), the programme's days and
slots, and their answer. A parent principal reaches one household in one programme; any other id
answers exactly as a missing one does."""

from collections import defaultdict
from datetime import date
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.london import local_time
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import utcnow
from app.parents import answers
from app.parents import answers_repository as repository
from app.parents.answers_schemas import AnswerRead, AnswerWrite
from app.parents.exceptions import WindowClosed
from app.parents.repository import answer_target
from app.parents.schemas import (
    ParentWhoAmI,
    PortalChild,
    PortalDay,
    PortalHousehold,
    PortalProgramme,
    PortalSlot,
)
from app.programmes.models import VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.roster.repository import HouseholdRepository
from app.trusts.models import School
from app.trusts.repository import SchoolRepository


async def _own_household(session: AsyncSession, who: Principal, household_id: UUID) -> None:
    repository = HouseholdRepository(session, who)
    if household_id != who.household_id:
        raise repository.not_found(household_id)
    await repository.get(household_id)


async def _school(session: AsyncSession, who: Principal, programme: VisitProgramme) -> School:
    return await SchoolRepository(session, who).get(programme.school_id)


async def whoami(session: AsyncSession, who: Principal) -> ParentWhoAmI:
    assert who.programme_id is not None
    assert who.household_id is not None
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(who.programme_id, Permission.PARENT_PORTAL)
    school = await _school(session, who, programme)
    return ParentWhoAmI(
        programme_id=programme.id,
        household_id=who.household_id,
        school_name=school.name,
        programme_name=programme.name,
    )


async def programme_view(
    session: AsyncSession, who: Principal, programme_id: UUID
) -> PortalProgramme:
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(programme_id, Permission.PARENT_PORTAL)
    school = await _school(session, who, programme)
    by_day: dict[date, list[PortalSlot]] = defaultdict(list)
    for slot in await repository.slots_of(session, programme.id):
        by_day[slot.day].append(
            PortalSlot(
                slot_id=slot.id,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                local_start=local_time(slot.starts_at).strftime("%H:%M"),
                local_end=local_time(slot.ends_at).strftime("%H:%M"),
            )
        )
    try:
        answers.ensure_parent_window(answers.ProgrammeWindow.of(programme), utcnow())
        accepting = True
    except WindowClosed:
        accepting = False
    return PortalProgramme(
        programme_id=programme.id,
        name=programme.name,
        school_name=school.name,
        status=programme.status,
        preferences_close_at=programme.preferences_close_at,
        accepting_answers=accepting,
        days=[PortalDay(day=day, slots=slots) for day, slots in sorted(by_day.items())],
    )


async def household_view(
    session: AsyncSession, who: Principal, household_id: UUID
) -> PortalHousehold:
    await _own_household(session, who, household_id)
    assert who.programme_id is not None
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(who.programme_id, Permission.PARENT_PORTAL)
    school = await _school(session, who, programme)
    children = await repository.children_in_scope(session, programme, [household_id])
    return PortalHousehold(
        household_id=household_id,
        school_name=school.name,
        children=[
            PortalChild(first_name=c.first_name, class_name=c.class_name, year_group=c.year_group)
            for c in children
        ],
    )


async def read_answer(
    session: AsyncSession, who: Principal, programme_id: UUID, household_id: UUID
) -> AnswerRead:
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(programme_id, Permission.PARENT_PORTAL)
    await _own_household(session, who, household_id)
    return await answers.read(session, programme, household_id)


async def save_answer(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    household_id: UUID,
    body: AnswerWrite,
) -> AnswerRead:
    """The parent's PUT, a hot path: what `read_answer` loads, in one lean round trip."""
    if programme_id != who.programme_id:
        raise ProgrammeRepository(session, who).not_found(programme_id)
    (school_id,) = who.scope.school_ids or (None,)
    found = None
    if school_id is not None:
        found = await answer_target(session, programme_id, household_id, school_id)
    if found is None:
        raise ProgrammeRepository(session, who).not_found(programme_id)
    if household_id != who.household_id or not found.household_found:
        raise HouseholdRepository(session, who).not_found(household_id)
    programme = answers.ProgrammeWindow.of(found)
    answers.ensure_parent_window(programme, utcnow())
    return await answers.save(session, programme, household_id, body, entered_by_staff=None)
