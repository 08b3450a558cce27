"""A day-assignment relaxation, solved first and then repaired into exact times: a third starting
schedule beside the two greedy ones (the better start is kept).

The relaxation gives each family a day (and with it the team of its classes), not a time: per
teacher and day at most as many visits as the daily maximum and the day's non-overlapping starts
allow; a family's listed time is a choice of its own, one family per teacher at any moment, so
two families cannot both count on one teacher's 10:00; otherwise the family is on that day at a
time it did not list. Its cost is the objective's where a day decides it: preference ranks,
each day a class has visits on, families left out, and a travel proxy: a family's drive counts
from its nearest classmate on the same day (one of its three nearest) or else from school, so
nearby homes are drawn onto the same days. CP-SAT solves it under a deterministic time limit.

The repair then places the families in the greedy start's order (hardest first), each at its
cheapest fitting time on its day (its listed one when the relaxation gave it and it is free),
priced by its preference and the extra driving; a family that fits nowhere on its day takes its
cheapest fitting option on any day. (A repair by regret per teacher's day, tried first, left
families out that the greedy order places.)
"""

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from ortools.sat.python import cp_model

from app.scheduling.solver.coarse import rhythm
from app.scheduling.solver.greedy import Assignment, Timetable, hardest_first
from app.scheduling.solver.options import Option, Prepared, adult_free
from app.scheduling.solver.problem import overlaps

WORKERS = 2
NEIGHBOURS = 3  # nearest classmates a family's drive may count from
# Of the time limit, as CP-SAT's deterministic seconds (its own measure: the same answer on a
# machine that keeps pace); the wall clock cuts it only on a slow one.
DETERMINISTIC_SHARE = 0.1
MIN_SECONDS = 0.2  # less than this left: no relaxation, the greedy starts only


@dataclass
class _Relaxation:
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    # household -> day -> the literals "on that day" (its listed times that day, and one for
    # any other time that day)
    on_day: dict[str, dict[date, list[cp_model.IntVar]]] = field(default_factory=dict)
    listed: dict[tuple[str, str], cp_model.IntVar] = field(default_factory=dict)
    terms: list[tuple[int, cp_model.IntVar]] = field(default_factory=list)
    unplaced: dict[str, cp_model.IntVar] = field(default_factory=dict)
    class_days: dict[tuple[str, date], cp_model.IntVar] = field(default_factory=dict)
    # (household, classmate, day) -> "both on that day", which saves the family's drive
    together: dict[tuple[str, str, date], cp_model.IntVar] = field(default_factory=dict)


def relaxed_start(
    prepared: Prepared, deadline: float, hint: Assignment | None = None, seed: int = 1
) -> Assignment | None:
    """A complete schedule from the relaxation's days, or None when there is no time for it
    (`deadline`, time.perf_counter) or CP-SAT finds no assignment in it. CP-SAT's own
    deterministic limit is a share of the instance's time limit, so a seed gives the same start
    on any machine that keeps pace."""
    if deadline - time.perf_counter() < MIN_SECONDS:
        return None
    built = _build(prepared)
    if hint:
        _hint(built, hint, prepared)
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = WORKERS
    params.interleave_search = True  # deterministic whatever the machine's load
    params.random_seed = seed
    params.max_deterministic_time = prepared.instance.time_limit_seconds * DETERMINISTIC_SHARE
    params.max_time_in_seconds = max(0.05, deadline - time.perf_counter())
    status = solver.solve(built.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    days: dict[str, tuple[date, str | None]] = {}
    for household_id, by_day in built.on_day.items():
        for day, literals in by_day.items():
            if any(solver.boolean_value(v) for v in literals):
                slot = next(
                    (
                        s
                        for (h, s), v in built.listed.items()
                        if h == household_id and solver.boolean_value(v)
                    ),
                    None,
                )
                days[household_id] = (day, slot)
    return repair(prepared, days)


# --- The relaxation ---------------------------------------------------------------------------


def _build(prepared: Prepared) -> _Relaxation:
    built = _Relaxation()
    model, weights = built.model, prepared.instance.weights
    on_teacher_day: dict[tuple[str, date], list[cp_model.IntVar]] = defaultdict(list)
    listed_by_teacher: dict[str, list[tuple[str, cp_model.IntVar]]] = defaultdict(list)
    class_days = built.class_days
    for household_id in sorted(prepared.households):
        household = prepared.households[household_id]
        by_day = _options_by_day(prepared, household_id)
        if household.locked is not None or not by_day:
            continue
        built.on_day[household_id] = {}
        for day, options in sorted(by_day.items()):
            literals = _day_literals(prepared, built, household_id, day, options, listed_by_teacher)
            built.on_day[household_id][day] = literals
            for teacher in _teachers(options):
                on_teacher_day[(teacher, day)].extend(literals)
            for class_id in set(household.classes):
                used = class_days.get((class_id, day))
                if used is None:
                    used = class_days[(class_id, day)] = model.new_bool_var("")
                    built.terms.append((weights.class_day, used))
                for literal in literals:
                    model.add_implication(literal, used)
        unplaced = built.unplaced[household_id] = model.new_bool_var("")
        everywhere = [v for literals in built.on_day[household_id].values() for v in literals]
        model.add_exactly_one([*everywhere, unplaced])
        built.terms.append((weights.unplaced, unplaced))
    _capacities(prepared, built, on_teacher_day)
    _one_at_a_time(prepared, built, listed_by_teacher)
    _travel_proxy(prepared, built)
    model.minimize(sum(cost * literal for cost, literal in built.terms))
    return built


def _options_by_day(prepared: Prepared, household_id: str) -> dict[date, list[Option]]:
    found: dict[date, list[Option]] = defaultdict(list)
    for option in prepared.by_household[household_id]:
        found[prepared.slots[option.slot_id].day].append(option)
    return found


def _teachers(options: list[Option]) -> set[str]:
    """The teachers every one of a family's options that day takes (a job share's may vary)."""
    common = set(options[0].teacher_ids)
    for option in options[1:]:
        common &= set(option.teacher_ids)
    return common


def _day_literals(
    prepared: Prepared,
    built: _Relaxation,
    household_id: str,
    day: date,
    options: list[Option],
    listed_by_teacher: dict[str, list[tuple[str, cp_model.IntVar]]],
) -> list[cp_model.IntVar]:
    """One literal per listed time the family can have that day, one for any other time."""
    model = built.model
    preferences = set(prepared.households[household_id].preferences)
    literals = []
    for slot_id in sorted({o.slot_id for o in options if o.slot_id in preferences}):
        literal = built.listed[(household_id, slot_id)] = model.new_bool_var("")
        built.terms.append((prepared.preference_cost(household_id, slot_id), literal))
        literals.append(literal)
        for teacher in _teachers([o for o in options if o.slot_id == slot_id]):
            listed_by_teacher[teacher].append((slot_id, literal))
    others = [o.slot_id for o in options if o.slot_id not in preferences]
    if others:
        literal = model.new_bool_var("")
        cost = min(prepared.preference_cost(household_id, s) for s in others)
        built.terms.append((cost, literal))
        literals.append(literal)
    return literals


def _capacities(
    prepared: Prepared,
    built: _Relaxation,
    on_teacher_day: dict[tuple[str, date], list[cp_model.IntVar]],
) -> None:
    """Per teacher and day: the daily maximum, and no more visits than the day's starts on the
    back-to-back rhythm when the teacher is free."""
    starts = rhythm(prepared.day_slots)
    limit = prepared.instance.max_visits_per_adult_per_day
    for (teacher, day), literals in sorted(on_teacher_day.items()):
        adult = prepared.adults[teacher]
        free = sum(1 for s in prepared.day_slots[day] if s.id in starts and adult_free(adult, s))
        built.model.add(sum(literals) <= min(limit, free))


def _one_at_a_time(
    prepared: Prepared,
    built: _Relaxation,
    listed_by_teacher: dict[str, list[tuple[str, cp_model.IntVar]]],
) -> None:
    """Families counting on their listed times: one per teacher at any moment."""
    slots = prepared.slots
    for teacher in sorted(listed_by_teacher):
        chosen = listed_by_teacher[teacher]
        for slot_id in sorted({s for s, _ in chosen}):
            here = slots[slot_id]
            clashing = [
                literal
                for other, literal in chosen
                if slots[other].day == here.day
                and overlaps(
                    slots[other].start_minute,
                    slots[other].end_minute,
                    here.start_minute,
                    here.start_minute + 1,
                )
            ]
            if len(clashing) > 1:
                built.model.add_at_most_one(clashing)


def _travel_proxy(prepared: Prepared, built: _Relaxation) -> None:
    """Each family placed pays the drive from school, less what it saves coming from one of its
    nearest classmates on the same day."""
    model, weight = built.model, prepared.instance.weights.travel_tenth_minute
    by_class: dict[str, list[str]] = defaultdict(list)
    for household_id in built.on_day:
        for class_id in set(prepared.households[household_id].classes):
            by_class[class_id].append(household_id)
    for household_id, by_day in built.on_day.items():
        alone = prepared.travel(None, household_id)
        for literals in by_day.values():
            for literal in literals:
                built.terms.append((alone * weight, literal))
        classmates = {
            n
            for c in set(prepared.households[household_id].classes)
            for n in by_class[c]
            if n != household_id
        }
        nearest = sorted(classmates, key=lambda n: (prepared.travel(household_id, n), n))
        savings = []
        for other in nearest[:NEIGHBOURS]:
            saved = alone - prepared.travel(household_id, other)
            if saved <= 0:
                continue
            for day, literals in by_day.items():
                theirs = built.on_day[other].get(day)
                if not theirs:
                    continue
                together = built.together[(household_id, other, day)] = model.new_bool_var("")
                model.add(together <= sum(literals))
                model.add(together <= sum(theirs))
                built.terms.append((-saved * weight, together))
                savings.append(together)
        if len(savings) > 1:
            model.add_at_most_one(savings)


def _hint(built: _Relaxation, hint: Assignment, prepared: Prepared) -> None:
    """A greedy schedule's days, complete (every literal), so CP-SAT starts from a solution."""
    day_of: dict[str, date] = {}
    chosen: set[int] = set()
    for household_id, by_day in built.on_day.items():
        option = hint.get(household_id)
        literals = by_day.get(prepared.slots[option.slot_id].day, []) if option else []
        if option is None or not literals:
            continue
        day_of[household_id] = prepared.slots[option.slot_id].day
        listed = built.listed.get((household_id, option.slot_id))
        chosen.add((listed if listed is not None else literals[-1]).index)
    model = built.model
    for by_day in built.on_day.values():
        for literals in by_day.values():
            for literal in literals:
                model.add_hint(literal, literal.index in chosen)
    for household_id, literal in built.unplaced.items():
        model.add_hint(literal, household_id not in day_of)
    used = {(c, d) for h, d in day_of.items() for c in prepared.households[h].classes}
    for key, literal in built.class_days.items():
        model.add_hint(literal, key in used)
    saved: set[str] = set()  # one saving per family
    for (household_id, other, day), literal in built.together.items():
        both = day_of.get(household_id) == day == day_of.get(other)
        model.add_hint(literal, both and household_id not in saved)
        if both:
            saved.add(household_id)


# --- The repair -------------------------------------------------------------------------------


def repair(prepared: Prepared, days: dict[str, tuple[date, str | None]]) -> Assignment:
    """A schedule keeping every rule from each family's day (and listed time, where the
    relaxation gave one): the hardest families first (as the greedy start orders them), each at
    its cheapest fitting option on its day, else at its cheapest fitting option on any day."""
    table = Timetable(prepared)
    for household_id in hardest_first(prepared):
        options = prepared.by_household[household_id]
        chosen = days.get(household_id)
        if chosen is not None:
            day, wanted = chosen
            options_that_day = [o for o in options if prepared.slots[o.slot_id].day == day]
            option = _cheapest(prepared, table, options_that_day, wanted)
            if option is not None:
                table.add(option)
                continue
        option = _cheapest(prepared, table, options, None)
        if option is not None:
            table.add(option)
    return table.assignment


def _cost(prepared: Prepared, table: Timetable, option: Option, wanted: str | None) -> int:
    """Preference and extra driving; the relaxation's listed time first when it is free."""
    cost = prepared.preference_cost(option.household_id, option.slot_id)
    cost += table.insertion_travel(option) * prepared.instance.weights.travel_tenth_minute
    return cost - (1 if option.slot_id == wanted else 0)


def _cheapest(
    prepared: Prepared, table: Timetable, options: list[Option], wanted: str | None
) -> Option | None:
    found = [(_cost(prepared, table, o, wanted), o.index, o) for o in options if table.fits(o)]
    return min(found)[2] if found else None
