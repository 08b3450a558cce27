"""The schedule optimiser: a CP-SAT model over each household's options (slot and adults), warm
started from the greedy schedule, then each team-day's stops reordered.

Variables: one literal per option (household, slot, adults); per teacher and visit, a literal
"this teacher's previous slot is also a visit" and literals "the previous visit was one of the
3 nearest families"; per class and day a literal "the class has a visit that day"; per adult
their busiest day's count. Constraints: at most one option per household (exactly one when
locked); per adult, at most one visit at any moment, never more than the daily maximum, and no
two visits too close in time for the drive between them.

Objective (points, the same as the validator's): unplaced households, preference ranks, class
days, each adult's busiest day, visits moved since the previous schedule, and teachers' travel.
Travel is where the model is a relaxation: a visit right after one of its three nearest families
costs exactly that drive; right after any other family it costs at least the drive from the
nearest of the others; after a gap it costs at least the drive from the nearest possible place.
So the model's value never exceeds the real objective and CP-SAT's proven bound is a valid lower
bound on the real (validated) objective over schedules that keep the team rule of `options`.

Above SEQUENCE_LIMIT options (a whole school) CP-SAT does not pay its way in seconds: its search
barely moves from the greedy start, and its own bound is far below zero. There the greedy
schedule goes straight to the annealing search (search.py), which scores every move on the exact
objective with real routes, and the LP relaxation of the model without the travel sequence
(bound.py) gives the proven bound. Every schedule, from either path, then goes through the search
and the stop ordering, which can only lower the exact objective.
"""

import math
import time
from collections import defaultdict
from collections.abc import Callable

from ortools.sat.python import cp_model

from app.scheduling.solver.bound import lp_bound, min_unplaced
from app.scheduling.solver.budget import (
    BOUND_BY,
    DONE_BY,
    EXACT_DAYS_BY,
    ORDER_BY,
    SEARCH_BY,
    STARTS_BY,
    Budget,
)
from app.scheduling.solver.coarse import coarse
from app.scheduling.solver.explain import explain_unmet, explain_unplaced
from app.scheduling.solver.greedy import (
    Assignment,
    Timetable,
    office_baseline,
    visits_of,
    warm_start,
)
from app.scheduling.solver.insertion import place_unplaced
from app.scheduling.solver.model import add_hints, build_model
from app.scheduling.solver.options import Prepared, prepare
from app.scheduling.solver.problem import Instance, Schedule, SolveStats
from app.scheduling.solver.relax import relaxed_start
from app.scheduling.solver.search import (
    FINE_LNS_SHARE,
    LNS_SHARE,
    STEPS_PER_SECOND,
    anneal_until,
)
from app.scheduling.solver.stops import order_stops, sequence_stops

WORKERS = 2  # fixed, with interleaved search, so a seed always gives the same schedule
# Above this many options the travel sequence makes the model too big to search in seconds;
# visits are then priced at their shortest possible drive and the stops ordered afterwards.
SEQUENCE_LIMIT = 1500
DETERMINISTIC_SHARE = 0.2  # of the time limit, in CP-SAT's deterministic seconds
# Building the sequence model runs at about this many options a second here (a busy machine):
# CP-SAT is tried only when the build and its deterministic time fit before its deadline.
MODEL_OPTIONS_PER_SECOND = 1_000
# Of the time limit, as annealing steps at the calibrated rate: less than the search's window
# (budget.STARTS_BY to SEARCH_BY), so a machine that keeps pace ends by steps, the same schedule
# every time; the clock stops the search at SEARCH_BY whatever the steps.
SEARCH_SHARE = 0.4


Progress = Callable[[float], None]


def solve(
    instance: Instance,
    progress: Progress | None = None,
    *,
    lns_share: float = LNS_SHARE,
    exact_days: bool = True,
    relaxed: bool = False,
) -> Schedule:
    """The best schedule found in the time limit, its proven bound and every reason.
    `progress`, if given, hears the share of the work done (0 to 1) as it goes.

    The time limit is a wall-clock budget for the whole run (budget.py gives each phase its
    share). On a machine that keeps pace, every phase ends by its own measure (CP-SAT's
    deterministic time, the search's fixed steps) and a seed always gives the same schedule. On a
    slow or busy machine the clock ends a phase first: the answer still comes within the limit,
    but with fewer search steps (stats.notes says how many), so it may differ from run to run,
    and the bound may come from the cheaper day LP (a weaker bound, a wider gap).
    `lns_share`: the share of the search's work on large-neighbourhood moves (0 for none: the
    benchmark's comparison); a fine grid takes search.FINE_LNS_SHARE instead of any other.
    `exact_days` False: the stop ordering without the exact sequencing of each teacher's day
    (the benchmark's comparison). `relaxed`: a third start from the day-assignment relaxation
    (relax.py), given half the time left for the starts; off by default, as it measured no
    better than the greedy start (README, "Measured figures")."""
    report = progress or _ignore
    budget = Budget(instance.time_limit_seconds)
    prepared = prepare(instance)
    # On a fine grid, the starts and the search work on its coarse rhythm and listed times
    # (coarse.py); the stop ordering and the final insertion then use every start.
    searched = coarse(prepared)
    if searched is not prepared and lns_share > 0:
        lns_share = FINE_LNS_SHARE  # the benchmark's comparison without LNS stays at 0
    report(0.05)
    stats = SolveStats()
    starts_by = budget.deadline(STARTS_BY)
    starts = [warm_start(searched, starts_by), office_baseline(searched)]
    if relaxed:
        relax_by = (time.perf_counter() + starts_by) / 2
        found = relaxed_start(searched, relax_by, starts[0], instance.seed)
        if found is not None:
            starts.append(found)
    assignment: Assignment = {}
    model_bounds: list[tuple[list[str], int]] = []
    components = _components(searched)
    total = sum(len(c) for c in components) or 1
    for households in components:
        share = instance.time_limit_seconds * len(households) / total
        found, found_bound, status = _solve_component(
            searched, households, share, starts, starts_by
        )
        if searched is not prepared:
            found_bound = 0  # a bound over fewer options bounds nothing of the full grid
        assignment.update(found)
        model_bounds.append((households, found_bound))
        stats.notes.append(status)
        report(0.05 + 0.35 * len(assignment) / total)
    steps = int(instance.time_limit_seconds * SEARCH_SHARE * STEPS_PER_SECOND)
    assignment, taken = anneal_until(
        searched,
        assignment,
        steps,
        instance.seed,
        lambda share: report(0.4 + 0.5 * share),
        budget.deadline(SEARCH_BY),
        lns_share,
    )
    if taken < steps:
        stats.notes.append(f"search stopped by the clock after {taken} of {steps} steps")
    report(0.9)
    assignment = order_stops(prepared, assignment, budget.deadline(ORDER_BY))
    # The bound does not depend on the schedule: it takes its share before the exact sequencing
    # of teachers' days, which then has what the bound left (the same bound as without it).
    bound = _bound(prepared, model_bounds, budget)
    report(0.95)
    if exact_days:
        assignment = sequence_stops(prepared, assignment, budget.deadline(EXACT_DAYS_BY))
    assignment = place_unplaced(prepared, assignment)  # last: no family that fits is left out
    report(1.0)
    stats.components = len(components)
    stats.status = _overall(stats.notes)
    return _schedule(prepared, assignment, bound, stats, budget)


def _bound(prepared: Prepared, model_bounds: list[tuple[list[str], int]], budget: Budget) -> int:
    """Per component, the better of CP-SAT's bound and the LP's, the LPs sharing what is left of
    the bound's share of the time by size."""
    total = sum(len(households) for households, _ in model_bounds) or 1
    bound = 0
    for households, model_bound in model_bounds:
        seconds = budget.left(BOUND_BY) * len(households) / total
        bound += max(model_bound, lp_bound(prepared, households, seconds))
        total -= len(households)
    return bound


def _ignore(_share: float) -> None:
    return None


def _overall(notes: list[str]) -> str:
    statuses = [n for n in notes if not n.startswith("search stopped")]
    if statuses and all(s == "OPTIMAL" for s in statuses):
        return "OPTIMAL"
    return "FEASIBLE" if statuses else "EMPTY"


def _schedule(
    prepared: Prepared, assignment: Assignment, bound: int, stats: SolveStats, budget: Budget
) -> Schedule:
    objective = exact_objective(prepared, assignment)
    stats.objective = objective
    stats.best_bound = min(bound, objective)
    stats.gap = (objective - stats.best_bound) / objective if objective else 0.0
    if stats.gap > 0 and stats.status == "OPTIMAL":
        # Each part proven optimal is not the whole: the search and the stop order change the
        # schedule after, so only a closed gap proves the result.
        stats.status = "FEASIBLE"
    stats.moved = _moved(prepared, assignment)
    unplaced = explain_unplaced(prepared, assignment)
    if unplaced:  # only then is the proof worth its LP
        stats.unplaced_minimum = min_unplaced(
            prepared, sorted(prepared.households), budget.left(DONE_BY)
        )
    stats.wall_seconds = budget.elapsed()
    return Schedule(
        visits=visits_of(prepared, assignment),
        unplaced=unplaced,
        unmet_preferences=explain_unmet(prepared, assignment),
        stats=stats,
    )


def _moved(prepared: Prepared, assignment: Assignment) -> int:
    return sum(
        1
        for p in prepared.instance.previous
        if p.household_id in prepared.households
        and (p.household_id not in assignment or assignment[p.household_id].slot_id != p.slot_id)
    )


def _components(prepared: Prepared) -> list[list[str]]:
    """Households linked through any adult who could visit both: solved apart, bounds added."""
    parent = {h: h for h in prepared.households}

    def find(h: str) -> str:
        while parent[h] != h:
            parent[h] = parent[parent[h]]
            h = parent[h]
        return h

    first_by_adult: dict[str, str] = {}
    for option in prepared.options:
        for adult in option.adult_ids:
            other = first_by_adult.setdefault(adult, option.household_id)
            parent[find(other)] = find(option.household_id)
    groups: dict[str, list[str]] = defaultdict(list)
    for h in sorted(prepared.households):
        groups[find(h)].append(h)
    return sorted(groups.values(), key=lambda g: g[0])


# --- The exact objective (the validator computes the same independently) --------------------


def exact_objective(prepared: Prepared, assignment: Assignment) -> int:
    weights = prepared.instance.weights
    table = Timetable(prepared)
    for option in assignment.values():
        table.add(option)
    unplaced = len(prepared.households) - len(assignment)
    preference = sum(prepared.preference_cost(h, o.slot_id) for h, o in assignment.items())
    travel = sum(table.route(a, d) for (a, d) in table.days if a in prepared.lead_ids)
    class_days = {
        (c, prepared.slots[o.slot_id].day)
        for h, o in assignment.items()
        for c in prepared.households[h].classes
    }
    peaks: dict[str, int] = defaultdict(int)
    for (adult, _), day in table.days.items():
        peaks[adult] = max(peaks[adult], len(day))
    return (
        unplaced * weights.unplaced
        + preference
        + travel * weights.travel_tenth_minute
        + len(class_days) * weights.class_day
        + sum(peaks.values()) * weights.peak_visit
        + _moved(prepared, assignment) * weights.moved
    )


# --- Solving one component --------------------------------------------------------------------


def _solve_component(
    prepared: Prepared,
    households: list[str],
    seconds: float,
    starts: list[Assignment],
    deadline: float,
) -> tuple[Assignment, int, str]:
    """CP-SAT from the better greedy start when the component is small enough for the travel
    sequence and there is time before `deadline`; its proven bound (0 without CP-SAT: the LP's
    comes later, in `_bound`)."""
    wanted = set(households)
    warm = min(
        ({h: o for h, o in start.items() if h in wanted} for start in starts),
        key=lambda a: exact_objective(prepared, a),
    )
    size = sum(len(prepared.by_household[h]) for h in households)
    deterministic = max(0.2, seconds * DETERMINISTIC_SHARE)
    needs = size / MODEL_OPTIONS_PER_SECOND + deterministic
    if size > SEQUENCE_LIMIT or deadline - time.perf_counter() < needs:
        return warm, 0, "GREEDY"
    built = build_model(prepared, households)
    add_hints(built, warm)
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = WORKERS
    params.interleave_search = True  # deterministic whatever the machine's load
    params.random_seed = prepared.instance.seed
    params.cp_model_probing_level = 0  # probing costs seconds on a school for little gain
    params.max_deterministic_time = deterministic
    # The wall clock stops it only when the machine is slow: normally the deterministic limit
    # comes first, which keeps the result the same from run to run.
    params.max_time_in_seconds = max(0.05, deadline - time.perf_counter())
    status = solver.solve(built.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return warm, 0, solver.status_name(status)
    chosen = {o.household_id: o for o in built.options if solver.boolean_value(built.x[o.index])}
    bound = max(0, math.ceil(solver.best_objective_bound - 1e-6))
    return chosen, bound, solver.status_name(status)
