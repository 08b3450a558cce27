"""Large-neighbourhood moves: each kept move's change is the exact change in the objective, an
undone move leaves the schedule as it was, no move breaks a rule, a seed gives one schedule, and
the make-room move finds the family whose absence places two."""

import random

from app.scheduling.solver.greedy import Timetable, office_baseline, visits_of, warm_start
from app.scheduling.solver.lns import make_room, ruin_and_recreate
from app.scheduling.solver.options import prepare
from app.scheduling.solver.problem import Schedule
from app.scheduling.solver.search import Search, anneal_until
from app.scheduling.solver.solve import exact_objective
from app.scheduling.solver.validator import validate
from app.synthetic.instances import school_instance
from tests.scheduling.cases import DAY1, household, instance


def _always(_delta: int) -> bool:
    return True


def _never(_delta: int) -> bool:
    return False


def _better(delta: int) -> bool:
    return delta < 0


def test_each_kept_move_changes_the_objective_by_exactly_what_it_says() -> None:
    prepared = prepare(school_instance(5, pupils=90))
    search = Search(prepared, office_baseline(prepared))
    movable = sorted(h for h in prepared.households if prepared.by_household[h])
    rng = random.Random(3)
    kept = 0
    for _ in range(60):
        before = exact_objective(prepared, search.table.assignment)
        delta, work = ruin_and_recreate(search, movable, rng, _always)
        assert work >= 1
        if delta is not None:
            assert exact_objective(prepared, search.table.assignment) - before == delta
            kept += 1
    assert kept > 30
    left_out = {h: "left out" for h in prepared.households if h not in search.table.assignment}
    checked = validate(
        prepared.instance, Schedule(visits_of(prepared, search.table.assignment), left_out)
    )
    assert checked.violations == ()


def test_an_undone_move_leaves_the_schedule_as_it_was() -> None:
    prepared = prepare(school_instance(5, pupils=90))
    search = Search(prepared, office_baseline(prepared))
    movable = sorted(h for h in prepared.households if prepared.by_household[h])
    rng = random.Random(4)
    for _ in range(20):
        before = dict(search.table.assignment)
        days = {k: list(v) for k, v in search.table.days.items() if v}
        assert ruin_and_recreate(search, movable, rng, _never)[0] is None
        assert search.table.assignment == before
        assert {k: v for k, v in search.table.days.items() if v} == days


def test_a_seed_gives_one_schedule_with_its_moves() -> None:
    prepared = prepare(school_instance(2, pupils=90))
    start = warm_start(prepared)
    first = anneal_until(prepared, start, 4_000, seed=9, lns_share=0.5)
    second = anneal_until(prepared, start, 4_000, seed=9, lns_share=0.5)
    assert first == second


def test_making_room_leaves_out_the_family_of_two_full_classes() -> None:
    """Two classes of four families on one day of four slots, three visits a day at most, and a
    fifth family with children in both: the greedy places the siblings first and then only two
    more of each class (five); leaving the siblings out places six."""
    families = (
        *(household(n, "oak") for n in range(4)),
        *(household(n, "ash") for n in range(4, 8)),
        household(8, "oak", "ash"),
    )
    inst = instance(families, classes=("oak", "ash"), days=(DAY1,), per_day=4, max_per_day=3)
    prepared = prepare(inst)
    start = warm_start(prepared)
    assert "h8" in start
    assert len(start) == 5
    search = Search(prepared, start)
    rng, total = random.Random(1), 0
    for _ in range(20):  # as the search would: it picks among the likeliest families at random
        left_out = sorted(h for h in prepared.households if h not in search.table.assignment)
        total += make_room(search, left_out, rng, _better)[0] or 0
    assert total < -prepared.instance.weights.unplaced // 2
    assert "h8" not in search.table.assignment
    assert len(search.table.assignment) == 6
    table = Timetable(prepared)
    for option in search.table.assignment.values():
        assert table.fits(option)
        table.add(option)
