"""The day-assignment relaxation and its repair: the start it gives keeps every rule, places the
families the greedy start places, and keeps the days it was given where they fit."""

import time
from datetime import date

from app.scheduling.solver.greedy import visits_of, warm_start
from app.scheduling.solver.options import prepare
from app.scheduling.solver.problem import Schedule
from app.scheduling.solver.relax import relaxed_start, repair
from app.scheduling.solver.solve import exact_objective, solve
from app.scheduling.solver.validator import validate
from app.synthetic.instances import FINE_GRID, school_instance


def test_the_relaxations_start_keeps_every_rule_and_places_everyone() -> None:
    inst = school_instance(5, pupils=90)
    prepared = prepare(inst)
    greedy = warm_start(prepared)
    start = relaxed_start(prepared, time.perf_counter() + 5, greedy)
    assert start is not None
    assert len(start) == len(greedy) == len(prepared.households)
    checked = validate(inst, Schedule(visits_of(prepared, start), {}))
    assert checked.violations == ()
    assert checked.late_returns == 0
    assert checked.parts.total == exact_objective(prepared, start)


def test_the_repair_keeps_the_days_it_is_given() -> None:
    """Given the greedy start's own days, the repair places everyone, on those days."""
    prepared = prepare(school_instance(3, pupils=90))
    greedy = warm_start(prepared)
    days: dict[str, tuple[date, str | None]] = {
        h: (prepared.slots[o.slot_id].day, None) for h, o in greedy.items()
    }
    repaired = repair(prepared, days)
    assert set(repaired) == set(greedy)
    kept = sum(prepared.slots[o.slot_id].day == days[h][0] for h, o in repaired.items())
    assert kept == len(days)


def test_no_time_left_gives_no_relaxed_start() -> None:
    prepared = prepare(school_instance(5, pupils=90))
    assert relaxed_start(prepared, time.perf_counter()) is None


def test_a_run_with_the_relaxed_start_is_valid_on_a_fine_grid_too() -> None:
    inst = school_instance(2, pupils=120, time_limit_seconds=4.0, grid=FINE_GRID)
    schedule = solve(inst, relaxed=True)
    checked = validate(inst, schedule)
    assert checked.violations == ()
    assert checked.late_returns == 0
    assert len(schedule.unplaced) == 0
    assert schedule.stats.wall_seconds < inst.time_limit_seconds * 1.1
