"""From the database to the solver's plain data: one programme's slots, households, teams, adults
and existing visits, as an `Instance` in Europe/London minutes."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.london import LONDON, local_time
from app.core.types import utcnow
from app.parents import answers_repository as availability
from app.parents.answers_models import AnswerKind, HouseholdAnswer
from app.programmes.households import FamilyLabel
from app.programmes.models import Slot as ProgrammeSlot
from app.programmes.models import VisitProgramme
from app.roster.models import Household
from app.scheduling.repository import SchedulingRepository, StaffRow
from app.scheduling.solver import problem
from app.trusts.models import School
from app.visits.models import Visit


@dataclass(frozen=True)
class Loaded:
    """The instance and what is needed to write its answer back."""

    instance: problem.Instance
    slots: dict[str, ProgrammeSlot]
    pupils: dict[str, list[UUID]]  # household -> its pupils in scope
    declined: int
    exempt: int


async def load(
    session: AsyncSession,
    programme: VisitProgramme,
    *,
    seed: int,
    time_limit_seconds: float,
    also_staff: frozenset[str] = frozenset(),
    again: frozenset[UUID] = frozenset(),
) -> Loaded:
    """`also_staff`: adults beyond the teams and pool to describe (one a manual change names).
    `again`: households whose visit has an outcome (no access) that the office is offering
    another time, described as any family to place (others with an outcome are left out)."""
    repository = SchedulingRepository(session)
    slots = await availability.slots_of(session, programme.id)
    children = await availability.children_in_scope(session, programme)
    answers = {a.household_id: a for a in await availability.answers_of(session, programme.id)}
    kinds = await availability.exemption_kinds(session, programme.id)
    visits = await repository.visits_of(programme.id)
    adults_of = await repository.visit_adults([v.id for v in visits])
    homes = await repository.households({c.household_id for c in children})
    references = await repository.family_ids(programme.school_id, homes.keys())
    school = await repository.school(programme.school_id)
    classes: dict[UUID, set[str]] = defaultdict(set)
    pupils: dict[str, list[UUID]] = defaultdict(list)
    surnames: dict[UUID, set[str]] = defaultdict(set)
    for child in children:
        classes[child.household_id].add(str(child.class_id))
        surnames[child.household_id].add(child.last_name)
        pupils[str(child.household_id)].append(child.pupil_id)
    locked = {v.household_id: v for v in visits if v.locked}
    visited = await repository.households_visited(programme.id)
    households = []
    declined = exempt = 0
    for household_id, class_ids in classes.items():
        if household_id in visited and household_id not in again:
            continue
        answer = answers.get(household_id)
        if kinds.get(household_id) == "exempt":
            exempt += 1
            continue
        if answer is not None and answer.kind is AnswerKind.DECLINED:
            declined += 1
            continue
        home = homes[household_id]
        neutral = kinds.get(household_id) == "neutral_venue"
        households.append(
            problem.Household(
                id=str(household_id),
                location=_home_location(home, school),
                classes=tuple(sorted(class_ids)),
                preferences=tuple(answer.preferred_slot_ids) if answer else (),
                unavailable=_unavailable(answer),
                neutral_venue=neutral,
                locked=_locked(locked.get(household_id), adults_of),
                address_needed=home.address_needed and not neutral,
                label=FamilyLabel.of(surnames[household_id], references.get(household_id)).family,
            )
        )
    teams, pool = await _teams(repository, programme)
    staff_ids = {s for t in teams for s in t.teacher_ids} | set(pool)
    staff_ids |= {t.second_adult_id for t in teams if t.second_adult_id} | also_staff
    staff = await repository.staff(staff_ids)
    away = await repository.unavailability(staff_ids)
    days = programme.days()
    instance = problem.Instance(
        slots=tuple(_slot(s) for s in slots),
        adults=tuple(_adult(s, away.get(s.id, []), days) for s in staff),
        households=tuple(sorted(households, key=lambda h: h.id)),
        teams=teams,
        second_adult_pool=pool,
        max_visits_per_adult_per_day=programme.max_visits_per_adult_per_day,
        school_location=problem.Location(school.postcode, school.latitude, school.longitude),
        school_departure_minute=_minutes(programme.day_starts) - 30,
        school_return_minute=(
            None if programme.adults_finish_at_last_visit else _minutes(programme.day_ends)
        ),
        seed=seed,
        time_limit_seconds=time_limit_seconds,
        previous=tuple(
            problem.PreviousVisit(str(v.household_id), str(v.slot_id), tuple(adults_of[v.id]))
            for v in visits
            if not v.locked
        ),
        name=programme.name,
    )
    return Loaded(instance, {str(s.id): s for s in slots}, dict(pupils), declined, exempt)


def _home_location(home: Household, school: School) -> problem.Location:
    if home.postcode is None:
        # No address yet: never travelled to (it gets no options), the school stands in.
        return problem.Location(school.postcode, school.latitude, school.longitude)
    return problem.Location(home.postcode, home.latitude, home.longitude)


def _minutes(clock: time) -> int:
    return clock.hour * 60 + clock.minute


def _slot(slot: ProgrammeSlot) -> problem.Slot:
    starts, ends = local_time(slot.starts_at), local_time(slot.ends_at)
    return problem.Slot(str(slot.id), starts.date(), _minutes(starts.time()), _minutes(ends.time()))


def _unavailable(answer: HouseholdAnswer | None) -> tuple[tuple[date, problem.DayPart], ...]:
    if answer is None or answer.kind is not AnswerKind.PREFERENCES:
        return ()
    return tuple(
        (date.fromisoformat(u["day"]), problem.DayPart(u["part"])) for u in answer.unavailable
    )


def _locked(visit: Visit | None, adults_of: dict[UUID, list[str]]) -> problem.LockedVisit | None:
    if visit is None:
        return None
    return problem.LockedVisit(str(visit.slot_id), tuple(adults_of[visit.id]))


async def _teams(
    repository: SchedulingRepository, programme: VisitProgramme
) -> tuple[tuple[problem.ClassTeam, ...], tuple[str, ...]]:
    """Each class's team as SLT set it; a class without one falls back to its MIS teachers."""
    set_teams = await repository.teams(programme.id)
    mis_teachers = await repository.class_teachers(programme)
    teams = []
    for class_id, name in await repository.classes_in_scope(programme):
        teachers, second = set_teams.get(class_id, ([], None))
        if not teachers:
            teachers = mis_teachers.get(class_id, [])
        teams.append(
            problem.ClassTeam(
                class_id=str(class_id),
                teacher_ids=tuple(str(t) for t in teachers),
                second_adult_id=str(second) if second else None,
                name=name,
            )
        )
    pool = tuple(str(s) for s in await repository.second_adult_pool(programme.id))
    return tuple(teams), pool


def _adult(
    staff: StaffRow, away: list[tuple[datetime, datetime]], days: list[date]
) -> problem.Adult:
    today = local_time(utcnow()).date()
    trained = staff.trained_on is not None and staff.trained_on <= today and staff.active
    return problem.Adult(
        id=str(staff.id),
        name=staff.name,
        trained=trained,
        unavailable=tuple(piece for start, end in away for piece in _pieces(start, end, days)),
    )


def _pieces(starts: datetime, ends: datetime, days: list[date]) -> list[tuple[date, int, int]]:
    """A UTC period cut into (visit day, start minute, end minute) pieces, London time."""
    found = []
    for day in days:
        midnight = datetime.combine(day, time(0), tzinfo=LONDON)
        next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON)
        start, end = max(starts, midnight), min(ends, next_midnight)
        if start < end:
            # Wall-clock minutes, as the slots are: right on a day the clocks change.
            end_minute = 24 * 60 if end == next_midnight else _minutes(local_time(end).time())
            found.append((day, _minutes(local_time(start).time()), end_minute))
    return found
