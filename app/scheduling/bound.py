"""A proven lower bound on the objective, from the LP relaxation of the model without the travel
sequence (each visit's drive priced at the shortest that could lead to it).

Why not only CP-SAT's own bound: on a whole school, with two workers and ten seconds, its root LP
does not settle, and the bound it reports is far below zero. The same relaxation solved once by
GLOP is exact arithmetic's lower bound up to solver tolerance, which we subtract, and dropping
constraints (travel conflicts) only lowers it, so it stays valid.
"""

import math
from collections import defaultdict
from datetime import date
from typing import Any

from ortools.linear_solver import pywraplp  # type: ignore[import-untyped]  # no stubs

from app.scheduling.options import Option, Prepared

TOLERANCE = 1e-6


def lp_bound(prepared: Prepared, households: list[str]) -> int:
    solver = _lp_solver()
    if solver is None:
        return 0
    options = [o for h in households for o in prepared.by_household[h]]
    x = {o.index: solver.NumVar(0.0, 1.0, "") for o in options}
    objective: list[Any] = []
    _households(prepared, solver, households, x, objective)
    by_adult: dict[str, list[Option]] = defaultdict(list)
    for option in options:
        for adult in option.adult_ids:
            by_adult[adult].append(option)
    _adults(prepared, solver, by_adult, x, objective)
    _class_days(prepared, solver, options, x, objective)
    _travel_floor(prepared, by_adult, x, objective)
    solver.Minimize(solver.Sum(objective))
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return 0
    value = float(solver.Objective().Value())
    return max(0, math.floor(value - TOLERANCE * max(1.0, abs(value)) - 1))


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
) -> None:
    weights = prepared.instance.weights
    previous = {p.household_id: p.slot_id for p in prepared.instance.previous}
    for h in households:
        options = prepared.by_household[h]
        unplaced = solver.NumVar(0.0, 0.0 if prepared.households[h].locked else 1.0, "")
        solver.Add(solver.Sum([x[o.index] for o in options]) + unplaced == 1)
        objective.append(weights.unplaced * unplaced)
        objective += [prepared.preference_cost(h, o.slot_id) * x[o.index] for o in options]
        if h in previous:
            moved = solver.NumVar(0.0, 1.0, "")
            stays = [x[o.index] for o in options if o.slot_id == previous[h]]
            solver.Add(solver.Sum(stays) + moved >= 1)
            objective.append(weights.moved * moved)


def _adults(
    prepared: Prepared,
    solver: Any,
    by_adult: dict[str, list[Option]],
    x: dict[int, Any],
    objective: list[Any],
) -> None:
    slots, limit = prepared.slots, prepared.instance.max_visits_per_adult_per_day
    for options in by_adult.values():
        peak = solver.NumVar(0.0, limit, "")
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


def _class_days(
    prepared: Prepared, solver: Any, options: list[Option], x: dict[int, Any], objective: list[Any]
) -> None:
    limit = prepared.instance.max_visits_per_adult_per_day
    members: dict[tuple[str, date], list[Any]] = defaultdict(list)
    for option in options:
        day = prepared.slots[option.slot_id].day
        for class_id in set(prepared.households[option.household_id].classes):
            members[(class_id, day)].append(x[option.index])
    for literals in members.values():
        used = solver.NumVar(0.0, 1.0, "")
        objective.append(prepared.instance.weights.class_day * used)
        solver.Add(solver.Sum(literals) <= limit * used)


def _travel_floor(
    prepared: Prepared, by_adult: dict[str, list[Option]], x: dict[int, Any], objective: list[Any]
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
