"""Placing a family by hand: the office or SLT give a family the schedule could not place (or
whose visit a re-run had to cancel, or whom nobody could reach at home: offered another time) a
visit at any time its class's teachers and a second adult
can make, checked by the scheduler's independent validator against every hard rule, as a manual
change is (409 naming the rule). Once the programme is published the family is told at once."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import InvalidState, NotFound, Unprocessable, json_pointer
from app.core.principal import Principal
from app.programmes import teams
from app.programmes.models import ProgrammeStatus, VisitProgramme
from app.scheduling import instance
from app.scheduling.solver import problem
from app.visits import messages
from app.visits.changes import Plan, arrangeable, check_plan, record_change
from app.visits.models import Visit, VisitLocation, VisitRole, VisitStatus
from app.visits.repository import VisitRepository
from app.visits.schemas import VisitPlace, VisitRead
from app.visits.service import describe_one


class AlreadyVisited(InvalidState):
    type, title = "household-has-a-visit", "The family already has a visit"


async def place(
    session: AsyncSession, who: Principal, programme_id: UUID, body: VisitPlace
) -> VisitRead:
    programme = await arrangeable(session, who, programme_id)
    repository = VisitRepository(session, who)
    existing = await repository.of_household(programme.id, body.household_id, for_update=True)
    if existing is not None and not _offerable(existing):
        raise AlreadyVisited(
            f"This family already has a {existing.status} visit ({existing.id}); move it "
            "instead (PATCH /visits/{id})."
        )
    again = existing is not None and existing.status is VisitStatus.NO_ACCESS
    named = {str(body.second_adult_id)} if body.second_adult_id else set()
    loaded = await instance.load(
        session,
        programme,
        seed=1,
        time_limit_seconds=1,
        also_staff=frozenset(named),
        again=frozenset({body.household_id}) if again else frozenset(),
    )
    household = next(
        (h for h in loaded.instance.households if h.id == str(body.household_id)), None
    )
    if household is None:
        raise NotFound(
            f"Household {body.household_id} is not one this programme visits (not in its year "
            "groups, exempt or declined)."
        )
    slot = loaded.slots.get(str(body.slot_id))
    if slot is None:
        raise Unprocessable(f"slot_id: there is no slot {body.slot_id} in this programme.")
    teachers = _teachers(loaded.instance, household)
    second = await _second_adult(session, who, programme, loaded.instance, household, body)
    kind = (
        problem.LocationKind.NEUTRAL_VENUE if household.neutral_venue else problem.LocationKind.HOME
    )
    wanted = problem.Visit(household.id, str(slot.id), (*teachers, str(second)), kind)

    def add(plan: Plan) -> None:
        plan[household.id] = wanted

    await check_plan(session, repository, programme, add, named=named, loaded=loaded)
    visit = await repository.placed(
        programme,
        existing,
        household_id=body.household_id,
        slot=slot,
        location=VisitLocation(kind.value),
        status=_status(programme),
        adults=[(UUID(t), VisitRole.TEACHER) for t in teachers]
        + [(second, VisitRole.SECOND_ADULT)],
        pupils=loaded.pupils[household.id],
    )
    change = "offered_another_time" if again else "placed"
    record = await record_change(session, who, visit, change, body.note, visit.starts_at)
    await messages.tell_families(session, programme, {visit.id: record.id})
    return await describe_one(repository, visit)


def _teachers(inst: problem.Instance, household: problem.Household) -> tuple[str, ...]:
    """Every class teacher of the family's children in scope (siblings: each class's)."""
    found: list[str] = []
    for team in inst.teams:
        if team.class_id in household.classes:
            found.extend(t for t in team.teacher_ids if t not in found)
    return tuple(found)


async def _second_adult(
    session: AsyncSession,
    who: Principal,
    programme: VisitProgramme,
    inst: problem.Instance,
    household: problem.Household,
    body: VisitPlace,
) -> UUID:
    if body.second_adult_id is not None:
        await teams.ensure_eligible(
            session, who, programme, {body.second_adult_id: json_pointer("second_adult_id")}
        )
        return body.second_adult_id
    for team in inst.teams:
        if team.class_id in household.classes and team.second_adult_id:
            return UUID(team.second_adult_id)
    raise Unprocessable(
        "second_adult_id: the family's class has no second adult in its team; name one.",
        extra={"errors": [{"pointer": json_pointer("second_adult_id"), "detail": "required"}]},
    )


def _offerable(visit: Visit) -> bool:
    """A visit a family may be given again: one a re-run cancelled (no outcome), or one nobody
    could make (no access) that was not closed as not visited. A visit cancelled on the day
    keeps its recorded outcome."""
    if visit.status is VisitStatus.CANCELLED:
        return visit.outcome_at is None
    return visit.status is VisitStatus.NO_ACCESS and visit.closed_at is None


def _status(programme: VisitProgramme) -> VisitStatus:
    told = programme.status in (ProgrammeStatus.PUBLISHED, ProgrammeStatus.IN_PROGRESS)
    return VisitStatus.SCHEDULED if told else VisitStatus.PROPOSED
