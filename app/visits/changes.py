"""Manual changes to planned visits: move one, swap two, change the second adult, lock or unlock.

Every change is checked with the scheduler's independent validator against every hard rule: the
schedule before and after the change are both validated, and a change that breaks a rule not
already broken is refused with 409 naming it. A rejected change writes nothing.
"""

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.concurrency import ensure_current
from app.core.errors import InvalidState, Unprocessable, json_pointer
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import utcnow
from app.programmes import teams
from app.programmes.exceptions import StaffNotEligible
from app.programmes.models import ProgrammeStatus, VisitProgramme
from app.programmes.models import Slot as ProgrammeSlot
from app.programmes.repository import ProgrammeRepository
from app.scheduling import instance
from app.scheduling.exceptions import RunUnderWay
from app.scheduling.repository import ScheduleRunRepository
from app.scheduling.solver import problem, validator
from app.visits import history, messages
from app.visits.models import Visit, VisitChange, VisitRole, VisitStatus
from app.visits.repository import VisitRepository
from app.visits.schemas import VisitChangeRequest, VisitRead, VisitSwap
from app.visits.service import describe_one

CHANGEABLE = frozenset(
    {ProgrammeStatus.SCHEDULING, ProgrammeStatus.PUBLISHED, ProgrammeStatus.IN_PROGRESS}
)
OPEN_VISITS = frozenset({VisitStatus.PROPOSED, VisitStatus.SCHEDULED})
# Changes a family hears of, once its programme is published (see messages.py); locking is not.
TOLD_TO_FAMILIES = frozenset({"moved", "second_adult_changed"})


class RuleBroken(InvalidState):
    type, title = "schedule-rule-broken", "The change breaks a scheduling rule"


class VisitNotChangeable(InvalidState):
    type, title = "visit-not-changeable", "This visit cannot be changed"


Plan = dict[str, problem.Visit]  # household id -> its visit


async def change(
    session: AsyncSession,
    who: Principal,
    visit_id: UUID,
    body: VisitChangeRequest,
    if_match: str | None,
) -> VisitRead:
    repository = VisitRepository(session, who)
    visit = await repository.get_for_update(visit_id)
    programme = await _changeable(session, who, visit)
    ensure_current(visit, if_match)
    changes = body.model_dump(exclude_unset=True)
    was = visit.starts_at
    if {"slot_id", "second_adult_id"} & changes.keys():
        _ensure_movable(visit)
        slot = await _slot(repository, visit, body.slot_id)
        roles = (await repository.adults([visit.id]))[visit.id]
        teachers = tuple(str(s) for s, r in roles if r is VisitRole.TEACHER)
        if body.second_adult_id is not None:
            await _ensure_second_adult(session, who, programme, body.second_adult_id, teachers)
        await check_plan(
            session,
            repository,
            programme,
            lambda plan: _apply(plan, visit, body, teachers),
            named={str(body.second_adult_id)} if body.second_adult_id else set(),
        )
        if slot is not None:
            _move(visit, slot.id, slot.starts_at, slot.ends_at)
        if body.second_adult_id is not None:
            await repository.replace_second_adult(visit, body.second_adult_id)
    if "locked" in changes:
        visit.locked = bool(body.locked)
    kind = _kind(changes)
    record = await record_change(session, who, visit, kind, body.note, was)
    if kind in TOLD_TO_FAMILIES:
        await messages.tell_families(session, programme, {visit.id: record.id})
    return await describe_one(repository, visit)


async def _ensure_second_adult(
    session: AsyncSession,
    who: Principal,
    programme: VisitProgramme,
    staff_id: UUID,
    teachers: tuple[str, ...],
) -> None:
    # The same rule as teams and the pool: a colleague from another school, or someone
    # untrained or deactivated, is a bad request (422), not a scheduling conflict.
    await teams.ensure_eligible(
        session, who, programme, {staff_id: json_pointer("second_adult_id")}
    )
    if str(staff_id) in teachers:
        raise StaffNotEligible(
            "The second adult is already one of this visit's teachers: a visit needs two "
            "different adults.",
            extra={
                "errors": [
                    {"pointer": json_pointer("second_adult_id"), "detail": "already a teacher"}
                ]
            },
        )


def _kind(changes: dict[str, object]) -> str:
    if "slot_id" in changes:
        return "moved"
    if "second_adult_id" in changes:
        return "second_adult_changed"
    return "locked" if changes.get("locked") else "unlocked"


async def _slot(
    repository: VisitRepository, visit: Visit, slot_id: UUID | None
) -> ProgrammeSlot | None:
    if slot_id is None:
        return None
    slot = await repository.slot(visit.programme_id, slot_id)
    if slot is None:
        raise Unprocessable(f"slot_id: there is no slot {slot_id} in this programme.")
    return slot


async def swap(
    session: AsyncSession, who: Principal, programme_id: UUID, body: VisitSwap
) -> list[VisitRead]:
    """Two visits exchange their times; each keeps its household and adults."""
    repository = VisitRepository(session, who)
    first = await repository.get_for_update(body.first_visit_id)
    second = await repository.get_for_update(body.second_visit_id)
    if first.programme_id != programme_id or second.programme_id != programme_id:
        raise repository.not_found(first.id if first.programme_id != programme_id else second.id)
    programme = await _changeable(session, who, first)
    for visit in (first, second):
        _ensure_movable(visit)

    def exchange(plan: Plan) -> None:
        a, b = plan[str(first.household_id)], plan[str(second.household_id)]
        plan[a.household_id] = problem.Visit(
            a.household_id, b.slot_id, a.adult_ids, a.location_kind
        )
        plan[b.household_id] = problem.Visit(
            b.household_id, a.slot_id, b.adult_ids, b.location_kind
        )

    await check_plan(session, repository, programme, exchange)
    was = {first.id: first.starts_at, second.id: second.starts_at}
    first_slot = (first.slot_id, first.starts_at, first.ends_at)
    _move(first, second.slot_id, second.starts_at, second.ends_at)
    _move(second, *first_slot)
    records = {
        visit.id: (await record_change(session, who, visit, "swapped", body.note, was[visit.id])).id
        for visit in (first, second)
    }
    await messages.tell_families(session, programme, records)
    return [await describe_one(repository, v) for v in (first, second)]


async def _changeable(session: AsyncSession, who: Principal, visit: Visit) -> VisitProgramme:
    return await arrangeable(session, who, visit.programme_id)


async def arrangeable(session: AsyncSession, who: Principal, programme_id: UUID) -> VisitProgramme:
    """The programme, locked, once the caller may arrange its visits (SLT, the office) and they
    may change: the one gate for moves, swaps and families placed by hand."""
    # A change is validated against every other visit of the programme, so changes to one
    # programme take turns (a row lock on it): two moves checked at once could each pass and
    # together double-book an adult (found by bench/load.py).
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.VISITS_ARRANGE, for_update=True
    )
    if programme.status not in CHANGEABLE:
        raise VisitNotChangeable(f"Visits of a {programme.status} programme cannot be changed.")
    if await ScheduleRunRepository.any_under_way(session, programme.id):
        # The run writes a schedule solved without the change: the change would be lost (or a
        # family unlocked meanwhile left with no visit at all).
        raise RunUnderWay("A schedule run is under way; change visits once it has finished.")
    return programme


def _ensure_movable(visit: Visit) -> None:
    if visit.status not in OPEN_VISITS:
        raise VisitNotChangeable(f"A {visit.status} visit cannot be moved.")
    if visit.locked:
        raise VisitNotChangeable(
            "This visit is locked (confirmed with the family); unlock it first."
        )


async def check_plan(
    session: AsyncSession,
    repository: VisitRepository,
    programme: VisitProgramme,
    alter: Callable[[Plan], None],
    named: set[str] | None = None,
    loaded: instance.Loaded | None = None,
) -> None:
    """Refuse (409 naming the rule) a change of the programme's open visits that breaks a hard
    rule not already broken; `alter` makes the change to the plan. `loaded`: the programme as
    the validator sees it, when the caller has loaded it already."""
    loaded = loaded or await instance.load(
        session, programme, seed=1, time_limit_seconds=1, also_staff=frozenset(named or ())
    )
    plan = await current_plan(repository, programme)
    before = set(_violations(loaded.instance, plan))
    alter(plan)
    broken = [v for v in _violations(loaded.instance, plan) if v not in before]
    if broken:
        raise RuleBroken(f"Not changed: {broken[0]}", extra={"violations": broken})


def _violations(problem_instance: problem.Instance, plan: Plan) -> tuple[str, ...]:
    schedule = problem.Schedule(visits=tuple(plan.values()), unplaced={})
    return validator.validate(problem_instance, schedule).violations


async def current_plan(repository: VisitRepository, programme: VisitProgramme) -> Plan:
    visits = await repository.open_visits(programme.id)
    adults = await repository.adults([v.id for v in visits])
    return {
        str(v.household_id): problem.Visit(
            household_id=str(v.household_id),
            slot_id=str(v.slot_id),
            adult_ids=tuple(str(s) for s, _ in adults[v.id]),
            location_kind=problem.LocationKind(v.location.value),
        )
        for v in visits
    }


def _apply(plan: Plan, visit: Visit, body: VisitChangeRequest, teachers: tuple[str, ...]) -> None:
    current = plan[str(visit.household_id)]
    adults = current.adult_ids
    if body.second_adult_id is not None:  # the teachers stay; only the second adult changes
        adults = (*teachers, str(body.second_adult_id))
    slot = str(body.slot_id) if body.slot_id is not None else current.slot_id
    plan[current.household_id] = problem.Visit(
        current.household_id, slot, adults, current.location_kind
    )


def _move(visit: Visit, slot_id: UUID, starts_at: datetime, ends_at: datetime) -> None:
    visit.slot_id = slot_id
    visit.starts_at = starts_at
    visit.ends_at = ends_at


async def record_change(
    session: AsyncSession,
    who: Principal,
    visit: Visit,
    kind: str,
    note: str | None,
    was: datetime,
) -> VisitChange:
    visit.updated_at = utcnow()
    record = history.entry(session, visit, kind, who.id, note, was)
    await audit.record(
        session,
        who,
        f"visit.{kind}",
        subject_type="visit",
        subject_id=visit.id,
        school_id=visit.school_id,
    )
    return record


__all__ = ["arrangeable", "change", "check_plan", "current_plan", "record_change", "swap"]
