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
from app.scheduling.solver.search import STEPS_PER_SECOND, anneal
from app.scheduling.solver.stops import order_stops

WORKERS = 2  # fixed, with interleaved search, so a seed always gives the same schedule
# Above this many options the travel sequence makes the model too big to search in seconds;
# visits are then priced at their shortest possible drive and the stops ordered afterwards.
SEQUENCE_LIMIT = 1500
DETERMINISTIC_SHARE = 0.3  # of the time limit, in CP-SAT's deterministic seconds
SEARCH_SHARE = 0.6  # of the time limit, as annealing steps at the calibrated rate


Progress = Callable[[float], None]


def solve(instance: Instance, progress: Progress | None = None) -> Schedule:
    """The best schedule found in the time limit, its proven bound and every reason.
    `progress`, if given, hears the share of the work done (0 to 1) as it goes."""
    report = progress or _ignore
    started = time.perf_counter()
    prepared = prepare(instance)
    report(0.05)
    stats = SolveStats()
    assignment: Assignment = {}
    bound = 0
    components = _components(prepared)
    total = sum(len(c) for c in components) or 1
    for households in components:
        share = instance.time_limit_seconds * len(households) / total
        found, found_bound, status = _solve_component(prepared, households, share)
        assignment.update(found)
        bound += found_bound
        stats.notes.append(status)
        report(0.05 + 0.35 * len(assignment) / total)
    steps = int(instance.time_limit_seconds * SEARCH_SHARE * STEPS_PER_SECOND)
    assignment = anneal(
        prepared, assignment, steps, instance.seed, lambda share: report(0.4 + 0.55 * share)
    )
    assignment = order_stops(prepared, assignment)
    assignment = place_unplaced(prepared, assignment)  # last: no family that fits is left out
    report(1.0)
    stats.components = len(components)
    stats.status = _overall(stats.notes)
    return _schedule(prepared, assignment, bound, stats, started)


def _ignore(_share: float) -> None:
    return None


def _overall(statuses: list[str]) -> str:
    if statuses and all(s == "OPTIMAL" for s in statuses):
        return "OPTIMAL"
    return "FEASIBLE" if statuses else "EMPTY"


def _schedule(
    prepared: Prepared, assignment: Assignment, bound: int, stats: SolveStats, started: float
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
        stats.unplaced_minimum = min_unplaced(prepared, sorted(prepared.households))
    stats.wall_seconds = time.perf_counter() - started
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
    prepared: Prepared, households: list[str], seconds: float
) -> tuple[Assignment, int, str]:
    """CP-SAT from the greedy schedule when the component is small enough for the travel
    sequence; the bound is the better of CP-SAT's and the LP's."""
    wanted = set(households)
    starts = [warm_start(prepared), office_baseline(prepared)]
    warm = min(
        ({h: o for h, o in start.items() if h in wanted} for start in starts),
        key=lambda a: exact_objective(prepared, a),
    )
    size = sum(len(prepared.by_household[h]) for h in households)
    if size > SEQUENCE_LIMIT:
        return warm, lp_bound(prepared, households), "GREEDY"
    built = build_model(prepared, households)
    add_hints(built, warm)
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = WORKERS
    params.interleave_search = True  # deterministic whatever the machine's load
    params.random_seed = prepared.instance.seed
    params.cp_model_probing_level = 0  # probing costs seconds on a school for little gain
    params.max_deterministic_time = max(0.2, seconds * DETERMINISTIC_SHARE)
    # A safety net only: the deterministic limit normally stops it first.
    params.max_time_in_seconds = max(2.0, seconds * 3)
    status = solver.solve(built.model)
    bound = lp_bound(prepared, households)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return warm, bound, solver.status_name(status)
    chosen = {o.household_id: o for o in built.options if solver.boolean_value(built.x[o.index])}
    bound = max(bound, math.ceil(solver.best_objective_bound - 1e-6))
    return chosen, bound, solver.status_name(status)
