"""Large-neighbourhood search: take out a set of related visits and put them back by regret.

The annealing search (search.py) changes one or two visits at a time; a day whose visits would
all be better in another order or on other days cannot be reached through single moves that
each pass the acceptance test. Here one move takes out several visits that belong together and
rebuilds them, as the best vehicle-routing solvers do (Shaw's related removal; PyVRP's and
Timefold's ruin-and-recreate):

- a teacher's day: the visits a teacher makes on one day;
- nearby homes: a visit and the homes nearest to it among that day's visits, whoever makes them;
- make room, while families are left out: a placed family that shares classes with the most of
  them (`make_room`);
- a listed time: a family not at its first choice goes to a time it listed (a better-ranked
  one), and the visits in its way that day come out (`to_listed_time`). On a fine grid the
  listed times fall at any minute, and a family's time is usually blocked by a visit that
  could as well be elsewhere: single moves cannot take that step, since the visit in the way
  must leave first at no gain.

Families left unplaced join the visits taken out, so the move can also find them room.

The families are put back by regret: each one's cheapest and second-cheapest options that fit
(`Timetable.fits`, the rule check every move uses), priced by the exact change of the objective;
the family whose second choice would cost most more than its first goes in first, at its
cheapest. The whole move, taking out and putting back, is then kept or undone by the search's
annealing acceptance on its exact change.

Deterministic: the seeded generator picks the neighbourhood, and the work is charged to the
search's fixed count of steps (`Rebuild.cost`), so a seed gives the same schedule whenever the
clock does not cut the search short.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from app.scheduling.solver.accept import Price, take
from app.scheduling.solver.options import Option, Prepared

if TYPE_CHECKING:  # search.py runs these moves inside its loop: the types only, not a cycle
    from app.scheduling.solver.search import Accept, Search

MIN_REMOVED = 3
MAX_REMOVED = 8
MAX_UNPLACED_ADDED = 2
MAKE_ROOM_SHARE = 0.5  # of the moves while families are left out
ROOM_CANDIDATES = 16  # among the families freeing the most, one of which is taken out
# Of the other moves, on a fine grid only (measured there: the fine grid's school at equal steps,
# 120,137 without the move, 114,824 at half of them, 108,004 at 0.8); the back-to-back grids
# were not measured with it and keep their moves.
TO_LISTED_SHARE = 0.8
LISTED_DRAWS = 8  # families drawn in turn until one can go to a better-ranked listed time
# The work of one search step (~50 µs), as measured on the school: about four rule checks, or
# two exactly priced options (with the bookkeeping around them).
CHECKS_PER_STEP = 4
PRICES_PER_STEP = 2
NO_SECOND_CHOICE = 10**9  # a family with one option left goes in before any with two


@dataclass
class Rebuild:
    """One ruin-and-recreate move on the search's schedule, and the work it took."""

    search: Search
    checks: int = 0
    prices: int = 0
    # household -> its fitting options and their exact prices, as last priced
    priced: dict[str, list[tuple[int, Option]]] = field(default_factory=dict)

    @property
    def cost(self) -> int:
        """The move's work in search steps (at least one)."""
        return max(1, self.checks // CHECKS_PER_STEP + self.prices // PRICES_PER_STEP)

    def run(
        self, removed: list[Option], unplaced: list[str], accept: Accept, last: str | None = None
    ) -> int | None:
        """Take `removed` out, put them and `unplaced` back by regret (`last`, one of them,
        only after all the others); keep the result if `accept` takes its exact change. That
        change, or None when undone."""
        search = self.search
        delta = search.change(removed, [], take)
        if delta is None:
            return None
        pending = sorted(({o.household_id for o in removed} | set(unplaced)) - {last})
        for household_id in pending:
            self._price(household_id, None)
        placed: list[Option] = []
        delta += self._insert(pending, placed)
        if last is not None:  # priced now, against the schedule the others have made
            self._price(last, None)
            delta += self._insert([last], placed)
        if accept(delta):
            return delta
        search.change(placed, removed, take)
        return None

    def run_to(self, target: Option, in_way: list[Option], accept: Accept) -> int | None:
        """Take `in_way` out and put `target` in, then the others back by regret; keep the
        result if `accept` takes its exact change. That change, or None when undone."""
        search = self.search
        delta = search.change(in_way, [target], take)
        if delta is None:
            return None
        pending = sorted({o.household_id for o in in_way} - {target.household_id})
        for household_id in pending:
            self._price(household_id, None)
        placed = [target]
        delta += self._insert(pending, placed)
        if accept(delta):
            return delta
        search.change(placed, in_way, take)
        return None

    def _insert(self, pending: list[str], placed: list[Option]) -> int:
        """Put `pending` in by regret, adding what went in to `placed`; the change."""
        delta = 0
        while pending:
            chosen = self._most_regret(pending)
            if chosen is None:
                break  # no family left has an option that fits: they stay out
            pending.remove(chosen.household_id)
            step = self.search.change([], [chosen], take)
            if step is None:
                continue
            delta += step
            placed.append(chosen)
            for household_id in pending:
                self._price(household_id, chosen)
        return delta

    def _price(self, household_id: str, after: Option | None) -> None:
        """Price the household's options that fit; after an insertion, only those on its day
        sharing an adult (the rest keep their price: a choice, not the move's score)."""
        search = self.search
        prepared = search.prepared
        options = prepared.by_household[household_id]
        kept: list[tuple[int, Option]] = []
        if after is not None:
            day, adults = prepared.slots[after.slot_id].day, set(after.adult_ids)

            def touched(option: Option) -> bool:
                return prepared.slots[option.slot_id].day == day and not adults.isdisjoint(
                    option.adult_ids
                )

            kept = [p for p in self.priced[household_id] if not touched(p[1])]
            options = [o for o in options if touched(o)]
        for option in options:
            self.checks += 1
            if not search.table.fits(option):
                continue
            price = Price()
            search.change([], [option], price)
            self.prices += 1
            if price.delta is not None:  # priced: it fits, so the change was shown
                kept.append((price.delta, option))
        self.priced[household_id] = sorted(kept, key=lambda p: (p[0], p[1].index))

    def _most_regret(self, pending: list[str]) -> Option | None:
        best: tuple[int, int, str] | None = None
        chosen: Option | None = None
        for household_id in pending:
            priced = self.priced[household_id]
            if not priced:
                continue
            second = priced[1][0] if len(priced) > 1 else NO_SECOND_CHOICE
            key = (-(second - priced[0][0]), priced[0][0], household_id)
            if best is None or key < best:
                best, chosen = key, priced[0][1]
        return chosen


# --- Which visits to take out ---------------------------------------------------------------

Neighbourhood = Callable[["Search", Option, int, random.Random], list[Option]]


def teacher_day(search: Search, seed: Option, size: int, _rng: random.Random) -> list[Option]:
    """The seed's teacher's visits that day (up to `size`, those nearest the seed in time)."""
    prepared = search.prepared
    day = prepared.slots[seed.slot_id].day
    lead = next((a for a in seed.adult_ids if a in prepared.lead_ids), seed.adult_ids[0])
    visits = _movable(prepared, search.table.days.get((lead, day), []))
    order = prepared.slot_order
    return sorted(visits, key=lambda o: (abs(order[o.slot_id] - order[seed.slot_id]), o.index))[
        :size
    ]


def nearby_homes(search: Search, seed: Option, size: int, _rng: random.Random) -> list[Option]:
    """The seed and the homes nearest it among that day's visits."""
    prepared = search.prepared
    day = prepared.slots[seed.slot_id].day
    visits = _movable(prepared, _on_day(search, day))
    return sorted(
        visits, key=lambda o: (prepared.travel(seed.household_id, o.household_id), o.index)
    )[:size]


# Measured (bench/scheduler.py's school and five-day shapes, three seeds, equal steps): a time
# across teachers and random visits as neighbourhoods made the schedule worse, not better.
NEIGHBOURHOODS: tuple[Neighbourhood, ...] = (teacher_day, nearby_homes)


def _on_day(search: Search, day: date) -> list[Option]:
    prepared = search.prepared
    return [o for o in search.table.assignment.values() if prepared.slots[o.slot_id].day == day]


def _movable(prepared: Prepared, options: list[Option]) -> list[Option]:
    return [o for o in options if prepared.households[o.household_id].locked is None]


def make_room(
    search: Search, left_out: list[str], rng: random.Random, accept: Accept
) -> tuple[int | None, int]:
    """For the families left out: take out a placed family that shares a class with the most of
    them (a family of three classes frees a visit in each), put back every family left out of
    its classes, then it, if it still fits. A class over its team's capacity must leave someone
    out; leaving out one family of three such classes instead of one of each places two more."""
    prepared = search.prepared
    rebuild = Rebuild(search)
    waiting: dict[str, list[str]] = {}
    for household_id in left_out:
        for class_id in set(prepared.households[household_id].classes):
            waiting.setdefault(class_id, []).append(household_id)
    candidates: list[tuple[int, int, Option, set[str]]] = []
    for option in search.table.assignment.values():
        if prepared.households[option.household_id].locked is None:
            classes = set(prepared.households[option.household_id].classes)
            freed = {h for c in classes for h in waiting.get(c, ())}
            if freed:
                candidates.append((-len(freed), option.index, option, freed))
    if not candidates:
        return None, 1
    candidates.sort(key=lambda c: c[:2])
    _, _, out, freed = candidates[rng.randrange(min(ROOM_CANDIDATES, len(candidates)))]
    unplaced = sorted(freed)
    return rebuild.run([out], unplaced, accept, last=out.household_id), rebuild.cost


def to_listed_time(
    search: Search, movable: list[str], rng: random.Random, accept: Accept
) -> tuple[int | None, int]:
    """A family not at its first choice goes to a better-ranked time it listed; the visits of
    its adults that day that leave no room for it come out and go back by regret."""
    prepared = search.prepared
    for _ in range(LISTED_DRAWS):
        household_id = movable[rng.randrange(len(movable))]
        current = search.table.assignment.get(household_id)
        now = (
            prepared.preference_cost(household_id, current.slot_id)
            if current is not None
            else prepared.instance.weights.unplaced
        )
        better = [
            o
            for o in search.listed(household_id)
            if o is not current and prepared.preference_cost(household_id, o.slot_id) < now
        ]
        if better:
            break
    else:
        return None, 1
    target = better[rng.randrange(len(better))]
    in_way = [o for o in _in_the_way(search, target) if o.household_id != household_id]
    if len(in_way) > MAX_REMOVED:
        return None, 1
    if current is not None:
        in_way.append(current)
    rebuild = Rebuild(search)
    return rebuild.run_to(target, in_way, accept), rebuild.cost


def _in_the_way(search: Search, target: Option) -> list[Option]:
    """The visits of the target's adults that day too close in time to it for the drive
    between, or, on a day already at the most visits, the one nearest it in time."""
    prepared = search.prepared
    slot = prepared.slots[target.slot_id]
    start = slot.start_minute
    limit = prepared.instance.max_visits_per_adult_per_day
    found: dict[str, Option] = {}
    for adult in target.adult_ids:
        day = search.table.days.get((adult, slot.day), [])
        clash = [o for o in day if _too_close(prepared, o, target)]
        if len(day) - len(clash) >= limit:
            rest = [o for o in day if o not in clash]
            clash.append(
                min(rest, key=lambda o: abs(prepared.slots[o.slot_id].start_minute - start))
            )
        for other in clash:
            found.setdefault(other.household_id, other)
    return sorted(found.values(), key=lambda o: (prepared.slot_order[o.slot_id], o.index))


def _too_close(prepared: Prepared, first: Option, second: Option) -> bool:
    a, b = prepared.slots[first.slot_id], prepared.slots[second.slot_id]
    if a.start_minute > b.start_minute:
        a, b, first, second = b, a, second, first
    drive = prepared.travel(first.household_id, second.household_id)
    return (b.start_minute - a.end_minute) * 10 < drive


def ruin_and_recreate(
    search: Search, movable: list[str], rng: random.Random, accept: Accept
) -> tuple[int | None, int]:
    """One move: its change in the objective (None when undone) and its work in steps."""
    placed = [h for h in movable if h in search.table.assignment]
    if not placed:
        return None, 1
    if len(placed) < len(movable) and rng.random() < MAKE_ROOM_SHARE:
        return make_room(
            search, [h for h in movable if h not in search.table.assignment], rng, accept
        )
    if search.fine and rng.random() < TO_LISTED_SHARE:
        return to_listed_time(search, movable, rng, accept)
    rebuild = Rebuild(search)
    seed = search.table.assignment[placed[rng.randrange(len(placed))]]
    neighbourhood = NEIGHBOURHOODS[rng.randrange(len(NEIGHBOURHOODS))]
    size = rng.randint(MIN_REMOVED, MAX_REMOVED)
    removed = neighbourhood(search, seed, size, rng)
    left_out = [h for h in movable if h not in search.table.assignment]
    unplaced = rng.sample(left_out, min(MAX_UNPLACED_ADDED, len(left_out)))
    return rebuild.run(removed, unplaced, accept), rebuild.cost
