"""A proven lower bound on the objective, from the LP relaxation of the model without the travel
sequence (each visit's drive priced at the shortest that could lead to it).

Why not only CP-SAT's own bound: on a whole school, with two workers and ten seconds, its root LP
does not settle, and the bound it reports is far below zero. The same relaxation solved once by
GLOP is exact arithmetic's lower bound up to solver tolerance, which we subtract, and dropping
constraints (travel conflicts) only lowers it, so it stays valid.
"""

import itertools
import math
import time
from collections import defaultdict
from datetime import date
from typing import Any, NamedTuple

from ortools.linear_solver import pywraplp  # type: ignore[import-untyped]  # no stubs

from app.scheduling.solver.options import Option, Prepared

TOLERANCE = 1e-6
# The full LP (one column per option, one row per adult and start time) is built and solved at
# about this many options a second here (CLP; a fine-grid school's 150,000 options take ~20 s).
# Given fewer seconds than its options need, the bound comes from the day LP instead.
FULL_LP_OPTIONS_PER_SECOND = 6_000


class _Column(NamedTuple):
    """One LP column: the household visited on `day` by `adult_ids` at a cost no lower than any
    of the options it stands for (preference, the shortest drive that could lead there, moved).
    In the full LP a column is one option (`slot_id` set); in the day LP it stands for every
    option of the household with those adults that day (`slot_id` None), at the cheapest."""

    household_id: str
    day: date
    adult_ids: tuple[str, ...]
    cost: int
    slot_id: str | None


def lp_bound(prepared: Prepared, households: list[str], seconds: float | None = None) -> int:
    """A proven lower bound on the objective over `households`. `seconds`, if given, is the
    wall-clock share it may take: the full LP when its size fits (and it finishes in time), the
    day LP otherwise, and 0 when not even that fits. Both are relaxations, so either is a valid bound; the day LP is weaker
    where families compete for the same times (it keeps the daily limits, class days and busiest
    days, not "one place at a time")."""
    return _within(prepared, households, seconds, _bound_of)


def min_unplaced(prepared: Prepared, households: list[str], seconds: float | None = None) -> int:
    """A proven lower bound on how many of `households` no valid schedule can place: the LP of
    placing as many as possible within each adult's one-place-at-a-time and daily limits (the
    daily limits only, on the day LP). When a schedule leaves exactly this many out, no schedule
    could have placed more."""
    return _within(prepared, households, seconds, _unplaced_of)


def _within(prepared: Prepared, households: list[str], seconds: float | None, solve: Any) -> int:
    started = time.perf_counter()
    deadline = None if seconds is None else started + seconds
    options = sum(len(prepared.by_household[h]) for h in households)
    if seconds is None or options <= FULL_LP_OPTIONS_PER_SECOND * seconds:
        found: int | None = solve(prepared, households, _columns(prepared, households), seconds)
        if found is not None:
            return found
    columns = _day_columns(prepared, households, deadline)
    if columns is None:
        return 0  # out of time: the one bound that costs nothing
    left = None if deadline is None else max(0.05, deadline - time.perf_counter())
    return solve(prepared, households, columns, left) or 0


def _bound_of(
    prepared: Prepared, households: list[str], columns: list[_Column], seconds: float | None
) -> int | None:
    lp = _Lp(prepared, columns, seconds)
    if lp.solver is None:
        return 0
    lp.households(households, priced=True)
    lp.adults(priced=True)
    lp.class_days_against_peaks(households)
    value = lp.minimise()
    if value is None:
        return None
    return max(0, math.floor(value - TOLERANCE * max(1.0, abs(value)) - 1))


def _unplaced_of(
    prepared: Prepared, households: list[str], columns: list[_Column], seconds: float | None
) -> int | None:
    lp = _Lp(prepared, columns, seconds)
    if lp.solver is None:
        return 0
    lp.households(households, priced=False)
    lp.adults(priced=False)
    value = lp.minimise()
    if value is None:
        return None
    return max(0, math.ceil(value - TOLERANCE * max(1.0, abs(value))))


# --- Columns ---------------------------------------------------------------------------------


def _columns(prepared: Prepared, households: list[str]) -> list[_Column]:
    slots, costs = prepared.slots, _Costs(prepared, households)
    return [
        _Column(h, slots[o.slot_id].day, o.adult_ids, costs.of(o), o.slot_id)
        for h in households
        for o in prepared.by_household[h]
    ]


def _day_columns(
    prepared: Prepared, households: list[str], deadline: float | None = None
) -> list[_Column] | None:
    """None if the wall clock passes `deadline` (time.perf_counter) before they are built."""
    slots, costs = prepared.slots, _Costs(prepared, households)
    cheapest: dict[tuple[str, date, tuple[str, ...]], int] = {}
    for h in households:
        if deadline is not None and time.perf_counter() > deadline:
            return None
        for option in prepared.by_household[h]:
            cost = costs.of(option)
            key = (h, slots[option.slot_id].day, option.adult_ids)
            if cost < cheapest.get(key, cost + 1):
                cheapest[key] = cost
    return [_Column(h, day, adults, cost, None) for (h, day, adults), cost in cheapest.items()]


class _Costs:
    """An option's points no schedule choosing it can go below: its preference rank, moved from
    the previous schedule, and per teacher the shortest drive that could lead to it (from school
    at the day's first slot; else from school or any other home the teacher might visit)."""

    def __init__(self, prepared: Prepared, households: list[str]) -> None:
        self.prepared = prepared
        self.previous = {p.household_id: p.slot_id for p in prepared.instance.previous}
        self.weight = prepared.instance.weights.travel_tenth_minute
        homes_of: dict[str, set[str]] = defaultdict(set)
        for h in households:
            for option in prepared.by_household[h]:
                for adult in option.adult_ids:
                    if adult in prepared.lead_ids:
                        homes_of[adult].add(h)
        self.nearest = {
            (adult, h): min(
                [prepared.travel(None, h), *(prepared.travel(o, h) for o in homes if o != h)]
            )
            for adult, homes in homes_of.items()
            for h in homes
        }
        self.slot_cost: dict[tuple[str, str], int] = {}

    def of(self, option: Option) -> int:
        prepared, h, slot_id = self.prepared, option.household_id, option.slot_id
        key = (h, slot_id)
        cost = self.slot_cost.get(key)
        if cost is None:
            was = self.previous.get(h)
            moved = prepared.instance.weights.moved if was is not None and was != slot_id else 0
            cost = self.slot_cost[key] = prepared.preference_cost(h, slot_id) + moved
        first = prepared.previous_slot[slot_id] is None
        for adult in option.adult_ids:
            if adult in prepared.lead_ids:
                floor = prepared.travel(None, h) if first else self.nearest[(adult, h)]
                cost += self.weight * floor
        return cost


# --- The LP, built row by row (coefficients, not Python expressions: a school in a second) ----


class _Lp:
    def __init__(self, prepared: Prepared, columns: list[_Column], seconds: float | None) -> None:
        self.prepared = prepared
        self.columns = columns
        self.solver = _lp_solver()
        self.unplaced: dict[str, Any] = {}
        self.peaks: dict[str, Any] = {}
        self.x: list[Any] = []
        if self.solver is None:
            return
        if seconds is not None:
            self.solver.SetTimeLimit(max(1, int(seconds * 1000)))
        self.objective = self.solver.Objective()
        self.x = [self.solver.NumVar(0.0, 1.0, "") for _ in columns]
        for var, column in zip(self.x, columns, strict=True):
            if column.cost:
                self.objective.SetCoefficient(var, column.cost)

    def households(self, households: list[str], *, priced: bool) -> None:
        """Each household placed once or not at all (locked ones placed)."""
        weights = self.prepared.instance.weights
        previous = {p.household_id for p in self.prepared.instance.previous}
        rows = {h: self.solver.Constraint(1.0, 1.0) for h in households}
        for var, column in zip(self.x, self.columns, strict=True):
            rows[column.household_id].SetCoefficient(var, 1.0)
        for h in households:
            locked = self.prepared.households[h].locked is not None
            unplaced = self.unplaced[h] = self.solver.NumVar(0.0, 0.0 if locked else 1.0, "")
            rows[h].SetCoefficient(unplaced, 1.0)
            cost = weights.unplaced + (weights.moved if h in previous else 0)
            self.objective.SetCoefficient(unplaced, cost if priced else 1.0)
        if not priced:
            for var in self.x:
                self.objective.SetCoefficient(var, 0.0)

    def adults(self, *, priced: bool) -> None:
        """Each adult within the daily limit (their busiest day, priced) and, in the full LP,
        in one place at a time: at every start, at most one visit on."""
        limit = self.prepared.instance.max_visits_per_adult_per_day
        by_adult: dict[str, list[int]] = defaultdict(list)
        for i, column in enumerate(self.columns):
            for adult in column.adult_ids:
                by_adult[adult].append(i)
        for adult, indices in sorted(by_adult.items()):
            peak = self.peaks[adult] = self.solver.NumVar(0.0, limit, "")
            if priced:
                self.objective.SetCoefficient(peak, self.prepared.instance.weights.peak_visit)
            by_day: dict[date, list[int]] = defaultdict(list)
            for i in indices:
                by_day[self.columns[i].day].append(i)
            for members in by_day.values():
                row = self.solver.Constraint(-self.solver.infinity(), 0.0)
                row.SetCoefficient(peak, -1.0)
                for i in members:
                    row.SetCoefficient(self.x[i], 1.0)
                self._one_at_a_time(members)

    def _one_at_a_time(self, members: list[int]) -> None:
        """One row per start time, over the columns whose slot is on then (a sweep in start
        order, so a fine grid's overlaps cost rows, not a pass over every pair)."""
        slots = self.prepared.slots
        timed = sorted(
            ((slots[slot_id], i) for i in members if (slot_id := self.columns[i].slot_id)),
            key=lambda pair: (pair[0].start_minute, pair[1]),
        )
        starts = sorted({slot.start_minute for slot, _ in timed})
        on: list[tuple[int, int]] = []  # (end minute, column)
        position = 0
        for start in starts:
            while position < len(timed) and timed[position][0].start_minute <= start:
                on.append((timed[position][0].end_minute, timed[position][1]))
                position += 1
            on = [(end, i) for end, i in on if end > start]
            if len(on) > 1:
                row = self.solver.Constraint(-self.solver.infinity(), 1.0)
                for _, i in on:
                    row.SetCoefficient(self.x[i], 1.0)

    def class_days_against_peaks(self, households: list[str]) -> None:
        used = self._class_days()
        _days_against_peaks(self.prepared, self.solver, households, self.unplaced, self.peaks, used)

    def _class_days(self) -> dict[tuple[str, date], Any]:
        limit = self.prepared.instance.max_visits_per_adult_per_day
        weight = self.prepared.instance.weights.class_day
        members: dict[tuple[str, date], list[int]] = defaultdict(list)
        for i, column in enumerate(self.columns):
            for class_id in set(self.prepared.households[column.household_id].classes):
                members[(class_id, column.day)].append(i)
        found: dict[tuple[str, date], Any] = {}
        for key, indices in members.items():
            used = found[key] = self.solver.NumVar(0.0, 1.0, "")
            self.objective.SetCoefficient(used, weight)
            row = self.solver.Constraint(-self.solver.infinity(), 0.0)
            row.SetCoefficient(used, -float(limit))
            for i in indices:
                row.SetCoefficient(self.x[i], 1.0)
        return found

    def minimise(self) -> float | None:
        """The LP's optimum, or None when it was not proven (out of time)."""
        self.objective.SetMinimization()
        if self.solver.Solve() != pywraplp.Solver.OPTIMAL:
            return None
        return float(self.objective.Value())


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
