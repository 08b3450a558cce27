"""An exact model for small instances: the yardstick that measures the solver's true gap.

The solver's CP-SAT model (model.py) prices travel from below (exact only for near neighbours at
consecutive slots), so its optimum is a bound, not the best schedule. Here each adult's day is a
route: a circuit through the school and the (household, slot) visits the adult makes that day,
with an arc only where the drive fits between the two visits (from the school's departure for the
first, back by the day's end for the last), each arc priced at its drive for the teachers whose
travel the objective counts. Arcs run forward in time only, so the circuit is the day in time
order and its arcs' drives are exactly the route `Timetable.route` scores. Every other term is the
solver model's own (preferences, unplaced, class days, busiest days, moves), so an optimum here
is the true optimum of the validator's objective over the options' space.

It is big (an arc per pair of an adult's visits a day): for a class or two over a few days,
proved in seconds to minutes; never for a school. The benchmark (`bench/scheduler.py --exact`)
and the tests use it; the API does not.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from ortools.sat.python import cp_model

from app.scheduling.solver.greedy import Assignment
from app.scheduling.solver.model import CpsatModel, build_model, one_literal
from app.scheduling.solver.options import Prepared

WORKERS = 2


@dataclass(frozen=True)
class ExactResult:
    status: str  # CP-SAT's: OPTIMAL when the optimum is proven
    objective: int | None  # the best schedule's objective (the validator's), None if none
    bound: int  # CP-SAT's proven lower bound
    assignment: Assignment
    seconds: float


def build_exact_model(prepared: Prepared, households: list[str]) -> CpsatModel:
    """The solver model's terms with each adult's day as an exact route."""
    built = build_model(prepared, households, sequence=False, lead_travel=False)
    for adult in sorted(built.by_adult):
        _routes(built, adult)
    built.model.minimize(sum(c * v for c, v in built.terms) + built.constant)
    return built


def solve_exact(prepared: Prepared, seconds: float, seed: int = 1) -> ExactResult:
    """The proven optimum (status OPTIMAL) within `seconds` of wall time, or the best found."""
    built = build_exact_model(prepared, sorted(prepared.households))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = WORKERS
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = seconds
    status = solver.solve(built.model)
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    assignment = (
        {o.household_id: o for o in built.options if solver.boolean_value(built.x[o.index])}
        if found
        else {}
    )
    return ExactResult(
        status=solver.status_name(status),
        objective=round(solver.objective_value) if found else None,
        bound=round(solver.best_objective_bound),
        assignment=assignment,
        seconds=solver.wall_time,
    )


def _routes(built: CpsatModel, adult: str) -> None:
    """One circuit per day through the school (node 0) and the adult's possible visits."""
    prepared = built.prepared
    by_day: dict[date, dict[tuple[str, str], list[cp_model.IntVar]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for option in built.by_adult[adult]:
        day = prepared.slots[option.slot_id].day
        by_day[day][(option.household_id, option.slot_id)].append(built.x[option.index])
    for _day, grouped in sorted(by_day.items()):
        keys = sorted(grouped, key=lambda k: (prepared.slot_order[k[1]], k[0]))
        at = [one_literal(built, grouped[k]) for k in keys]
        _circuit(built, adult, keys, at)


def _circuit(
    built: CpsatModel, adult: str, keys: list[tuple[str, str]], at: list[cp_model.IntVar]
) -> None:
    prepared, model = built.prepared, built.model
    counted = adult in prepared.lead_ids  # only teachers' travel is in the objective
    works = model.new_bool_var("")
    for literal in at:
        model.add_implication(literal, works)
    model.add_bool_or(at).only_enforce_if(works)
    arcs: list[tuple[int, int, cp_model.LiteralT]] = [(0, 0, works.Not())]
    departure = prepared.instance.school_departure_minute

    def arc(tail: int, head: int, drive: int) -> None:
        literal = model.new_bool_var("")
        arcs.append((tail, head, literal))
        if counted and drive:
            built.terms.append((drive * prepared.instance.weights.travel_tenth_minute, literal))

    for i, (h, s) in enumerate(keys, start=1):
        slot = prepared.slots[s]
        arcs.append((i, i, at[i - 1].Not()))
        if (slot.start_minute - departure) * 10 >= prepared.travel(None, h):
            arc(0, i, prepared.travel(None, h))
        if not prepared.returns_late(h, slot) or prepared.households[h].locked is not None:
            arc(i, 0, prepared.return_leg(h))
        for j, (other, t) in enumerate(keys, start=1):
            later = prepared.slots[t]
            if other == h or later.start_minute < slot.end_minute:
                continue
            drive = prepared.travel(h, other)
            if (later.start_minute - slot.end_minute) * 10 >= drive:
                arc(i, j, drive)
    model.add_circuit(arcs)
