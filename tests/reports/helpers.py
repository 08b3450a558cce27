"""A finished programme on a generated school, for the reports' tests: the availability tests'
generated 650-pupil primary, infants' programme, generated answers and SLT decisions, then a
visit for each family the schedule placed (as a schedule run and the day's outcomes leave them),
with outcomes drawn from a seeded generator, and a sibling whose outcome differs from their
visit's.

`Finished` keeps what was written, so the tests count from it by hand."""

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
from sqlmodel import col, select

from app.core import db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.parents.answers_models import AnswerKind
from app.programmes.models import Slot
from app.roster.models import Pupil
from app.synthetic.generator import World
from app.visits.models import (
    Visit,
    VisitAdult,
    VisitLocation,
    VisitOutcome,
    VisitPupil,
    VisitRole,
    VisitStatus,
)
from tests.parents.test_counts_on_generated_data import (
    YEAR_GROUPS,
    Roster,
    Scenario,
    decide,
    one_child_leaves,
    roster_of,
)
from tests.synthetic.test_answers import (
    collecting_programme,
    generate_answers,
    generated_school,
)

OUTCOMES = (
    VisitStatus.COMPLETED,
    VisitStatus.NO_ACCESS,
    VisitStatus.DECLINED,
    VisitStatus.CANCELLED,
    VisitStatus.SCHEDULED,
)
WEIGHTS = (80, 9, 4, 3, 4)


@dataclass(frozen=True)
class PlacedVisit:
    household_id: UUID
    slot: Slot
    status: VisitStatus
    location: VisitLocation
    adults: tuple[UUID, ...]


@dataclass
class Finished:
    scenario: Scenario
    roster: Roster
    visits: dict[UUID, PlacedVisit] = field(default_factory=dict)  # by household
    # Children whose own outcome differs from their visit's.
    own_outcomes: dict[UUID, VisitOutcome] = field(default_factory=dict)
    pupils: dict[UUID, Pupil] = field(default_factory=dict)


async def finished_programme(client: httpx.AsyncClient, world: World, seed: int = 5) -> Finished:
    await generated_school(client, world, seed=seed)
    closes = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    programme_id = await collecting_programme(client, world, YEAR_GROUPS, closes)
    answers = {a.household_id: a for a in await generate_answers(world, programme_id, seed=21)}
    roster = await roster_of(programme_id)
    exemptions = await decide(client, world, programme_id, roster, answers)
    finished = Finished(Scenario(programme_id, answers, exemptions, left=programme_id), roster)
    _place(finished, world, random.Random(seed))
    await _write_visits(finished)
    # A family visited, whose only child in scope then left: no longer counted anywhere.
    finished.scenario.left = await one_child_leaves(roster, answers, exemptions)
    assert finished.scenario.left in finished.visits
    finished.roster = await roster_of(programme_id)
    async with db.open_session(system_scope("test: the pupils' flags")) as session:
        pupils = await session.scalars(
            select(Pupil).where(col(Pupil.id).in_(list(roster.pupil_class)))
        )
        finished.pupils = {p.id: p for p in pupils}
    return finished


def _place(finished: Finished, world: World, rng: random.Random) -> None:
    """Every family that did not decline and was not exempted, but every twelfth (the schedule
    could not place it): at its first choice, its second, or a slot it did not list."""
    scenario, slots = finished.scenario, sorted(finished.roster.slots, key=lambda s: s.starts_at)
    by_id = {str(s.id): s for s in slots}
    pairs = [
        (world.login(Role.TEACHER).staff_id, world.login(Role.SUPPORT_STAFF).staff_id),
        (world.login(Role.SCHOOL_ADMIN).staff_id, world.login(Role.SUPPORT_STAFF).staff_id),
        (world.login(Role.TEACHER).staff_id, world.login(Role.OFFICE).staff_id),
    ]
    for i, household in enumerate(sorted(finished.roster.children)):
        answer = scenario.answers.get(household)
        if scenario.exemptions.get(household) == "exempt" or i % 12 == 11:
            continue
        if answer is not None and answer.kind is AnswerKind.DECLINED:
            continue
        preferred = [str(s) for s in answer.preferred_slot_ids] if answer else []
        if preferred and i % 3 < 2 and len(preferred) > i % 3:
            slot = by_id[preferred[i % 3]]
        else:
            slot = slots[(i * 7) % len(slots)]
        neutral = scenario.exemptions.get(household) == "neutral_venue"
        adults = pairs[i % len(pairs)]
        assert all(a is not None for a in adults)
        finished.visits[household] = PlacedVisit(
            household,
            slot,
            rng.choices(OUTCOMES, WEIGHTS)[0],
            VisitLocation.NEUTRAL_VENUE if neutral else VisitLocation.HOME,
            tuple(a for a in adults if a is not None),
        )
    _a_sibling_differs(finished)


def _a_sibling_differs(finished: Finished) -> None:
    """In the first completed visits of families with two children in scope, one child was not
    there (no access to them): they count by their own outcome."""
    siblings = [
        v
        for h, v in sorted(finished.visits.items())
        if v.status is VisitStatus.COMPLETED and len(finished.roster.children[h]) > 1
    ]
    assert len(siblings) >= 2, "no siblings visited"
    for visit in siblings[:2]:
        child = sorted(finished.roster.children[visit.household_id])[0]
        finished.own_outcomes[child] = VisitOutcome.NO_ACCESS


async def _write_visits(finished: Finished) -> None:
    async with db.open_session(system_scope("test: a finished programme's visits")) as session:
        programme_id = finished.scenario.programme_id
        school = finished.roster.slots[0]
        for placed in finished.visits.values():
            visit = Visit(
                trust_id=school.trust_id,
                school_id=school.school_id,
                programme_id=programme_id,
                household_id=placed.household_id,
                slot_id=placed.slot.id,
                starts_at=placed.slot.starts_at,
                ends_at=placed.slot.ends_at,
                location=placed.location,
                status=placed.status,
            )
            session.add(visit)
            for staff_id, role in zip(
                placed.adults, (VisitRole.TEACHER, VisitRole.SECOND_ADULT), strict=True
            ):
                session.add(
                    VisitAdult(
                        trust_id=visit.trust_id,
                        school_id=visit.school_id,
                        visit_id=visit.id,
                        staff_id=staff_id,
                        role=role,
                    )
                )
            for pupil_id in sorted(finished.roster.children[placed.household_id]):
                session.add(
                    VisitPupil(
                        trust_id=visit.trust_id,
                        school_id=visit.school_id,
                        visit_id=visit.id,
                        pupil_id=pupil_id,
                        outcome=finished.own_outcomes.get(pupil_id),
                    )
                )
