"""A proven lower bound on the objective, from the LP relaxation of the model without the travel
sequence (each visit's drive priced at the shortest that could lead to it).

Why not only CP-SAT's own bound: on a whole school, with two workers and ten seconds, its root LP
does not settle, and the bound it reports is far below zero. The same relaxation solved once by
GLOP is exact arithmetic's lower bound up to solver tolerance, which we subtract, and dropping
constraints (travel conflicts) only lowers it, so it stays valid.
"""

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from ortools.linear_solver import pywraplp  # type: ignore[import-untyped]  # no stubs

from app.scheduling.solver.options import Option, Prepared

TOLERANCE = 1e-6


def lp_bound(prepared: Prepared, households: list[str]) -> int:
    solver = _lp_solver()
    if solver is None:
        return 0
    objective: list[Any] = []
    placement = _placement(prepared, solver, households, objective)
    used = _class_days(prepared, solver, placement.options, placement.x, objective)
    _days_against_peaks(prepared, solver, households, placement.unplaced, placement.peaks, used)
    _travel_floor(prepared, solver, placement.by_adult, placement.x, objective)
    solver.Minimize(solver.Sum(objective))
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return 0
    value = float(solver.Objective().Value())
    return max(0, math.floor(value - TOLERANCE * max(1.0, abs(value)) - 1))


def min_unplaced(prepared: Prepared, households: list[str]) -> int:
    """A proven lower bound on how many of `households` no valid schedule can place: the LP of
    placing as many as possible within each adult's one-place-at-a-time and daily limits. When
    a schedule leaves exactly this many out, no schedule could have placed more."""
    solver = _lp_solver()
    if solver is None:
        return 0
    priced: list[Any] = []  # the costs the placement adds are not what is minimised here
    placement = _placement(prepared, solver, households, priced)
    solver.Minimize(solver.Sum(list(placement.unplaced.values())))
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return 0
    value = float(solver.Objective().Value())
    return max(0, math.ceil(value - TOLERANCE * max(1.0, abs(value))))


@dataclass(frozen=True)
class _Placement:
    options: list[Option]
    x: dict[int, Any]
    unplaced: dict[str, Any]
    by_adult: dict[str, list[Option]]
    peaks: dict[str, Any]


def _placement(
    prepared: Prepared, solver: Any, households: list[str], objective: list[Any]
) -> _Placement:
    """Each household placed once or not at all, each adult in one place at a time and within
    the daily limit: the relaxation both LPs share."""
    options = [o for h in households for o in prepared.by_household[h]]
    x = {o.index: solver.NumVar(0.0, 1.0, "") for o in options}
    unplaced = _households(prepared, solver, households, x, objective)
    by_adult: dict[str, list[Option]] = defaultdict(list)
    for option in options:
        for adult in option.adult_ids:
            by_adult[adult].append(option)
    peaks = _adults(prepared, solver, by_adult, x, objective)
    return _Placement(options, x, unplaced, by_adult, peaks)


def _lp_solver() -> Any:
    """COIN-OR's CLP where the OR-Tools build has it (three times faster than GLOP on a
    school); GLOP's dual simplex otherwise."""
    solver = pywraplp.Solver.CreateSolver("CLP")
    if solver is not None:
        return solver
    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is not None:
        solver.SetSolverSpecificParametersAsString("use_dual_simplex: true")
    return solver


def _households(
    prepared: Prepared, solver: Any, households: list[str], x: dict[int, Any], objective: list[Any]
) -> dict[str, Any]:
    weights = prepared.instance.weights
    previous = {p.household_id: p.slot_id for p in prepared.instance.previous}
    found: dict[str, Any] = {}
    for h in households:
        options = prepared.by_household[h]
        unplaced = found[h] = solver.NumVar(0.0, 0.0 if prepared.households[h].locked else 1.0, "")
        solver.Add(solver.Sum([x[o.index] for o in options]) + unplaced == 1)
        objective.append(weights.unplaced * unplaced)
        objective += [prepared.preference_cost(h, o.slot_id) * x[o.index] for o in options]
        if h in previous:
            moved = solver.NumVar(0.0, 1.0, "")
            stays = [x[o.index] for o in options if o.slot_id == previous[h]]
            solver.Add(solver.Sum(stays) + moved >= 1)
            objective.append(weights.moved * moved)
    return found


def _adults(
    prepared: Prepared,
    solver: Any,
    by_adult: dict[str, list[Option]],
    x: dict[int, Any],
    objective: list[Any],
) -> dict[str, Any]:
    slots, limit = prepared.slots, prepared.instance.max_visits_per_adult_per_day
    peaks: dict[str, Any] = {}
    for adult, options in by_adult.items():
        peak = peaks[adult] = solver.NumVar(0.0, limit, "")
        objective.append(prepared.instance.weights.peak_visit * peak)
        by_day: dict[date, list[Any]] = defaultdict(list)
        by_slot: dict[str, list[Any]] = defaultdict(list)
        for option in options:
            by_day[slots[option.slot_id].day].append(x[option.index])
            by_slot[option.slot_id].append(x[option.index])
        for literals in by_day.values():
            solver.Add(solver.Sum(literals) <= peak)
        for start_id in by_slot:
            start = slots[start_id]
            on = [
                v
                for slot_id, literals in by_slot.items()
                for v in literals
                if slots[slot_id].day == start.day
                and slots[slot_id].start_minute <= start.start_minute < slots[slot_id].end_minute
            ]
            solver.Add(solver.Sum(on) <= 1)
    return peaks


def _class_days(
    prepared: Prepared, solver: Any, options: list[Option], x: dict[int, Any], objective: list[Any]
) -> dict[tuple[str, date], Any]:
    limit = prepared.instance.max_visits_per_adult_per_day
    members: dict[tuple[str, date], list[Any]] = defaultdict(list)
    for option in options:
        day = prepared.slots[option.slot_id].day
        for class_id in set(prepared.households[option.household_id].classes):
            members[(class_id, day)].append(x[option.index])
    found: dict[tuple[str, date], Any] = {}
    for key, literals in members.items():
        used = found[key] = solver.NumVar(0.0, 1.0, "")
        objective.append(prepared.instance.weights.class_day * used)
        solver.Add(solver.Sum(literals) <= limit * used)
    return found


def _days_against_peaks(
    prepared: Prepared,
    solver: Any,
    households: list[str],
    unplaced: dict[str, Any],
    peaks: dict[str, Any],
    used: dict[tuple[str, date], Any],
) -> None:
    """A class of n families with one teacher, visited on D days, gives that teacher a busiest
    day of at least ceil(n / D) visits. The LP alone spreads a class thinly over every day and
    pays for fractions of days; these cuts (the lower convex hull of the whole-number points,
    relaxed when any of the class's families goes unplaced) make it choose, as a real schedule
    must, between fewer days and fuller ones."""
    limit = prepared.instance.max_visits_per_adult_per_day
    for team in prepared.instance.teams:
        if len(team.teacher_ids) != 1 or team.teacher_ids[0] not in peaks:
            continue
        # A locked visit keeps its own adults, who need not include the teacher.
        members = [
            h
            for h in households
            if team.class_id in prepared.households[h].classes
            and prepared.households[h].locked is None
        ]
        days = [v for (class_id, _), v in used.items() if class_id == team.class_id]
        fewest = math.ceil(len(members) / limit)
        if not members or len(days) < fewest:
            continue
        peak, count = peaks[team.teacher_ids[0]], solver.Sum(days)
        slack = solver.Sum([unplaced[h] for h in members])
        solver.Add(count >= fewest - fewest * slack)
        points = [(k, math.ceil(len(members) / k)) for k in range(fewest, len(days) + 1)]
        for (k1, p1), (k2, p2) in itertools.pairwise(_lower_hull(points)):
            slope = (p2 - p1) / (k2 - k1)
            floor = p1 - slope * k1
            solver.Add(peak - slope * count >= floor - floor * slack)


def _lower_hull(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The lower convex hull of points sorted by their first coordinate."""
    hull: list[tuple[int, int]] = []
    for point in points:
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], point) <= 0:
            hull.pop()
        hull.append(point)
    return hull


def _cross(o: tuple[int, int], a: tuple[int, int], b: tuple[int, int]) -> int:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _travel_floor(
    prepared: Prepared,
    solver: Any,
    by_adult: dict[str, list[Option]],
    x: dict[int, Any],
    objective: list[Any],
) -> None:
    """Per teacher and visit: from school if it is the day's first slot, else the shortest
    drive from school or any other home the teacher might visit."""
    for adult, options in by_adult.items():
        if adult not in prepared.lead_ids:
            continue
        homes = sorted({o.household_id for o in options})
        nearest = {
            h: min([prepared.travel(None, h), *(prepared.travel(o, h) for o in homes if o != h)])
            for h in homes
        }
        for option in options:
            h = option.household_id
            first = prepared.previous_slot[option.slot_id] is None
            floor = prepared.travel(None, h) if first else nearest[h]
            if floor:
                objective.append(
                    prepared.instance.weights.travel_tenth_minute * floor * x[option.index]
                )
        _return_floor(prepared, solver, options, x, objective)


def _return_floor(
    prepared: Prepared, solver: Any, options: list[Option], x: dict[int, Any], objective: list[Any]
) -> None:
    """One teacher's drives back to school: each day they work, at least the shortest drive
    back from any home they might visit that day (a day of at most `limit` visits is worked at
    least visits / limit of a day in the relaxation)."""
    if prepared.instance.school_return_minute is None:
        return
    limit = prepared.instance.max_visits_per_adult_per_day
    by_day: dict[date, list[Option]] = defaultdict(list)
    for option in options:
        by_day[prepared.slots[option.slot_id].day].append(option)
    for day_options in by_day.values():
        floor = min(prepared.return_leg(o.household_id) for o in day_options)
        if not floor:
            continue
        works = solver.NumVar(0.0, 1.0, "")
        solver.Add(solver.Sum([x[o.index] for o in day_options]) <= limit * works)
        objective.append(prepared.instance.weights.travel_tenth_minute * floor * works)
