from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response

from app.core.auth import require
from app.core.concurrency import IfMatch, etag, set_etag
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.models import FIRST_VERSION
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.principal import Principal
from app.programmes import duties, households, service, staff_unavailability, teams, transitions
from app.programmes.schemas import (
    ClassTeamRead,
    DayDutiesRead,
    DayDutiesWrite,
    DutyRotaRead,
    ExemptionSet,
    HouseholdInScope,
    ProgrammeCreate,
    ProgrammeRead,
    ProgrammeUpdate,
    SecondAdultsRead,
    SecondAdultsWrite,
    SlotRead,
    TeamWrite,
    Transition,
)
from app.staff.schemas import NamedUnavailabilityRead

schools = APIRouter(prefix="/schools", tags=["programmes"], route_class=IdempotentRoute)
programmes = APIRouter(prefix="/programmes", tags=["programmes"], route_class=IdempotentRoute)

Reader = Annotated[Principal, require(P.PROGRAMMES_READ)]
Manager = Annotated[Principal, require(P.PROGRAMMES_MANAGE)]


@schools.post(
    "/{school_id}/programmes",
    status_code=201,
    summary="Open a draft visit programme; its slot grid is generated from the settings",
)
async def create_programme(
    school_id: UUID, body: ProgrammeCreate, session: SessionDep, response: Response, who: Manager
) -> ProgrammeRead:
    """The slots are cut from each visit day's window (`day_starts` to `day_ends`, Europe/London
    time) in visits of `slot_minutes` (the trust's visit length unless given), with
    `travel_buffer_minutes` between them, skipping the breaks. Visit days in the past or outside
    the academic year, and an answer window closing on or after the first visit day, are
    refused (422, each named). One programme per name and academic year at a school. Open it
    to families with a transition to `collecting`."""
    created = await service.create(session, who, school_id, body)
    response.headers["ETag"] = etag(created.id, FIRST_VERSION)
    return created


@schools.get("/{school_id}/programmes", summary="The school's visit programmes, newest first")
async def list_programmes(
    school_id: UUID, session: SessionDep, page: PageDep, who: Reader
) -> Page[ProgrammeRead]:
    items, cursor = await service.list_for_school(session, who, school_id, page)
    return Page(items=items, next_cursor=cursor)


@programmes.get("/{programme_id}", summary="A visit programme")
async def get_programme(
    programme_id: UUID, session: SessionDep, response: Response, who: Reader
) -> ProgrammeRead:
    programme = await service.get(session, who, programme_id)
    set_etag(response, programme)
    return await service.describe(session, who, programme)


@programmes.patch(
    "/{programme_id}",
    summary="Change a programme's settings (the grid and scope only while it is a draft)",
)
async def update_programme(
    programme_id: UUID,
    body: ProgrammeUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Manager,
) -> ProgrammeRead:
    programme = await service.update(session, who, programme_id, body, if_match)
    set_etag(response, programme)
    return await service.describe(session, who, programme)


@programmes.post(
    "/{programme_id}/transitions",
    summary="Move the programme to its next status (draft → collecting → scheduling → "
    "published → in_progress → closed), or a published one back to scheduling with a reason "
    "before its first visit day; If-Match required",
)
async def transition_programme(
    programme_id: UUID,
    body: Transition,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Manager,
) -> ProgrammeRead:
    """Send the programme's `ETag` as `If-Match`. One step forward at a time (409 otherwise).
    Collecting needs a `preferences_close_at` in the future and at least one slot, and warns of
    classes with more families than their adults can visit. Publishing needs a schedule that
    reaches every family, or SLT's acknowledgement of each family left without a visit. A
    published programme goes back to scheduling, with a reason, until its first visit day."""
    programme, described = await transitions.change_status(
        session, who, programme_id, body, if_match
    )
    set_etag(response, programme)
    return described


@programmes.get("/{programme_id}/slots", summary="The slot grid, in time order")
async def list_slots(
    programme_id: UUID, session: SessionDep, page: PageDep, who: Reader
) -> Page[SlotRead]:
    items, cursor = await service.list_slots(session, who, programme_id, page)
    return Page(items=items, next_cursor=cursor)


@programmes.get(
    "/{programme_id}/households",
    summary="Households in scope, a page at a time: every on-roll household with a pupil in a "
    "year group in scope, with its family name, address (for those who may see it) and children",
)
async def list_households_in_scope(
    programme_id: UUID, session: SessionDep, page: PageDep, who: Reader
) -> Page[HouseholdInScope]:
    items, cursor = await households.households_in_scope(session, who, programme_id, page)
    return Page(items=items, next_cursor=cursor)


@programmes.put(
    "/{programme_id}/households/{household_id}/exemption",
    summary="Exempt a household, or offer it a neutral venue (SLT; with a reason)",
)
async def set_exemption(
    programme_id: UUID, household_id: UUID, body: ExemptionSet, session: SessionDep, who: Manager
) -> HouseholdInScope:
    return await households.set_exemption(session, who, programme_id, household_id, body)


@programmes.delete(
    "/{programme_id}/households/{household_id}/exemption",
    status_code=204,
    summary="Withdraw an exemption or neutral-venue offer",
)
async def clear_exemption(
    programme_id: UUID, household_id: UUID, session: SessionDep, who: Manager
) -> Response:
    await households.clear_exemption(session, who, programme_id, household_id)
    return Response(status_code=204)


@programmes.get(
    "/{programme_id}/teams",
    summary="Each class in scope with its team, the MIS's suggested teachers and what is missing",
)
async def list_teams(programme_id: UUID, session: SessionDep, who: Reader) -> list[ClassTeamRead]:
    return await teams.list_teams(session, who, programme_id)


@programmes.put(
    "/{programme_id}/teams/{class_id}",
    summary="Set a class's team: one or two teachers and a second adult, all trained (SLT)",
)
async def set_team(
    programme_id: UUID, class_id: UUID, body: TeamWrite, session: SessionDep, who: Manager
) -> ClassTeamRead:
    return await teams.set_team(session, who, programme_id, class_id, body)


@programmes.get("/{programme_id}/second-adults", summary="The pool of trained second adults")
async def get_second_adults(
    programme_id: UUID, response: Response, session: SessionDep, who: Reader
) -> SecondAdultsRead:
    pool = await teams.get_pool(session, who, programme_id)
    response.headers["ETag"] = teams.pool_etag(programme_id, pool)
    return pool


@programmes.put(
    "/{programme_id}/second-adults",
    summary="Replace the pool of second adults (SLT)",
    description="Send `If-Match` with the ETag you read to be sure you replace the pool you saw "
    "(412 if a colleague has changed it since); without it the pool is replaced as it stands.",
)
async def set_second_adults(
    programme_id: UUID,
    body: SecondAdultsWrite,
    response: Response,
    session: SessionDep,
    who: Manager,
    if_match: IfMatch,
) -> SecondAdultsRead:
    pool = await teams.set_pool(session, who, programme_id, body, if_match)
    response.headers["ETag"] = teams.pool_etag(programme_id, pool)
    return pool


@programmes.get(
    "/{programme_id}/staff-unavailability",
    summary="Periods the school's staff cannot visit that overlap the programme's visit days",
)
async def list_staff_unavailability(
    programme_id: UUID, session: SessionDep, page: PageDep, who: Manager
) -> Page[NamedUnavailabilityRead]:
    items, cursor = await staff_unavailability.for_programme(session, who, programme_id, page)
    return Page(items=items, next_cursor=cursor)


@programmes.get(
    "/{programme_id}/duty-rota",
    summary="Each visit day's safety contact and on-call designated safeguarding lead",
)
async def get_duty_rota(programme_id: UUID, session: SessionDep, who: Reader) -> DutyRotaRead:
    """Every visit day in order, with what is still unnamed. Safety alerts for overdue visits
    go to the day's safety contact first, then the office, then SLT."""
    return await duties.get_rota(session, who, programme_id)


@programmes.put(
    "/{programme_id}/duty-rota/{day}",
    summary="Name one visit day's safety contact, on-call DSL and deputies (SLT)",
)
async def set_day_duties(
    programme_id: UUID, day: date, body: DayDutiesWrite, session: SessionDep, who: Manager
) -> DayDutiesRead:
    """Replaces the day's names. The safety contact is an office or SLT member of the school;
    the on-call DSL and deputies hold the school's `dsl` role or the trust's `trust_dsl`; each
    active (422 naming the field otherwise). 404 for a date that is not a visit day; 409 once
    the programme is closed."""
    return await duties.set_day(session, who, programme_id, day, body)
