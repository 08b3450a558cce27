"""Two greedy schedules: the solver's complete warm start, and the plain office baseline that
quality is compared against (SPEC: "classes filled in order of first preferences").

Both keep every hard rule through `Timetable`, which knows each adult's day in time order.
"""

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from app.scheduling.solver.options import Option, Prepared
from app.scheduling.solver.problem import LocationKind, Visit

Assignment = dict[str, Option]


@dataclass
class Timetable:
    """Each adult's visits per day, in time order, and the rules a new visit must keep."""

    prepared: Prepared
    assignment: Assignment = field(default_factory=dict)
    days: dict[tuple[str, date], list[Option]] = field(default_factory=lambda: defaultdict(list))

    def fits(self, option: Option, ignoring: Iterable[str] = ()) -> bool:
        skip = set(ignoring)
        slot = self.prepared.slots[option.slot_id]
        limit = self.prepared.instance.max_visits_per_adult_per_day
        for adult in option.adult_ids:
            day = [o for o in self.days[(adult, slot.day)] if o.household_id not in skip]
            if len(day) >= limit or not self._fits_day(day, option):
                return False
        return True

    def _fits_day(self, day: list[Option], option: Option) -> bool:
        ordered = sorted([*day, option], key=lambda o: self.prepared.slot_order[o.slot_id])
        return self.sequence_feasible(ordered)

    def sequence_feasible(self, ordered: list[Option]) -> bool:
        """Each visit starts after the previous ends plus the drive (from school for the first),
        and the drive back to school after the last ends by the day's end."""
        slots = self.prepared.slots
        clock = self.prepared.instance.school_departure_minute
        here: str | None = None
        for option in ordered:
            slot = slots[option.slot_id]
            if (slot.start_minute - clock) * 10 < self.prepared.travel(here, option.household_id):
                return False
            clock, here = slot.end_minute, option.household_id
        if not ordered:
            return True
        last = ordered[-1]
        # A confirmed visit stays exactly as it is, even one that ends too late to drive back
        # (the validator names it); the rule holds for everything the solver places.
        if self.prepared.households[last.household_id].locked is not None:
            return True
        return not self.prepared.returns_late(last.household_id, slots[last.slot_id])

    def add(self, option: Option) -> None:
        self.assignment[option.household_id] = option
        day = self.prepared.slots[option.slot_id].day
        for adult in option.adult_ids:
            self.days[(adult, day)].append(option)
            self.days[(adult, day)].sort(key=lambda o: self.prepared.slot_order[o.slot_id])

    def remove(self, household_id: str) -> Option:
        option = self.assignment.pop(household_id)
        day = self.prepared.slots[option.slot_id].day
        for adult in option.adult_ids:
            self.days[(adult, day)].remove(option)
        return option

    def route(self, adult: str, day: date, extra: Option | None = None) -> int:
        """Tenths of a minute from school through the adult's visits that day, in time order,
        and back to school from the last (unless adults finish at their last visit)."""
        ordered = list(self.days[(adult, day)])
        if extra is not None:
            ordered = sorted([*ordered, extra], key=lambda o: self.prepared.slot_order[o.slot_id])
        total, here = 0, None
        for option in ordered:
            total += self.prepared.travel(here, option.household_id)
            here = option.household_id
        return total if here is None else total + self.prepared.return_leg(here)

    def insertion_travel(self, option: Option) -> int:
        day = self.prepared.slots[option.slot_id].day
        leads = [a for a in option.adult_ids if a in self.prepared.lead_ids]
        return sum(self.route(a, day, option) - self.route(a, day) for a in leads)


def warm_start(prepared: Prepared, deadline: float | None = None) -> Assignment:
    """Hardest households first (siblings, then fewest options), each at its cheapest fitting
    option: preference cost plus the extra driving, plus a new day for its class. Once the wall
    clock (time.perf_counter) passes `deadline`, each remaining household takes its first
    fitting option in its own order instead: a quick finish rather than a late one."""
    table = Timetable(prepared)
    class_days: set[tuple[str, date]] = set()
    weights = prepared.instance.weights
    for household_id in hardest_first(prepared):
        best: tuple[int, int, int] | None = None
        chosen: Option | None = None
        late = deadline is not None and time.perf_counter() > deadline
        if late:
            chosen = _first_fitting(prepared, table, household_id)
        for option in [] if late else prepared.by_household[household_id]:
            if not table.fits(option):
                continue
            day = prepared.slots[option.slot_id].day
            household = prepared.households[household_id]
            new_days = sum((c, day) not in class_days for c in set(household.classes))
            cost = (
                prepared.preference_cost(household_id, option.slot_id)
                + table.insertion_travel(option) * weights.travel_tenth_minute
                + new_days * weights.class_day
            )
            key = (cost, prepared.slot_order[option.slot_id], option.index)
            if best is None or key < best:
                best, chosen = key, option
        if chosen is not None:
            table.add(chosen)
            day = prepared.slots[chosen.slot_id].day
            class_days.update((c, day) for c in prepared.households[household_id].classes)
    return table.assignment


def _first_fitting(prepared: Prepared, table: Timetable, household_id: str) -> Option | None:
    """The family's best-ranked fitting option, else its earliest."""
    listed = len(prepared.households[household_id].preferences)

    def rank(option: Option) -> int:
        found = prepared.rank(household_id, option.slot_id)
        return listed if found is None else found

    ranked = sorted(prepared.by_household[household_id], key=rank)  # stable: earliest first
    return next((o for o in ranked if table.fits(o)), None)


def hardest_first(prepared: Prepared) -> list[str]:
    def difficulty(household_id: str) -> tuple[int, int, int, str]:
        household = prepared.households[household_id]
        return (
            household.locked is None,
            -len(set(household.classes)),
            len(prepared.by_household[household_id]),
            household_id,
        )

    return sorted(prepared.households, key=difficulty)


def office_baseline(prepared: Prepared) -> Assignment:
    """What an office does by hand: class by class, families in the order of their first
    choice's time, each at its first choice still free, else the next, else the earliest free
    slot. Same hard rules, no thought for travel."""
    table = Timetable(prepared)
    for household_id in _office_order(prepared):
        household = prepared.households[household_id]
        options = prepared.by_household[household_id]
        ranked = sorted(
            options,
            key=lambda o: (
                prepared.rank(household_id, o.slot_id)
                if prepared.rank(household_id, o.slot_id) is not None
                else len(household.preferences),
                prepared.slot_order[o.slot_id],
                o.index,
            ),
        )
        chosen = next((o for o in ranked if table.fits(o)), None)
        if chosen is not None:
            table.add(chosen)
    return table.assignment


def _office_order(prepared: Prepared) -> list[str]:
    class_rank = {team.class_id: i for i, team in enumerate(prepared.instance.teams)}
    never = len(prepared.slot_order)

    def key(household_id: str) -> tuple[int, int, int, str]:
        household = prepared.households[household_id]
        first = household.preferences[0] if household.preferences else None
        order = prepared.slot_order.get(first, never) if first else never
        return (
            household.locked is None,
            min((class_rank.get(c, never) for c in household.classes), default=never),
            order,
            household_id,
        )

    return sorted(prepared.households, key=key)


def visits_of(prepared: Prepared, assignment: Assignment) -> tuple[Visit, ...]:
    visits = []
    for household_id in sorted(
        assignment, key=lambda h: (prepared.slot_order[assignment[h].slot_id], h)
    ):
        option = assignment[household_id]
        neutral = prepared.households[household_id].neutral_venue
        kind = LocationKind.NEUTRAL_VENUE if neutral else LocationKind.HOME
        visits.append(Visit(household_id, option.slot_id, option.adult_ids, kind))
    return tuple(visits)
