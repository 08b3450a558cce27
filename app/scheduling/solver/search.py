"""Simulated annealing on the exact objective: where the solver's model prices travel only at its
shortest possible drive, this search sees each teacher's real route, so it is what groups nearby
homes onto the same day and in sequence.

Two moves, each kept only if every hard rule still holds (`Timetable.fits`): move a household to
another of its options (another time, day or second adult), or swap the times of two households
that share a teacher. A move is scored by the exact change in the objective over just what it
touches (those teachers' routes that day, those classes' days, those adults' busiest days, those
families' preferences), so a step costs microseconds, not a whole re-score.

Deterministic: a seeded generator and a number of steps fixed by the instance's time limit and
size. The clock only cuts the steps short (`anneal_until`'s deadline) on a machine too slow or
too busy to take them in the search's share of the time limit; the schedule then depends on how
far it got.
"""

import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from app.scheduling.solver.coarse import is_fine
from app.scheduling.solver.greedy import Assignment, Timetable
from app.scheduling.solver.lns import ruin_and_recreate
from app.scheduling.solver.options import Option, Prepared

Accept = Callable[[int], bool]  # takes a change in the objective (points), says whether to keep it
STEPS_PER_SECOND = 18_000  # one core here manages about 24,000 a second on a school: headroom
START_TEMPERATURE = 100.0  # points: worse moves of about a preference rank are taken early on
END_TEMPERATURE = 1.0
PROGRESS_REPORTS = 20
CLEAR_DAY_SHARE = 0.01  # of steps that try to take a day out of a class's programme
CLOCK_EVERY = 64  # steps between looks at the clock (a look costs about a step)
LNS_SHARE = 0.3  # of the steps' work, spent on large-neighbourhood moves (lns.py)
# On a fine grid, where most of them take a family to a listed time: the fine grid's school at
# equal steps scored 108,004 at 0.3, 102,267 at 0.5, 98,889 at 0.7.
FINE_LNS_SHARE = 0.7


@dataclass
class _Touched:
    """What a change can alter: the objective is re-summed over these only."""

    households: set[str] = field(default_factory=set)
    adults: set[str] = field(default_factory=set)
    days: set[date] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)


class Search:
    def __init__(self, prepared: Prepared, assignment: Assignment) -> None:
        self.prepared = prepared
        self.weights = prepared.instance.weights
        self.table = Timetable(prepared)
        self.class_days: dict[tuple[str, date], int] = defaultdict(int)
        self.previous = {p.household_id: p.slot_id for p in prepared.instance.previous}
        self.by_slot: dict[str, dict[str, list[Option]]] = {
            h: _by_slot(options) for h, options in prepared.by_household.items()
        }
        self.all_days = sorted(prepared.day_slots)
        self.class_day_keys = sorted(
            {(t.class_id, day) for t in prepared.instance.teams for day in self.all_days}
        )
        self._listed: dict[str, list[Option]] = {}
        self.fine = is_fine(prepared)  # listed times fall at any minute (lns.to_listed_time)
        for option in assignment.values():
            self._add(option)

    def listed(self, household_id: str) -> list[Option]:
        """The household's options at the times it listed."""
        found = self._listed.get(household_id)
        if found is None:
            preferences = set(self.prepared.households[household_id].preferences)
            options = self.prepared.by_household[household_id]
            found = [o for o in options if o.slot_id in preferences]
            self._listed[household_id] = found
        return found

    # --- bookkeeping ------------------------------------------------------------------------

    def _add(self, option: Option) -> None:
        self.table.add(option)
        day = self.prepared.slots[option.slot_id].day
        for class_id in set(self.prepared.households[option.household_id].classes):
            self.class_days[(class_id, day)] += 1

    def _remove(self, household_id: str) -> Option:
        option = self.table.remove(household_id)
        day = self.prepared.slots[option.slot_id].day
        for class_id in set(self.prepared.households[household_id].classes):
            self.class_days[(class_id, day)] -= 1
        return option

    def _touch(self, touched: _Touched, options: Iterable[Option]) -> None:
        for option in options:
            touched.households.add(option.household_id)
            touched.adults.update(option.adult_ids)
            touched.days.add(self.prepared.slots[option.slot_id].day)
            touched.classes.update(self.prepared.households[option.household_id].classes)

    def local_cost(self, touched: _Touched) -> int:
        """The objective's terms that depend only on what `touched` names."""
        prepared, weights, table = self.prepared, self.weights, self.table
        cost = 0
        for adult in touched.adults:
            if adult in prepared.lead_ids:
                cost += weights.travel_tenth_minute * sum(
                    table.route(adult, day) for day in touched.days
                )
            busiest = max(len(table.days.get((adult, day), ())) for day in self.all_days)
            cost += weights.peak_visit * busiest
        for class_id in touched.classes:
            for day in touched.days:
                if self.class_days.get((class_id, day), 0) > 0:
                    cost += weights.class_day
        for household_id in touched.households:
            option = table.assignment.get(household_id)
            if option is None:
                cost += weights.unplaced
                continue
            cost += prepared.preference_cost(household_id, option.slot_id)
            was = self.previous.get(household_id)
            if was is not None and was != option.slot_id:
                cost += weights.moved
        return cost

    # --- one change, scored and either kept or undone ---------------------------------------

    def change(self, old: list[Option], new: list[Option], accept: Accept) -> int | None:
        """Replace `old` by `new` if every rule holds and `accept` takes the change in the
        objective; that change, or None when nothing changed."""
        touched = _Touched()
        self._touch(touched, [*old, *new])
        before = self.local_cost(touched)
        for option in old:
            self._remove(option.household_id)
        added: list[Option] = []
        for option in new:
            if not self.table.fits(option):
                self._undo(added, old)
                return None
            self._add(option)
            added.append(option)
        delta = self.local_cost(touched) - before
        if accept(delta):
            return delta
        self._undo(added, old)
        return None

    def change_whole(self, old: list[Option], new: list[Option], accept: Accept) -> int | None:
        """`change`, with the rules checked once all of `new` is in: a day re-sequenced as a
        whole may pass through orders that break a rule on the way (a late visit last for a
        moment) and still end valid."""
        touched = _Touched()
        self._touch(touched, [*old, *new])
        before = self.local_cost(touched)
        for option in old:
            self._remove(option.household_id)
        for option in new:
            self._add(option)
        if not self._valid_days(touched) or not accept(delta := self.local_cost(touched) - before):
            self._undo(new, old)
            return None
        return delta

    def _valid_days(self, touched: _Touched) -> bool:
        limit = self.prepared.instance.max_visits_per_adult_per_day
        for adult in touched.adults:
            for day in touched.days:
                visits = self.table.days.get((adult, day), [])
                if len(visits) > limit or not self.table.sequence_feasible(visits):
                    return False
        return True

    def _undo(self, added: list[Option], old: list[Option]) -> None:
        for option in added:
            self._remove(option.household_id)
        for option in old:
            self._add(option)

    # --- the two moves ----------------------------------------------------------------------

    def relocate(self, household_id: str, rng: random.Random, accept: Accept) -> int | None:
        """Move the household to one of its other options, chosen at random."""
        options = self.prepared.by_household[household_id]
        current = self.table.assignment.get(household_id)
        candidate = options[rng.randrange(len(options))]
        if candidate is current or not self._adults_free(candidate, ignoring=household_id):
            return None
        return self.change([current] if current else [], [candidate], accept)

    def swap(self, first: Option, second: Option, accept: Accept) -> int | None:
        """Exchange the times of two households (keeping their adults where they can)."""
        if first.slot_id == second.slot_id:
            return None
        new_first = self._counterpart(first.household_id, second.slot_id, second.adult_ids)
        new_second = self._counterpart(second.household_id, first.slot_id, first.adult_ids)
        if new_first is None or new_second is None:
            return None
        return self.change([first, second], [new_first, new_second], accept)

    def clear_class_day(self, class_id: str, day: date, accept: Accept) -> int | None:
        """Move every visit of a class off one day, each to its cheapest fitting option on
        another day: the move that takes a day out of a class's programme."""
        prepared = self.prepared
        old = [
            o
            for o in self.table.assignment.values()
            if class_id in prepared.households[o.household_id].classes
            and prepared.slots[o.slot_id].day == day
            and prepared.households[o.household_id].locked is None
        ]
        if not old:
            return None
        for option in old:
            self._remove(option.household_id)
        new: list[Option] = []
        for option in old:
            moved = self._cheapest_elsewhere(option.household_id, day)
            if moved is None:
                self._undo(new, old)
                return None
            self._add(moved)
            new.append(moved)
        touched = _Touched()
        self._touch(touched, [*old, *new])
        after = self.local_cost(touched)
        self._undo(new, old)
        delta = after - self.local_cost(touched)
        if not accept(delta):
            return None
        for option in old:
            self._remove(option.household_id)
        for option in new:
            self._add(option)
        return delta

    def _cheapest_elsewhere(self, household_id: str, day: date) -> Option | None:
        prepared = self.prepared
        best: tuple[int, int] | None = None
        chosen: Option | None = None
        for option in prepared.by_household[household_id]:
            if prepared.slots[option.slot_id].day == day or not self.table.fits(option):
                continue
            key = (
                prepared.preference_cost(household_id, option.slot_id)
                + self.table.insertion_travel(option),
                option.index,
            )
            if best is None or key < best:
                best, chosen = key, option
        return chosen

    def _counterpart(
        self, household_id: str, slot_id: str, adults: tuple[str, ...]
    ) -> Option | None:
        """The household's option at that time, with the same adults if it has one."""
        found = self.by_slot[household_id].get(slot_id, [])
        wanted = set(adults)
        return next((o for o in found if set(o.adult_ids) == wanted), found[0] if found else None)

    def _adults_free(self, option: Option, ignoring: str) -> bool:
        """A cheap first test: no adult already has a visit at exactly that slot."""
        day = self.prepared.slots[option.slot_id].day
        for adult in option.adult_ids:
            for other in self.table.days.get((adult, day), ()):
                if other.slot_id == option.slot_id and other.household_id != ignoring:
                    return False
        return True


class Acceptance:
    """Metropolis acceptance at a falling temperature (points)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.temperature = START_TEMPERATURE

    def __call__(self, delta: int) -> bool:
        if delta <= 0:
            return True
        return self.rng.random() < math.exp(-delta / self.temperature)


def anneal(
    prepared: Prepared,
    assignment: Assignment,
    steps: int,
    seed: int,
    progress: Callable[[float], None] | None = None,
) -> Assignment:
    """The best schedule seen in `steps` moves from `assignment` (never worse than it);
    `progress` hears the share of steps taken, twenty times over."""
    return anneal_until(prepared, assignment, steps, seed, progress)[0]


def anneal_until(
    prepared: Prepared,
    assignment: Assignment,
    steps: int,
    seed: int,
    progress: Callable[[float], None] | None = None,
    deadline: float | None = None,
    lns_share: float = LNS_SHARE,
) -> tuple[Assignment, int]:
    """`anneal`, stopped early if the wall clock (time.perf_counter) passes `deadline`, and how
    many steps it took. The temperature still falls over all `steps`, so a run cut short ends
    warmer; the best schedule seen is returned either way. `lns_share` of the steps' work goes
    to large-neighbourhood moves (lns.py), interleaved with the single moves (0: none)."""
    movable = sorted(
        h for h, hh in prepared.households.items() if hh.locked is None and prepared.by_household[h]
    )
    if not movable or steps <= 0:
        return dict(assignment), steps
    if deadline is not None and time.perf_counter() > deadline:
        return dict(assignment), 0
    search = Search(prepared, assignment)
    rng = random.Random(seed)  # noqa: S311 - a search heuristic, not security
    accept = Acceptance(rng)
    sharing = _sharing_a_teacher(prepared, movable)
    cost = best_cost = 0  # relative to the start: only differences matter
    best = dict(search.table.assignment)
    cooling = (END_TEMPERATURE / START_TEMPERATURE) ** (1 / steps)
    every = max(1, steps // PROGRESS_REPORTS)
    step = moves = lns_work = reported = 0
    while step < steps:
        if moves % CLOCK_EVERY == 0 and deadline is not None and time.perf_counter() > deadline:
            return best, step
        if progress is not None and step >= reported:
            progress(step / steps)
            reported = step + every
        moves += 1
        if lns_work < lns_share * step:  # its share of the work so far, never ahead of it
            delta, work = ruin_and_recreate(search, movable, rng, accept)
            lns_work += work
            moves = 0  # a long move: look at the clock next
        else:
            delta, work = _step(search, movable, sharing, rng, accept), 1
        step += work
        accept.temperature *= cooling**work
        if delta is None:
            continue
        cost += delta
        if cost < best_cost:
            best_cost, best = cost, dict(search.table.assignment)
    return best, steps


def _step(
    search: Search,
    movable: list[str],
    sharing: dict[str, list[str]],
    rng: random.Random,
    accept: Acceptance,
) -> int | None:
    if search.class_day_keys and rng.random() < CLEAR_DAY_SHARE:
        class_id, day = search.class_day_keys[rng.randrange(len(search.class_day_keys))]
        return search.clear_class_day(class_id, day, accept)
    household_id = movable[rng.randrange(len(movable))]
    current = search.table.assignment.get(household_id)
    partners = sharing[household_id]
    if current is None or not partners or rng.random() < 0.5:
        return search.relocate(household_id, rng, accept)
    partner = search.table.assignment.get(partners[rng.randrange(len(partners))])
    return None if partner is None else search.swap(current, partner, accept)


def _by_slot(options: list[Option]) -> dict[str, list[Option]]:
    found: dict[str, list[Option]] = defaultdict(list)
    for option in options:
        found[option.slot_id].append(option)
    return dict(found)


def _sharing_a_teacher(prepared: Prepared, households: list[str]) -> dict[str, list[str]]:
    """Households whose classes share a teacher: the only ones whose times can be swapped."""
    by_class: dict[str, list[str]] = defaultdict(list)
    for household_id in households:
        for class_id in set(prepared.households[household_id].classes):
            by_class[class_id].append(household_id)
    return {
        h: sorted({o for c in set(prepared.households[h].classes) for o in by_class[c] if o != h})
        for h in households
    }
