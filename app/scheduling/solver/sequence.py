"""Exact sequencing of a team-day: which of a teacher's families that day goes at which of that
day's start times, and with which of the day's adults, at the least cost.

A team-day is one teacher's movable visits on one day. They stay on that day, and every adult
keeps their number of visits that day (so class days, busiest days and the daily maximum cannot
change); what can change is each family's start time and which of the day's adults go. The cost
is exactly the objective's terms that depend on it: preference ranks, visits moved since the
previous schedule, and the routes of the teachers involved, from school, through their visits
(the fixed ones they make with other teachers included) and back.

Starts are fixed slots, so each adult's day is a path forward in time: a node per (family,
start, adults) option and per fixed visit, an arc where the drive fits between two visits (from
the school's departure for the first, back by the day's end for the last), every chosen node
with exactly one arc in and one out. CP-SAT solves it to optimality in milliseconds for the ten
or so visits a team-day holds. Adults with the same nodes share one path (a class's teacher and
its own second adult, almost always).

On a fine grid the starts are cut to the coarse rhythm, the family's listed times, its previous
slot and the day's current starts (coarse.py): the same cost at a fraction of the nodes; the
stop ordering's single moves then see every start.
"""

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from ortools.sat.python import cp_model

from app.scheduling.solver.coarse import is_fine, rhythm
from app.scheduling.solver.options import Option, Prepared
from app.scheduling.solver.search import Search

# The solve of one team-day: ample for ten visits (a few milliseconds), a guard for more.
DAY_SECONDS = 0.5
DETERMINISTIC_SECONDS = 0.2


@dataclass
class _Day:
    """One team-day's model: an option's literal per candidate, its adults' paths."""

    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    chosen: dict[int, cp_model.IntVar] = field(default_factory=dict)  # option index -> literal
    candidates: list[Option] = field(default_factory=list)
    terms: list[tuple[int, cp_model.IntVar]] = field(default_factory=list)
    start: dict[str, cp_model.IntVar] = field(default_factory=dict)  # household -> its start
    end: dict[str, cp_model.IntVar] = field(default_factory=dict)


def sequence_days(prepared: Prepared, search: Search, deadline: float | None = None) -> int:
    """Re-sequence every teacher's day exactly, in a fixed order; how many days improved.
    Stops at `deadline` (time.perf_counter): each day only gets better."""
    allowed = rhythm(prepared.day_slots) if is_fine(prepared) else None
    improved = 0
    for lead, day in sorted(k for k in search.table.days if k[0] in prepared.lead_ids):
        if deadline is not None and time.perf_counter() > deadline:
            break
        improved += sequence_day(prepared, search, lead, day, allowed)
    return improved


def sequence_day(
    prepared: Prepared,
    search: Search,
    lead: str,
    day: date,
    allowed: set[str] | None = None,
) -> bool:
    """Put `lead`'s day in its best order (the search's schedule changes only if that is
    better); `allowed`, the starts to consider besides each family's listed, previous and the
    day's current ones (None: every start)."""
    table = search.table
    visits = [o for o in table.days.get((lead, day), ()) if _movable(prepared, o)]
    if not visits:
        return False
    best = optimal_day(prepared, search, visits, allowed)
    if best is None:
        return False
    return search.change_whole(visits, best, lambda delta: delta < 0) is not None


def optimal_day(
    prepared: Prepared,
    search: Search,
    visits: list[Option],
    allowed: set[str] | None = None,
) -> list[Option] | None:
    """The cheapest options for `visits`' families that day, their adults' other visits that day
    fixed; None when CP-SAT proves nothing better than what they have."""
    day = prepared.slots[visits[0].slot_id].day
    built = _build(prepared, search, visits, day, allowed)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # deterministic, and a team-day is too small to share
    solver.parameters.max_time_in_seconds = DAY_SECONDS
    solver.parameters.max_deterministic_time = DETERMINISTIC_SECONDS
    status = solver.solve(built.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    chosen = [o for o in built.candidates if solver.boolean_value(built.chosen[o.index])]
    if {o.index for o in chosen} == {o.index for o in visits}:
        return None
    return chosen


def _build(
    prepared: Prepared,
    search: Search,
    visits: list[Option],
    day: date,
    allowed: set[str] | None,
) -> _Day:
    built = _Day()
    moving = {o.household_id for o in visits}
    adults = sorted({a for o in visits for a in o.adult_ids})
    starts = {o.slot_id for o in visits}
    for option in visits:
        for candidate in _candidates(prepared, option.household_id, day, adults, starts, allowed):
            built.candidates.append(candidate)
            built.chosen[candidate.index] = built.model.new_bool_var(f"x{candidate.index}")
            built.terms.append(
                (_visit_cost(prepared, search, candidate), built.chosen[candidate.index])
            )
    for household_id in sorted(moving):
        own = [o for o in built.candidates if o.household_id == household_id]
        built.model.add_exactly_one(built.chosen[o.index] for o in own)
        for times, minute in ((built.start, _start), (built.end, _end)):
            values = [minute(prepared, o) for o in own]
            times[household_id] = built.model.new_int_var(min(values), max(values), "")
            built.model.add(
                times[household_id]
                == sum(v * built.chosen[o.index] for v, o in zip(values, own, strict=True))
            )
    fixed: dict[str, list[Option]] = {}
    for adult in adults:
        count = sum(adult in o.adult_ids for o in visits)
        built.model.add(
            sum(built.chosen[o.index] for o in built.candidates if adult in o.adult_ids) == count
        )
        fixed[adult] = [
            o for o in search.table.days.get((adult, day), ()) if o.household_id not in moving
        ]
    paths: dict[tuple[tuple[int, ...], tuple[int, ...]], list[str]] = defaultdict(list)
    for adult in adults:
        nodes = tuple(o.index for o in built.candidates if adult in o.adult_ids)
        paths[(nodes, tuple(o.index for o in fixed[adult]))].append(adult)
    for number, group in enumerate(paths.values()):
        leads = sum(a in prepared.lead_ids for a in group)
        _path(prepared, built, f"p{number}", group[0], fixed[group[0]], leads)
    built.model.minimize(sum(cost * literal for cost, literal in built.terms))
    _hint(prepared, built, visits)
    return built


def _candidates(
    prepared: Prepared,
    household_id: str,
    day: date,
    adults: list[str],
    starts: set[str],
    allowed: set[str] | None,
) -> list[Option]:
    """The family's options that day with the day's adults only, on the starts worth a look."""
    household = prepared.households[household_id]
    wanted: set[str] | None = None
    if allowed is not None:
        wanted = allowed | starts | set(household.preferences)
        wanted.update(
            p.slot_id for p in prepared.instance.previous if p.household_id == household_id
        )
    team = set(adults)
    return [
        o
        for o in prepared.by_household[household_id]
        if prepared.slots[o.slot_id].day == day
        and team.issuperset(o.adult_ids)
        and (wanted is None or o.slot_id in wanted)
    ]


def _start(prepared: Prepared, option: Option) -> int:
    return prepared.slots[option.slot_id].start_minute


def _end(prepared: Prepared, option: Option) -> int:
    return prepared.slots[option.slot_id].end_minute


def _visit_cost(prepared: Prepared, search: Search, option: Option) -> int:
    cost = prepared.preference_cost(option.household_id, option.slot_id)
    was = search.previous.get(option.household_id)
    if was is not None and was != option.slot_id:
        cost += prepared.instance.weights.moved
    return cost


def _path(
    prepared: Prepared,
    built: _Day,
    name: str,
    adult: str,
    fixed: list[Option],
    leads: int,
) -> None:
    """One adult's day (and those with the same nodes) as a circuit through the school, the
    families whose chosen option takes this adult, and the adult's fixed visits; an arc only
    where the drive fits between the two visits' times, so the circuit runs forward in time and
    its arcs are the route `Timetable.route` scores, each priced for the `leads` teachers on it."""
    model = built.model
    families = sorted({o.household_id for o in built.candidates if adult in o.adult_ids})
    nodes: list[_Node] = [_Node(None)]  # the school
    for household_id in families:
        present = model.new_bool_var(f"{name}{household_id}")
        model.add(
            sum(
                built.chosen[o.index]
                for o in built.candidates
                if o.household_id == household_id and adult in o.adult_ids
            )
            == present
        )
        nodes.append(
            _Node(household_id, built.start[household_id], built.end[household_id], present)
        )
    slots = prepared.slots
    for option in fixed:
        slot = slots[option.slot_id]
        nodes.append(_Node(option.household_id, slot.start_minute, slot.end_minute))
    weight = prepared.instance.weights.travel_tenth_minute * leads
    arcs: list[tuple[int, int, cp_model.LiteralT]] = []
    for i, node in enumerate(nodes):
        if node.present is not None:
            arcs.append((i, i, ~node.present))
        for j, other in enumerate(nodes):
            if i == j or (node.household_id is None and other.household_id is None):
                continue
            literal = _arc(prepared, model, node, other)
            if literal is None:
                continue
            arcs.append((i, j, literal))
            drive = prepared.travel(node.household_id, other.household_id)
            if other.household_id is None:
                drive = prepared.return_leg(node.household_id or "")
            if weight and drive:
                built.terms.append((weight * drive, literal))
    model.add_circuit(arcs)


@dataclass(frozen=True)
class _Node:
    """A stop of an adult's day: the school (no household), a fixed visit (fixed times) or a
    family being sequenced (its times variables, `present` when this adult goes)."""

    household_id: str | None
    start: cp_model.IntVar | int = 0
    end: cp_model.IntVar | int = 0
    present: cp_model.IntVar | None = None


def _arc(
    prepared: Prepared, model: cp_model.CpModel, node: _Node, other: _Node
) -> cp_model.IntVar | None:
    """The literal "`other` comes right after `node`", with the times it needs; None when it
    never can."""
    instance = prepared.instance
    drive = _minutes(prepared.travel(node.household_id, other.household_id))
    later: cp_model.LinearExprT
    earlier: cp_model.LinearExprT
    if node.household_id is None:  # leaving school: the first visit allows for the drive
        later, earlier = other.start, instance.school_departure_minute + drive
    elif other.household_id is None:  # back to school by the day's end
        back_by = instance.school_return_minute
        if back_by is None or prepared.households[node.household_id].locked is not None:
            return model.new_bool_var("")
        later, earlier = back_by - drive, node.end
    else:
        later, earlier = other.start, node.end + drive
    if isinstance(later, int) and isinstance(earlier, int):
        return model.new_bool_var("") if later >= earlier else None
    literal = model.new_bool_var("")
    model.add(later >= earlier).only_enforce_if(literal)
    return literal


def _minutes(tenths: int) -> int:
    """Whole minutes a drive needs between slot times (`(gap) * 10 >= tenths`)."""
    return -(-tenths // 10)


def _hint(prepared: Prepared, built: _Day, visits: list[Option]) -> None:
    """The day as it is: a feasible start, so CP-SAT only has to improve on it."""
    current = {o.index for o in visits}
    for index, literal in built.chosen.items():
        built.model.add_hint(literal, index in current)


def _movable(prepared: Prepared, option: Option) -> bool:
    return prepared.households[option.household_id].locked is None
