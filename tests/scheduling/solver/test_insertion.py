"""The last insertion and repair step: no family is left unplaced that fits into the returned
schedule, checked by the independent validator, on generated programmes short of capacity and on
hand-made ones."""

from dataclasses import replace

import pytest

from app.scheduling.solver.bound import min_unplaced
from app.scheduling.solver.greedy import Assignment, visits_of
from app.scheduling.solver.insertion import place_unplaced
from app.scheduling.solver.options import Option, Prepared, prepare
from app.scheduling.solver.problem import Adult, DayPart, Household, Instance, Schedule, Visit
from app.scheduling.solver.solve import exact_objective, solve
from app.scheduling.solver.validator import validate
from app.synthetic.instances import school_instance
from tests.scheduling.cases import DAY1, DAY2, household, instance


def _with_visit(schedule: Schedule, option: Option) -> Schedule:
    visit = Visit(option.household_id, option.slot_id, option.adult_ids)
    unplaced = {h: r for h, r in schedule.unplaced.items() if h != option.household_id}
    return Schedule((*schedule.visits, visit), unplaced)


def _insertable(inst: Instance, schedule: Schedule) -> list[Option]:
    """Options of unplaced families that the validator accepts added to the schedule as is."""
    prepared = prepare(inst)
    found = []
    for household_id in schedule.unplaced:
        for option in prepared.by_household[household_id]:
            if not validate(inst, _with_visit(schedule, option)).violations:
                found.append(option)
    return found


def _short_of_capacity(seed: int, pupils: int, days: int, *, teacher_away: bool) -> Instance:
    """A school given only its first `days` visit days: classes short of capacity, so families
    stay unplaced; optionally one teacher away for the whole first day."""
    inst = school_instance(seed, pupils=pupils, time_limit_seconds=1.0)
    kept = sorted({s.day for s in inst.slots})[:days]
    inst = replace(inst, slots=tuple(s for s in inst.slots if s.day in kept))
    if teacher_away:
        teacher = inst.teams[0].teacher_ids[0]
        inst = replace(
            inst,
            adults=tuple(
                replace(a, unavailable=((kept[0], 0, 24 * 60),)) if a.id == teacher else a
                for a in inst.adults
            ),
        )
    return inst


# The last case is one where the search alone left a family out that fits (before this step).
@pytest.mark.parametrize(
    ("seed", "pupils", "days", "teacher_away"),
    [(1, 200, 2, False), (2, 200, 2, False), (3, 200, 2, True), (3, 650, 3, True)],
)
def test_no_unplaced_family_of_a_generated_schedule_fits_into_it(
    seed: int, pupils: int, days: int, teacher_away: bool
) -> None:
    inst = _short_of_capacity(seed, pupils, days, teacher_away=teacher_away)
    schedule = solve(inst)
    assert validate(inst, schedule).violations == ()
    # The case is not trivial: families stay out, more than the least any schedule could leave
    # (proved apart from the run, whose 1-second budget may not reach the proof).
    prepared = prepare(inst)
    assert len(schedule.unplaced) > min_unplaced(prepared, sorted(prepared.households)) > 0
    assert _insertable(inst, schedule) == []


def _assignment(prepared: Prepared, placed: dict[str, str]) -> Assignment:
    return {
        h: next(o for o in prepared.by_household[h] if o.slot_id == slot)
        for h, slot in placed.items()
    }


def test_a_family_that_fits_as_the_schedule_stands_goes_in_at_its_cheapest_time() -> None:
    inst = instance(
        (household(1), household(2), household(3, preferences=("2-0", "2-2"))), per_day=4
    )
    prepared = prepare(inst)
    before = _assignment(prepared, {"h1": "2-0", "h2": "2-1"})
    after = place_unplaced(prepared, before)
    assert after["h3"].slot_id == "2-2"  # its 2nd choice: the 1st is taken
    assert {h: o.slot_id for h, o in after.items() if h != "h3"} == {"h1": "2-0", "h2": "2-1"}
    assert exact_objective(prepared, after) < exact_objective(prepared, before)
    schedule = Schedule(visits_of(prepared, after), {})
    assert validate(inst, schedule).violations == ()


def test_a_family_that_fits_only_where_another_is_moves_that_one_elsewhere() -> None:
    """h1 can only do Wednesday (away all Thursday); h2, placed at Wednesday's only slot, can
    do either day: the chain moves h2 to Thursday and places h1."""
    away = Household("h1", household(1).location, ("oak",), (), ((DAY2, DayPart.ALL_DAY),))
    inst = instance((away, household(2)), days=(DAY1, DAY2), per_day=1)
    prepared = prepare(inst)
    before = _assignment(prepared, {"h2": "2-0"})
    after = place_unplaced(prepared, before)
    assert {h: o.slot_id for h, o in after.items()} == {"h1": "2-0", "h2": "3-0"}
    assert exact_objective(prepared, after) < exact_objective(prepared, before)
    assert validate(inst, Schedule(visits_of(prepared, after), {})).violations == ()


def test_a_full_day_gives_up_one_visit_to_another_day() -> None:
    """The teacher's day holds two visits and Wednesday's are placed; h1 can only do
    Wednesday: one of them moves to Thursday."""
    away = Household("h1", household(1).location, ("oak",), (), ((DAY2, DayPart.ALL_DAY),))
    inst = instance((away, household(2), household(3)), days=(DAY1, DAY2), per_day=3, max_per_day=2)
    prepared = prepare(inst)
    before = _assignment(prepared, {"h2": "2-0", "h3": "2-1"})
    after = place_unplaced(prepared, before)
    assert set(after) == {"h1", "h2", "h3"}
    assert prepared.slots[after["h1"].slot_id].day == DAY1
    assert validate(inst, Schedule(visits_of(prepared, after), {})).violations == ()


def test_siblings_blocked_by_both_teachers_take_two_visits_out() -> None:
    """Siblings in oak and elm can only do Wednesday's one slot, where each teacher already
    has a visit: only taking both out (each to Thursday) places them."""
    siblings = Household(
        "h1", household(1).location, ("oak", "elm"), (), ((DAY2, DayPart.ALL_DAY),)
    )
    inst = instance(
        (siblings, household(2, "oak"), household(3, "elm")),
        classes=("oak", "elm"),
        days=(DAY1, DAY2),
        per_day=1,
    )
    prepared = prepare(inst)
    before = _assignment(prepared, {"h2": "2-0", "h3": "2-0"})
    after = place_unplaced(prepared, before)
    assert {h: o.slot_id for h, o in after.items()} == {"h1": "2-0", "h2": "3-0", "h3": "3-0"}
    assert validate(inst, Schedule(visits_of(prepared, after), {})).violations == ()


def test_a_family_nothing_can_make_room_for_stays_unplaced_and_nothing_moves() -> None:
    """One teacher, one slot, two families who can only do it: no chain helps."""
    inst = instance((household(1), household(2)), per_day=1)
    inst = replace(inst, adults=(*inst.adults, Adult("spare", "Spare", trained=True)))
    prepared = prepare(inst)
    before = _assignment(prepared, {"h1": "2-0"})
    assert place_unplaced(prepared, before) == before
