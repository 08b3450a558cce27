"""The exact model: its optimum is the validator's objective of a real schedule, and against it
the solver's reported bound is never above the truth and its objective never below."""

from app.scheduling.solver.exact import solve_exact
from app.scheduling.solver.greedy import visits_of
from app.scheduling.solver.options import prepare
from app.scheduling.solver.problem import Instance, Schedule
from app.scheduling.solver.solve import exact_objective, solve
from app.scheduling.solver.validator import validate
from tests.scheduling.cases import DAY1, DAY2, household, instance


def tiny() -> Instance:
    """Eight families, two days of four slots, each wanting a time the others want too."""
    inst = instance((), days=(DAY1, DAY2), per_day=4, max_per_day=3)
    times = [s.id for s in inst.slots]
    families = tuple(
        household(n, preferences=(times[n % 3], times[4 + (n + 1) % 4])) for n in range(8)
    )
    return instance(families, days=(DAY1, DAY2), per_day=4, max_per_day=3)


def test_the_exact_optimum_is_a_valid_schedule_scored_exactly() -> None:
    inst = tiny()
    prepared = prepare(inst)
    exact = solve_exact(prepared, 60)
    assert exact.status == "OPTIMAL"
    assert exact.objective == exact_objective(prepared, exact.assignment)
    left_out = {h: "no room" for h in prepared.households if h not in exact.assignment}
    assert len(left_out) == 2, "three visits a day on two days: six of the eight"
    checked = validate(inst, Schedule(visits_of(prepared, exact.assignment), left_out))
    assert checked.violations == ()
    assert checked.parts.total == exact.objective


def test_the_reported_bound_never_exceeds_the_proven_optimum() -> None:
    inst = tiny()
    optimum = solve_exact(prepare(inst), 60).objective
    assert optimum is not None
    stats = solve(inst).stats
    assert stats.best_bound is not None
    assert stats.objective is not None
    assert stats.best_bound <= optimum <= stats.objective


def test_the_exact_routes_hold_across_gaps_in_a_day() -> None:
    """Three families, five slots, at most three visits a day: the route runs from the previous
    visit whatever lies between (the solver's model prices a drive after a gap from below)."""
    inst = instance(tuple(household(n * 4) for n in range(3)), per_day=5, max_per_day=3)
    prepared = prepare(inst)
    exact = solve_exact(prepared, 60)
    assert exact.status == "OPTIMAL"
    assert exact.objective == exact_objective(prepared, exact.assignment)
    assert len(exact.assignment) == 3
