"""The LP bound: never above a real schedule's objective, and it sees that a class's days and its
teacher's busiest day pull against each other."""

from dataclasses import replace

from app.scheduling.solver.bound import lp_bound, min_unplaced
from app.scheduling.solver.greedy import office_baseline
from app.scheduling.solver.options import prepare
from app.scheduling.solver.problem import LockedVisit
from app.scheduling.solver.solve import exact_objective, solve
from app.scheduling.synthetic import school_instance
from tests.scheduling.cases import DAY1, DAY2, household, instance

DAY3, DAY4 = DAY2.replace(day=4), DAY2.replace(day=7)


def test_the_bound_is_never_above_a_real_schedule() -> None:
    for seed in (1, 2, 3):
        inst = school_instance(seed, pupils=90, time_limit_seconds=0.5)
        prepared = prepare(inst)
        bound = lp_bound(prepared, sorted(prepared.households))
        assert 0 < bound <= exact_objective(prepared, office_baseline(prepared))
        assert bound <= (solve(inst).stats.objective or 0)


def test_the_bound_holds_with_a_locked_visit_without_the_teacher() -> None:
    families = tuple(household(n) for n in range(6))
    inst = instance(families, days=(DAY1, DAY2), per_day=4, max_per_day=3)
    slot = inst.slots[0].id
    locked = replace(families[0], locked=LockedVisit(slot, ("oak-ta", "stand-in")))
    inst = replace(inst, households=(locked, *families[1:]))
    schedule = solve(inst)
    assert not schedule.unplaced
    prepared = prepare(inst)
    assert lp_bound(prepared, sorted(prepared.households)) <= (schedule.stats.objective or 0)


def test_a_class_pays_for_its_days_or_for_a_full_busiest_day() -> None:
    """Twenty families, ten visits a day at most: two full days (600 + a busiest day of 10 for
    the teacher, 500) is the cheapest mix; spread thinly over four days the LP would claim
    600 + 250. The TA's busiest day is at least 5 in any case."""
    families = tuple(household(n) for n in range(20))
    inst = instance(families, days=(DAY1, DAY2, DAY3, DAY4), per_day=11)
    prepared = prepare(inst)
    weights = inst.weights
    cheapest_mix = min(k * weights.class_day + -(-20 // k) * weights.peak_visit for k in (2, 3, 4))
    assert lp_bound(prepared, sorted(prepared.households)) >= cheapest_mix + 5 * weights.peak_visit


def test_the_proof_of_unavoidable_unplaced_families() -> None:
    """Six families, one day of four slots, three visits a day for the class's adults: three
    must go unplaced, the LP proves it, and the run's figures of the placed families' schedule
    then carry no unplaced points."""
    families = tuple(household(n) for n in range(6))
    inst = instance(families, days=(DAY1,), per_day=4, max_per_day=3)
    schedule = solve(inst)
    assert len(schedule.unplaced) == 3
    assert schedule.stats.unplaced_minimum == 3
    prepared = prepare(inst)
    assert min_unplaced(prepared, sorted(prepared.households)) == 3
    roomy = instance(families, days=(DAY1, DAY2), per_day=4, max_per_day=3)
    prepared = prepare(roomy)
    assert min_unplaced(prepared, sorted(prepared.households)) == 0
    assert solve(roomy).stats.unplaced_minimum == 0, "computed only when someone is unplaced"
