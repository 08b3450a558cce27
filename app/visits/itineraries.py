"""Each adult's days in order: times, addresses, travel legs, the children, the family's first
contact and access needs, and the other adults. Addresses reach only the visiting adults and SLT."""

import math
from collections import defaultdict
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.london import local_time
from app.core.permissions import Permission
from app.core.principal import Principal
from app.programmes import duties
from app.programmes.repository import ProgrammeRepository
from app.roster.models import Household
from app.scheduling.repository import SchedulingRepository
from app.scheduling.solver.problem import Location, TravelSettings
from app.scheduling.solver.travel import travel_tenths
from app.trusts.models import School
from app.visits.models import Visit, VisitLocation
from app.visits.repository import ItineraryRepository
from app.visits.schemas import (
    Itinerary,
    ItineraryAdult,
    ItineraryChild,
    ItineraryDay,
    ItineraryStop,
)


async def itinerary(
    session: AsyncSession, who: Principal, programme_id: UUID, staff_id: UUID
) -> Itinerary:
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(programme_id, Permission.VISITS_READ)
    if staff_id != who.id:
        programmes.permit(programme, Permission.PROGRAMMES_MANAGE)
    repository = ItineraryRepository(session)
    visits = await repository.visits_of_adult(programme.id, staff_id)
    stops = await _stops(repository, programme.id, programme.school_id, visits, staff_id)
    by_day: dict[str, list[ItineraryStop]] = defaultdict(list)
    for stop in stops:
        by_day[local_time(stop.starts_at).date().isoformat()].append(stop)
    rota = {d.day.isoformat(): d for d in (await duties.rota_of(session, who, programme)).days}
    return Itinerary(
        programme_id=programme.id,
        staff_id=staff_id,
        days=[
            ItineraryDay(
                day=day,
                stops=found,
                travel_minutes=sum(s.travel_minutes for s in found),
                safety_contact=rota[day].safety_contact if day in rota else None,
                dsl_on_call=rota[day].dsl_on_call if day in rota else None,
            )
            for day, found in sorted(by_day.items())
        ],
    )


async def _stops(
    repository: ItineraryRepository,
    programme_id: UUID,
    school_id: UUID,
    visits: list[Visit],
    staff_id: UUID,
) -> list[ItineraryStop]:
    ids, homes = [v.id for v in visits], [v.household_id for v in visits]
    scheduling = SchedulingRepository(repository.session)
    households = await scheduling.households(homes)
    contacts = await repository.first_contacts(homes)
    answers = await repository.answers(programme_id, homes)
    children = await repository.children(ids)
    adults = await repository.adults(ids)
    school = await scheduling.school(school_id)
    stops, previous, day = [], _school_location(school), None
    for visit in visits:
        here = _location(visit, households[visit.household_id], school)
        today = local_time(visit.starts_at).date()
        if today != day:
            previous, day = _school_location(school), today
        contact, answer = contacts.get(visit.household_id), answers.get(visit.household_id)
        stops.append(
            ItineraryStop(
                visit_id=visit.id,
                starts_at=visit.starts_at,
                ends_at=visit.ends_at,
                local_start=local_time(visit.starts_at).strftime("%H:%M"),
                local_end=local_time(visit.ends_at).strftime("%H:%M"),
                location=visit.location,
                address=_address(visit, households[visit.household_id], school),
                postcode=here.postcode,
                travel_minutes=math.ceil(travel_tenths(previous, here, TravelSettings()) / 10),
                children=[
                    ItineraryChild(first_name=n, class_name=c) for n, c in children[visit.id]
                ],
                contact_name=contact.name if contact else None,
                contact_mobile=contact.mobile if contact else None,
                interpreter_language=answer.interpreter_language if answer else None,
                accessibility=answer.accessibility if answer else None,
                notes_for_visitors=answer.notes_for_visitors if answer else None,
                with_adults=[
                    ItineraryAdult(staff_id=s, name=n, role=r)
                    for s, n, r in adults[visit.id]
                    if s != staff_id
                ],
                status=visit.status,
            )
        )
        previous = here
    return stops


def _school_location(school: School) -> Location:
    return Location(school.postcode, school.latitude, school.longitude)


def _location(visit: Visit, home: Household, school: School) -> Location:
    if visit.location is VisitLocation.HOME and home.postcode is not None:
        return Location(home.postcode, home.latitude, home.longitude)
    # A home visit is only planned to a home with an address (the scheduler gives an
    # address-less household no options); the school stands in should one lose it.
    return _school_location(school)


def _address(visit: Visit, home: Household, school: School) -> str:
    if visit.location is VisitLocation.HOME:
        parts = [home.address_line1, home.address_line2, home.town, home.postcode]
    else:
        parts = [school.name, school.address_line1, school.town, school.postcode]
    return ", ".join(p for p in parts if p)
