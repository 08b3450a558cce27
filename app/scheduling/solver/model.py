"""The CP-SAT model of one component (see solver.py for the formulation and why its bound holds),
and its complete hint from a greedy schedule."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from ortools.sat.python import cp_model

from app.scheduling.solver.greedy import Assignment
from app.scheduling.solver.options import Option, Prepared

NEAREST = 3  # predecessors whose drive is modelled exactly, per teacher and visit


@dataclass(frozen=True)
class _After:
    """Teacher `lead` visits `household` at `slot` and also visits someone at the slot before."""

    var: cp_model.IntVar
    lead: str
    household: str
    slot: str
    previous: str


@dataclass(frozen=True)
class _Pair:
    """Teacher `lead` visits `before` at the previous slot, then `household` at `slot`."""

    var: cp_model.IntVar
    lead: str
    before: str
    household: str
    slot: str
    previous: str


@dataclass
class CpsatModel:
    prepared: Prepared
    households: list[str]
    sequence: bool = True
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    options: list[Option] = field(default_factory=list)
    x: dict[int, cp_model.IntVar] = field(default_factory=dict)
    terms: list[tuple[int, cp_model.IntVar]] = field(default_factory=list)
    constant: int = 0
    class_days: dict[tuple[str, date], cp_model.IntVar] = field(default_factory=dict)
    peaks: dict[str, cp_model.IntVar] = field(default_factory=dict)
    afters: list[_After] = field(default_factory=list)
    pairs: list[_Pair] = field(default_factory=list)
    merged: list[tuple[cp_model.IntVar, list[cp_model.IntVar]]] = field(default_factory=list)
    unplaced: list[tuple[cp_model.IntVar, str]] = field(default_factory=list)
    lead_days: list[tuple[cp_model.IntVar, str, date]] = field(default_factory=list)
    moved: list[tuple[cp_model.IntVar, str]] = field(default_factory=list)
    by_adult: dict[str, list[Option]] = field(default_factory=lambda: defaultdict(list))


def build_model(
    prepared: Prepared, households: list[str], *, sequence: bool = True, lead_travel: bool = True
) -> CpsatModel:
    """`sequence=False` prices each visit's drive at the shortest that could lead to it: a
    weaker lower bound on travel, but a model small enough to prove its optimum quickly.
    `lead_travel=False` leaves travel out altogether (exact.py adds exact routes instead)."""
    built = CpsatModel(prepared, households, sequence=sequence)
    built.options = [o for h in households for o in prepared.by_household[h]]
    for option in built.options:
        built.x[option.index] = built.model.new_bool_var(f"x{option.index}")
        for adult in option.adult_ids:
            built.by_adult[adult].append(option)
    _households(built)
    _adult_capacity(built)
    _travel_conflicts(built)
    _class_days(built)
    _peaks(built)
    for lead in sorted(a for a in built.by_adult if a in prepared.lead_ids and lead_travel):
        _lead_travel(built, lead)
    built.model.minimize(sum(c * v for c, v in built.terms) + built.constant)
    return built


def _households(built: CpsatModel) -> None:
    """Each household: one option, or "unplaced" (costly); an explicit literal rather than a
    constant minus the options keeps every objective coefficient positive, which keeps the LP
    bound numerically sound."""
    prepared, weights = built.prepared, built.prepared.instance.weights
    previous = {p.household_id: p.slot_id for p in prepared.instance.previous}
    for h in built.households:
        options = prepared.by_household[h]
        literals = [built.x[o.index] for o in options]
        for option in options:
            cost = prepared.preference_cost(h, option.slot_id)
            if cost:
                built.terms.append((cost, built.x[option.index]))
        if prepared.households[h].locked is not None and literals:
            built.model.add_exactly_one(literals)
        else:
            unplaced = built.model.new_bool_var(f"unplaced_{h}")
            built.model.add_exactly_one([*literals, unplaced])
            built.terms.append((weights.unplaced, unplaced))
            built.unplaced.append((unplaced, h))
        if h in previous:
            stays = [built.x[o.index] for o in options if o.slot_id == previous[h]]
            moved = built.model.new_bool_var(f"moved_{h}")
            built.model.add(sum(stays) + moved >= 1)
            built.terms.append((weights.moved, moved))
            built.moved.append((moved, h))


def _adult_capacity(built: CpsatModel) -> None:
    """One place at a time: at every visit's start, at most one of the adult's visits is on."""
    slots = built.prepared.slots
    for options in built.by_adult.values():
        for start_slot in sorted({o.slot_id for o in options}):
            here = slots[start_slot]
            on = [
                built.x[o.index]
                for o in options
                if slots[o.slot_id].day == here.day
                and slots[o.slot_id].start_minute <= here.start_minute < slots[o.slot_id].end_minute
            ]
            if len(on) > 1:
                built.model.add_at_most_one(on)


def _travel_conflicts(built: CpsatModel) -> None:
    """Two visits of one adult too close in time for the drive between them."""
    prepared, slots = built.prepared, built.prepared.slots
    for options in built.by_adult.values():
        by_slot: dict[str, list[Option]] = defaultdict(list)
        for option in options:
            by_slot[option.slot_id].append(option)
        longest = _longest_drive(prepared, {o.household_id for o in options})
        for first_id, firsts in by_slot.items():
            first = slots[first_id]
            for second_id, seconds in by_slot.items():
                second = slots[second_id]
                gap = (second.start_minute - first.end_minute) * 10
                if second.day != first.day or gap < 0 or gap >= longest:
                    continue
                for a in firsts:
                    for b in seconds:
                        if a.household_id != b.household_id and gap < prepared.travel(
                            a.household_id, b.household_id
                        ):
                            built.model.add_bool_or(
                                [built.x[a.index].Not(), built.x[b.index].Not()]
                            )


def _longest_drive(prepared: Prepared, households: set[str]) -> int:
    """An upper limit on the drive between two of these homes, without trying every pair."""
    if not households:
        return 0
    anchor = min(households)
    return 2 * max(prepared.travel(anchor, h) for h in households) + 1


def _class_days(built: CpsatModel) -> None:
    prepared = built.prepared
    limit = prepared.instance.max_visits_per_adult_per_day
    members: dict[tuple[str, date], list[cp_model.IntVar]] = defaultdict(list)
    for option in built.options:
        day = prepared.slots[option.slot_id].day
        for class_id in sorted(set(prepared.households[option.household_id].classes)):
            members[(class_id, day)].append(built.x[option.index])
    for (class_id, day), literals in sorted(members.items()):
        used = built.model.new_bool_var(f"day_{class_id}_{day}")
        built.class_days[(class_id, day)] = used
        built.terms.append((prepared.instance.weights.class_day, used))
        for literal in literals:
            built.model.add_implication(literal, used)
        # Implied (a class's teacher makes at most `limit` visits a day); it lets the LP see
        # that a class of 30 needs three days, which makes the bound worth having.
        built.model.add(sum(literals) <= limit * used)


def _peaks(built: CpsatModel) -> None:
    """Each adult's busiest day; its domain is also the daily maximum of visits."""
    prepared = built.prepared
    limit = prepared.instance.max_visits_per_adult_per_day
    for adult, options in built.by_adult.items():
        peak = built.model.new_int_var(0, limit, f"peak_{adult}")
        built.peaks[adult] = peak
        built.terms.append((prepared.instance.weights.peak_visit, peak))
        by_day: dict[date, list[cp_model.IntVar]] = defaultdict(list)
        for option in options:
            by_day[prepared.slots[option.slot_id].day].append(built.x[option.index])
        for literals in by_day.values():
            built.model.add(sum(literals) <= peak)


# --- Travel: a lower bound on each teacher's route, exact for near neighbours in sequence ------


def _lead_travel(built: CpsatModel, lead: str) -> None:
    prepared = built.prepared
    grouped: dict[tuple[str, str], list[cp_model.IntVar]] = defaultdict(list)
    for option in built.by_adult[lead]:
        grouped[(option.household_id, option.slot_id)].append(built.x[option.index])
    at = {key: one_literal(built, literals) for key, literals in sorted(grouped.items())}
    homes = sorted({h for h, _ in at})
    at_slot: dict[str, list[str]] = defaultdict(list)
    for h, s in at:
        at_slot[s].append(h)
    occupied = {s: one_literal(built, [at[(h, s)] for h in hs]) for s, hs in at_slot.items()}
    _lead_returns(built, lead, at)
    for (h, s), here in at.items():
        previous = prepared.previous_slot[s]
        if previous is None:
            built.terms.append((prepared.travel(None, h), here))
            continue
        floor = _nearest_any(prepared, h, homes)
        built.terms.append((floor, here))
        before = [o for o in at_slot.get(previous, []) if o != h]
        if before and built.sequence:
            _after_previous(
                built, _Visit(lead, h, s, previous, here), floor, before, at, occupied[previous]
            )


def _lead_returns(built: CpsatModel, lead: str, at: dict[tuple[str, str], cp_model.IntVar]) -> None:
    """The drive back to school on each day the teacher works: at least the shortest from any
    home they might visit that day, and exactly the drive from a home visited at the day's last
    slot (nothing can follow it)."""
    prepared = built.prepared
    if prepared.instance.school_return_minute is None:
        return
    limit = prepared.instance.max_visits_per_adult_per_day
    by_day: dict[date, list[tuple[str, str]]] = defaultdict(list)
    for h, s in at:
        by_day[prepared.slots[s].day].append((h, s))
    for day, keys in sorted(by_day.items()):
        floor = min(prepared.return_leg(h) for h, _ in keys)
        last = prepared.day_slots[day][-1].id
        for h, s in keys:
            if s == last and prepared.return_leg(h) > floor:
                built.terms.append((prepared.return_leg(h) - floor, at[(h, s)]))
        if not floor:
            continue
        works = built.model.new_bool_var(f"works_{lead}_{day}")
        literals = [at[key] for key in keys]
        for literal in literals:
            built.model.add_implication(literal, works)
        built.model.add(sum(literals) <= limit * works)  # implied; it tightens the LP
        built.terms.append((floor, works))
        built.lead_days.append((works, lead, day))


@dataclass(frozen=True)
class _Visit:
    lead: str
    household: str
    slot: str
    previous: str
    literal: cp_model.IntVar


def one_literal(built: CpsatModel, literals: list[cp_model.IntVar]) -> cp_model.IntVar:
    """A literal equal to the sum of at-most-one literals (the literal itself when alone)."""
    if len(literals) == 1:
        return literals[0]
    merged = built.model.new_bool_var("")
    built.model.add(sum(literals) == merged)
    built.merged.append((merged, literals))
    return merged


def _nearest_any(prepared: Prepared, h: str, homes: list[str]) -> int:
    """The shortest drive that can possibly lead to h: from school or another of the homes."""
    return min([prepared.travel(None, h), *(prepared.travel(o, h) for o in homes if o != h)])


def _after_previous(
    built: CpsatModel,
    visit: _Visit,
    floor: int,
    before: list[str],
    at: dict[tuple[str, str], cp_model.IntVar],
    occupied: cp_model.IntVar,
) -> None:
    """When the teacher's previous slot is a visit too, the drive is from that home: exact for
    the nearest few, at least the drive from the nearest of the rest otherwise."""
    prepared, model = built.prepared, built.model
    h = visit.household
    drives = sorted((prepared.travel(o, h), o) for o in before)
    near, far = drives[:NEAREST], drives[NEAREST:]
    ceiling = far[0][0] if far else near[-1][0]
    if ceiling <= floor:
        return
    after = model.new_bool_var("")
    model.add_bool_or([visit.literal.Not(), occupied.Not(), after])
    built.terms.append((ceiling - floor, after))
    built.afters.append(_After(after, visit.lead, h, visit.slot, visit.previous))
    pairs = []
    for drive, o in near:
        if drive >= ceiling:
            continue
        pair = model.new_bool_var("")
        model.add_implication(pair, at[(o, visit.previous)])
        model.add_implication(pair, visit.literal)
        built.terms.append((drive - ceiling, pair))
        built.pairs.append(_Pair(pair, visit.lead, o, h, visit.slot, visit.previous))
        pairs.append(pair)
    # Implied for whole numbers; it keeps the LP relaxation from saving without paying.
    if pairs:
        model.add(sum(pairs) <= after)


# --- The warm start as a complete hint ----------------------------------------------------------


def add_hints(built: CpsatModel, assignment: Assignment) -> None:
    """Every variable hinted, so CP-SAT starts from a whole solution, not a partial guess."""
    prepared, model = built.prepared, built.model
    chosen = {o.index for o in assignment.values()}
    value = {built.x[o.index].index: o.index in chosen for o in built.options}
    for option in built.options:
        model.add_hint(built.x[option.index], option.index in chosen)
    previous = {p.household_id: p.slot_id for p in prepared.instance.previous}
    for literal, h in built.unplaced:
        model.add_hint(literal, h not in assignment)
    for literal, h in built.moved:
        model.add_hint(literal, h not in assignment or assignment[h].slot_id != previous[h])
    for merged, literals in built.merged:  # in creation order: parts before their sums
        value[merged.index] = any(value[lit.index] for lit in literals)
        model.add_hint(merged, value[merged.index])
    visiting = {
        (adult, o.household_id, o.slot_id) for o in assignment.values() for adult in o.adult_ids
    }
    busy = {(adult, o.slot_id) for o in assignment.values() for adult in o.adult_ids}
    for (class_id, day), var in built.class_days.items():
        model.add_hint(
            var,
            any(
                class_id in prepared.households[h].classes and prepared.slots[o.slot_id].day == day
                for h, o in assignment.items()
            ),
        )
    loads: dict[tuple[str, date], int] = defaultdict(int)
    for option in assignment.values():
        for adult in option.adult_ids:
            loads[(adult, prepared.slots[option.slot_id].day)] += 1
    for adult, var in built.peaks.items():
        model.add_hint(var, max((n for (a, _), n in loads.items() if a == adult), default=0))
    for works, lead, day in built.lead_days:
        model.add_hint(works, loads.get((lead, day), 0) > 0)
    for after in built.afters:
        model.add_hint(
            after.var,
            (after.lead, after.household, after.slot) in visiting
            and (after.lead, after.previous) in busy,
        )
    for pair in built.pairs:
        model.add_hint(
            pair.var,
            (pair.lead, pair.household, pair.slot) in visiting
            and (pair.lead, pair.before, pair.previous) in visiting,
        )
