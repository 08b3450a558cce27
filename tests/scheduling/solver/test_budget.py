"""The time limit is a wall-clock budget for the whole run, on the fine overlapping grid too, and
a bound cut short by its share of the time stays a valid lower bound."""

import itertools
import time

from app.scheduling.solver.bound import FULL_LP_OPTIONS_PER_SECOND, lp_bound, min_unplaced
from app.scheduling.solver.greedy import office_baseline, warm_start
from app.scheduling.solver.options import prepare
from app.scheduling.solver.search import anneal_until
from app.scheduling.solver.solve import exact_objective, solve
from app.scheduling.solver.validator import validate
from app.synthetic.instances import FINE_GRID, school_instance

LIMIT = 3.0
# Interpreter and process noise beyond the solver's own budget (a shared 2-core machine).
ALLOWANCE = 1.0


def test_a_fine_grid_school_is_answered_within_its_limit() -> None:
    inst = school_instance(2, pupils=120, time_limit_seconds=LIMIT, grid=FINE_GRID)
    slots = sorted(inst.slots, key=lambda s: (s.day, s.start_minute))
    overlapping = sum(
        a.day == b.day and b.start_minute < a.end_minute for a, b in itertools.pairwise(slots)
    )
    assert len(inst.slots) > 350, "a fine grid"
    assert overlapping > 300, "of overlapping slots"
    started = time.perf_counter()
    schedule = solve(inst)
    wall = time.perf_counter() - started
    assert wall <= LIMIT * 1.1 + ALLOWANCE
    check = validate(inst, schedule)
    assert check.violations == ()
    assert schedule.stats.objective == check.parts.total
    assert schedule.stats.best_bound is not None
    assert 0 <= schedule.stats.best_bound <= check.parts.total
    placed = {v.household_id for v in schedule.visits}
    assert placed | set(schedule.unplaced) == {h.id for h in inst.households}
    assert schedule.stats.status != "OPTIMAL" or schedule.stats.gap == 0


def test_a_bound_with_less_time_is_weaker_never_above_a_schedule() -> None:
    prepared = prepare(school_instance(1, pupils=90, grid=FINE_GRID))
    households = sorted(prepared.households)
    full = lp_bound(prepared, households)
    # Just too short for the full LP, so the day LP, with time to spare (it takes ~0.02 s).
    options = sum(len(prepared.by_household[h]) for h in households)
    rushed = lp_bound(prepared, households, seconds=0.9 * options / FULL_LP_OPTIONS_PER_SECOND)
    nothing = lp_bound(prepared, households, seconds=0.0)
    schedule = min(
        exact_objective(prepared, office_baseline(prepared)),
        exact_objective(prepared, warm_start(prepared)),
    )
    assert 0 == nothing <= rushed <= full <= schedule
    assert rushed > 0
    assert min_unplaced(prepared, households, seconds=0.0) == 0


def test_the_search_stops_at_its_deadline_with_the_schedule_it_had() -> None:
    prepared = prepare(school_instance(3, pupils=60))
    start = warm_start(prepared)
    found, taken = anneal_until(prepared, start, 10_000, seed=1, deadline=time.perf_counter())
    assert (found, taken) == (start, 0)
    found, taken = anneal_until(prepared, start, 2_000, seed=1, deadline=time.perf_counter() + 60)
    assert taken == 2_000
    assert exact_objective(prepared, found) <= exact_objective(prepared, start)
