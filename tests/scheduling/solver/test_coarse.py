"""Coarse to fine: the fine grid's coarse rhythm is the back-to-back grid's starts, the search's
options keep every listed time, and the move to a listed time changes the objective by exactly
what it says and never breaks a rule."""

import random

from app.scheduling.solver.coarse import coarse, is_fine, rhythm
from app.scheduling.solver.greedy import visits_of, warm_start
from app.scheduling.solver.lns import to_listed_time
from app.scheduling.solver.options import prepare
from app.scheduling.solver.problem import Schedule
from app.scheduling.solver.search import Search
from app.scheduling.solver.solve import exact_objective
from app.scheduling.solver.validator import validate
from app.synthetic.instances import FINE_GRID, FIVE_VISIT_DAYS, Grid, school_instance


def _always(_delta: int) -> bool:
    return True


def test_the_fine_grids_rhythm_is_the_back_to_back_grids_starts() -> None:
    fine = prepare(school_instance(1, pupils=60, grid=FINE_GRID))
    back_to_back = prepare(school_instance(1, pupils=60, grid=Grid(FIVE_VISIT_DAYS)))
    on_rhythm = {
        (s.day, s.start_minute) for s in fine.slots.values() if s.id in rhythm(fine.day_slots)
    }
    starts = {(s.day, s.start_minute) for s in back_to_back.slots.values()}
    assert starts <= on_rhythm  # the fine grid offers every start of the back-to-back grid
    assert len(on_rhythm) <= len(starts) + len(FIVE_VISIT_DAYS)  # and little more
    assert is_fine(fine)
    assert not is_fine(back_to_back)
    assert coarse(back_to_back) is back_to_back


def test_the_coarse_options_keep_every_listed_time_and_are_the_full_grids() -> None:
    prepared = prepare(school_instance(2, pupils=90, grid=FINE_GRID))
    searched = coarse(prepared)
    assert len(searched.options) * 4 < len(prepared.options)
    for household_id, options in prepared.by_household.items():
        kept = searched.by_household[household_id]
        assert set(kept) <= set(options)
        listed = set(prepared.households[household_id].preferences)
        assert {o for o in options if o.slot_id in listed} <= set(kept)
        assert bool(kept) == bool(options)


def test_a_move_to_a_listed_time_changes_the_objective_by_exactly_what_it_says() -> None:
    inst = school_instance(3, pupils=90, grid=FINE_GRID)
    prepared = coarse(prepare(inst))
    search = Search(prepared, warm_start(prepared))
    movable = sorted(h for h in prepared.households if prepared.by_household[h])
    rng = random.Random(4)
    kept = 0
    for _ in range(80):
        before = exact_objective(prepared, search.table.assignment)
        delta, work = to_listed_time(search, movable, rng, _always)
        assert work >= 1
        after = exact_objective(prepared, search.table.assignment)
        assert after - before == (delta or 0)
        kept += delta is not None
    assert kept > 10
    schedule = Schedule(visits_of(prepared, search.table.assignment), {})
    assert validate(inst, schedule).violations == ()
