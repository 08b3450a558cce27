"""The last step before a schedule is returned: every family that can still be placed is placed.

The search moves at random and can end with a family unplaced that fits into the schedule as it
stands. Here each unplaced family is tried at every option (`Timetable.fits` is the rule check)
and goes in at the one that costs least. Where none fits, an ejection chain: one or two placed
visits that block an option are taken out, the family goes in, and each family taken out goes
back at its cheapest option that still fits; the best such chain is kept when the exact
objective falls (every family placed again, one more than before). Passes repeat until nothing
changes, so no unplaced family of the result fits anywhere as the schedule stands.

Deterministic: households, options and blockers are tried in a fixed order, and the ejection
work is capped by a count of rule checks scaled to the time limit, never by the clock. Direct
insertion is never capped: it is what the guarantee rests on.
"""

from collections.abc import Iterable, Iterator
from itertools import combinations

from app.scheduling.solver.accept import Price, take
from app.scheduling.solver.greedy import Assignment
from app.scheduling.solver.options import Option, Prepared
from app.scheduling.solver.search import Search

# Ejection work: rule checks per second of the time limit (about 10 µs each, so 1-2 % of the
# limit), and per family and pass, chains tried and chains that work and are scored. A class
# at its team's capacity has many chains that all fail; the caps keep them from costing seconds.
CHECKS_PER_SECOND = 15_000
MAX_TRIES = 150
MAX_CHAINS = 40


def place_unplaced(prepared: Prepared, assignment: Assignment) -> Assignment:
    """`assignment` with every family that fits placed, directly or by an ejection chain."""
    if not _unplaced(prepared, assignment):
        return assignment
    checks = int(prepared.instance.time_limit_seconds * CHECKS_PER_SECOND)
    repair = _Repair(Search(prepared, assignment), checks)
    changed = True
    while changed:
        changed = False
        for household_id in _unplaced(prepared, repair.search.table.assignment):
            changed |= repair.place(household_id)
    return dict(repair.search.table.assignment)


def place_in_turn(search: Search, household_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each household placed in turn into the search's schedule (directly, else by an ejection
    chain): for each, the families its chain moved to make room (empty when it went straight in,
    or when nothing placed it)."""
    repair = _Repair(search, int(search.prepared.instance.time_limit_seconds * CHECKS_PER_SECOND))
    moved_for: dict[str, list[str]] = {}
    for household_id in household_ids:
        before = dict(search.table.assignment)
        repair.place(household_id)
        after = search.table.assignment
        moved_for[household_id] = sorted(
            h for h, option in before.items() if h != household_id and after.get(h) != option
        )
    return moved_for


def _unplaced(prepared: Prepared, assignment: Assignment) -> list[str]:
    return sorted(
        h for h in prepared.households if h not in assignment and prepared.by_household[h]
    )


def insertion_cost(search: Search, option: Option) -> int | None:
    """The exact change in the objective if `option` went in now; None when it breaks a rule."""
    if not search.table.fits(option):
        return None
    score = Price()
    search.change([], [option], score)
    return score.delta


def cheapest(search: Search, options: Iterable[Option]) -> tuple[int, Option] | None:
    """The option that fits now at the lowest change in the objective, and that change."""
    best: tuple[int, int, Option] | None = None
    for option in options:
        cost = insertion_cost(search, option)
        if cost is not None and (best is None or (cost, option.index) < best[:2]):
            best = (cost, option.index, option)
    return None if best is None else (best[0], best[2])


class _Repair:
    """The search's schedule, the ejection work left, and what is known until the next change:
    which placed families could move elsewhere, which unplaced ones nothing helped."""

    def __init__(self, search: Search, checks: int) -> None:
        self.search = search
        self.checks = checks
        self.version = 0
        self.mobile: dict[str, bool] = {}
        self.failed: dict[str, int] = {}  # household -> version at which nothing placed it

    def place(self, household_id: str) -> bool:
        if self.failed.get(household_id) == self.version:
            return False
        found = cheapest(self.search, self.search.prepared.by_household[household_id])
        if found is not None:
            self.search.change([], [found[1]], take)
        if found is not None or _eject(self, household_id):
            self.version += 1
            self.mobile.clear()
            return True
        self.failed[household_id] = self.version
        return False

    def fits(self, option: Option, ignoring: Iterable[Option]) -> bool:
        self.checks -= 1
        return self.search.table.fits(option, ignoring=[o.household_id for o in ignoring])

    def can_move(self, option: Option) -> bool:
        """Whether the placed family has another option that fits with it taken out; one that
        has none is not worth taking out (unless beside another: a chance given up)."""
        household_id = option.household_id
        if household_id not in self.mobile:
            self.mobile[household_id] = any(
                other is not option and self.fits(other, [option])
                for other in self.search.prepared.by_household[household_id]
            )
        return self.mobile[household_id]


# --- Ejection chains ------------------------------------------------------------------------


def _eject(repair: _Repair, household_id: str) -> bool:
    """The best improving chain for the household among the first MAX_CHAINS whose ejected
    families can all go back somewhere; False when none improves the objective."""
    best: tuple[int, int, Option, tuple[Option, ...]] | None = None
    search, scored = repair.search, 0
    for tried, (option, ejected) in enumerate(_chains(repair, household_id)):
        if scored >= MAX_CHAINS or tried >= MAX_TRIES or repair.checks <= 0:
            break
        delta = _chain_delta(search, option, ejected)
        if delta is None:
            continue
        scored += 1
        if delta < 0 and (best is None or (delta, option.index) < best[:2]):
            best = (delta, option.index, option, ejected)
    if best is None:
        return False
    return _apply_chain(search, best[2], best[3]) is not None


def _chains(repair: _Repair, household_id: str) -> Iterator[tuple[Option, tuple[Option, ...]]]:
    """(option, visits to take out) pairs that make the option fit: single ejections of every
    option first, cheapest preference first, then pairs; only families that can move are
    taken out."""
    prepared = repair.search.prepared
    options = sorted(
        prepared.by_household[household_id],
        key=lambda o: (prepared.preference_cost(household_id, o.slot_id), o.index),
    )
    blocking: dict[int, list[Option]] = {}
    for option in options:
        if repair.checks <= 0:
            return
        blocking[option.index] = [b for b in _blocking(repair.search, option) if repair.can_move(b)]
    singles: set[int] = set()
    for option in options:
        for single in blocking[option.index]:
            if repair.fits(option, [single]):
                singles.add(option.index)
                yield option, (single,)
    for option in options:
        if option.index in singles:
            continue  # taking out one family already does it
        for pair in combinations(blocking[option.index], 2):
            if repair.checks <= 0:
                return
            if repair.fits(option, pair):
                yield option, pair


def _blocking(search: Search, option: Option) -> list[Option]:
    """The movable visits of the option's adults that day whose removal can make room: at the
    same time or the nearest before and after (the drive), or any of a full day's."""
    prepared = search.prepared
    slot = prepared.slots[option.slot_id]
    limit = prepared.instance.max_visits_per_adult_per_day
    found: dict[str, Option] = {}
    for adult in option.adult_ids:
        day = search.table.days.get((adult, slot.day), [])
        before = [o for o in day if prepared.slots[o.slot_id].end_minute <= slot.start_minute]
        after = [o for o in day if prepared.slots[o.slot_id].start_minute >= slot.end_minute]
        near = [o for o in day if o not in before and o not in after]
        near += before[-1:] + after[:1]
        for other in day if len(day) >= limit else near:
            if prepared.households[other.household_id].locked is None:
                found.setdefault(other.household_id, other)
    return sorted(found.values(), key=lambda o: (prepared.slot_order[o.slot_id], o.index))


def _chain_delta(search: Search, option: Option, ejected: tuple[Option, ...]) -> int | None:
    """The exact change of the chain, or None when a family taken out fits nowhere; the
    schedule is left as it was."""
    applied = _apply_chain(search, option, ejected)
    if applied is None:
        return None
    delta, placed = applied
    search.change(placed, list(ejected), take)
    return delta


def _apply_chain(
    search: Search, option: Option, ejected: tuple[Option, ...]
) -> tuple[int, list[Option]] | None:
    """Take `ejected` out, put `option` in, re-place each family taken out at its cheapest
    fitting option: the change and what was placed, or None (nothing changed) when one of them
    fits nowhere."""
    total = search.change(list(ejected), [option], take)
    if total is None:
        return None
    placed = [option]
    for out in ejected:
        found = cheapest(search, search.prepared.by_household[out.household_id])
        if found is None:
            search.change(placed, list(ejected), take)
            return None
        search.change([], [found[1]], take)
        total += found[0]
        placed.append(found[1])
    return total, placed
