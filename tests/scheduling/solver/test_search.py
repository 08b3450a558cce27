"""The annealing search: every change it scores is the exact change in the objective, it never
breaks a rule, never hands back worse than it was given, and groups nearby homes by day."""

import random
from dataclasses import replace
from datetime import date

import pytest

from app.scheduling.solver.greedy import office_baseline, visits_of
from app.scheduling.solver.options import Prepared, prepare
from app.scheduling.solver.problem import Household, Location, Schedule
from app.scheduling.solver.search import Search, anneal
from app.scheduling.solver.solve import exact_objective
from app.scheduling.solver.validator import validate
from app.synthetic.instances import school_instance
from tests.scheduling.cases import DAY1, DAY2, instance


def _always(_delta: int) -> bool:
    return True


def _return_legs(search: Search) -> int:
    """Tenths of a minute of the teachers' drives back to school, from the timetable."""
    prepared = search.prepared
    return sum(
        prepared.return_leg(day[-1].household_id)
        for (adult, _), day in search.table.days.items()
        if day and adult in prepared.lead_ids
    )


@pytest.mark.parametrize(
    "back_by",
    [17 * 60 + 30, 16 * 60 + 51, None],
    ids=["back-at-school-by-17:30", "back-by-16:51", "finish-at-last-visit"],
)
def test_each_scored_change_is_the_exact_change_in_the_objective(back_by: int | None) -> None:
    """Also for the drive back to school: moves that change a day's last visit change the
    return legs, and the scored change says so exactly; no move makes a drive back late. (16:51
    is a minute after the 16:20 slot ends: only homes within a minute of school fit there.)"""
    inst = replace(school_instance(5, pupils=90), school_return_minute=back_by)
    prepared = prepare(inst)
    search = Search(prepared, office_baseline(prepared))
    rng = random.Random(7)
    households = sorted(prepared.households)
    checked = changed_return = 0
    for _ in range(400):
        before = exact_objective(prepared, search.table.assignment)
        returns = _return_legs(search)
        household_id = households[rng.randrange(len(households))]
        delta = search.relocate(household_id, rng, _always)
        if delta is None:
            continue
        assert exact_objective(prepared, search.table.assignment) - before == delta
        checked += 1
        changed_return += _return_legs(search) != returns
    assert checked > 50
    assert changed_return > 10 if back_by is not None else changed_return == 0
    schedule = Schedule(visits_of(prepared, search.table.assignment), {})
    check = validate(inst, schedule)
    assert check.late_returns == 0
    assert check.parts.total == exact_objective(prepared, search.table.assignment)


def test_taking_a_day_out_of_a_class_is_scored_exactly() -> None:
    prepared = prepare(school_instance(5, pupils=90))
    search = Search(prepared, office_baseline(prepared))
    cleared = 0
    for class_id, day in search.class_day_keys:
        before = exact_objective(prepared, search.table.assignment)
        delta = search.clear_class_day(class_id, day, _always)
        if delta is not None:
            assert exact_objective(prepared, search.table.assignment) - before == delta
            assert all(
                prepared.slots[o.slot_id].day != day
                for o in search.table.assignment.values()
                if class_id in prepared.households[o.household_id].classes
            )
            cleared += 1
    assert cleared > 0


def test_annealing_keeps_every_rule_and_never_returns_worse() -> None:
    inst = school_instance(4, pupils=120)
    prepared = prepare(inst)
    start = office_baseline(prepared)
    found = anneal(prepared, start, steps=5_000, seed=1)
    assert exact_objective(prepared, found) < exact_objective(prepared, start)
    assert validate(inst, Schedule(visits_of(prepared, found), {})).violations == ()
    assert found == anneal(prepared, start, steps=5_000, seed=1)


def _two_streets() -> tuple[Prepared, dict[str, str]]:
    """Eight families in two streets 4 km apart, one teacher, two days of four slots."""
    west = [Location(f"ME2 4B{chr(65 + n)}", 51.39, 0.44 + 0.001 * n) for n in range(4)]
    east = [Location(f"ME2 4C{chr(65 + n)}", 51.39, 0.54 + 0.001 * n) for n in range(4)]
    homes = [x for pair in zip(west, east, strict=True) for x in pair]  # alternating streets
    households = tuple(Household(f"h{n}", loc, ("oak",)) for n, loc in enumerate(homes))
    street = {h.id: ("west" if h.location in west else "east") for h in households}
    return prepare(instance(households, days=(DAY1, DAY2), per_day=4)), street


def test_annealing_puts_each_street_on_its_own_day() -> None:
    prepared, street = _two_streets()
    start = office_baseline(prepared)
    found = anneal(prepared, start, steps=20_000, seed=1)
    days: dict[str, set[date]] = {"west": set(), "east": set()}
    for household_id, option in found.items():
        days[street[household_id]].add(prepared.slots[option.slot_id].day)
    assert len(found) == 8
    assert days["west"].isdisjoint(days["east"])
    assert exact_objective(prepared, found) < exact_objective(prepared, start)
