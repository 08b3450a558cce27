"""Ordering each team-day's stops: swap families between a teacher's slots of one day, or move one
to a free slot that day, whenever that lowers the objective (a shorter drive, a better-ranked
preference) without breaking a rule; and (`sequence_stops`, with the time the bound leaves) each
teacher's day sequenced exactly (sequence.py: the best start and adults for each of the day's
families at once). The
day and every adult's number of visits stay the same, so class days and load balance cannot get
worse. Each change is kept or undone by the search's exact, local scoring (`Search.change`)."""

import time
from itertools import combinations

from app.scheduling.solver.greedy import Assignment
from app.scheduling.solver.options import Option, Prepared
from app.scheduling.solver.search import Search
from app.scheduling.solver.sequence import sequence_days

MAX_PASSES = 8


def order_stops(
    prepared: Prepared, assignment: Assignment, deadline: float | None = None
) -> Assignment:
    """The swaps and moves. `deadline` (time.perf_counter) ends the passes early: each change
    only lowers the objective, so stopping at any team-day leaves a valid, no worse
    schedule."""
    if deadline is not None and time.perf_counter() > deadline:
        return dict(assignment)
    search = Search(prepared, assignment)
    for _ in range(MAX_PASSES):
        if not _improve_once(prepared, search, deadline):
            break
    return search.table.assignment


def sequence_stops(
    prepared: Prepared, assignment: Assignment, deadline: float | None = None
) -> Assignment:
    """Each teacher's day sequenced exactly (sequence.py), in a fixed order, until `deadline`:
    after the swaps and moves, whose cheap passes a short budget should not lose."""
    search = Search(prepared, assignment)
    sequence_days(prepared, search, deadline)
    return search.table.assignment


def _improve_once(prepared: Prepared, search: Search, deadline: float | None) -> bool:
    improved = False
    table = search.table
    for adult, day in sorted(k for k in table.days if k[0] in prepared.lead_ids):
        if deadline is not None and time.perf_counter() > deadline:
            return False
        movable = [o for o in table.days[(adult, day)] if _movable(prepared, o)]
        for first, second in combinations(movable, 2):
            current = table.assignment
            if (
                current.get(first.household_id) is first
                and current.get(second.household_id) is second
            ):
                improved |= _try_swap(prepared, search, first, second)
        for option in list(table.days[(adult, day)]):
            if _movable(prepared, option) and table.assignment.get(option.household_id) is option:
                improved |= _try_move(prepared, search, option)
    return improved


def _lower(delta: int) -> bool:
    return delta < 0


def _movable(prepared: Prepared, option: Option) -> bool:
    return prepared.households[option.household_id].locked is None


def _alternative(
    prepared: Prepared, household_id: str, slot_id: str, adults: tuple[str, ...]
) -> Option | None:
    wanted = set(adults)
    return next(
        (
            o
            for o in prepared.by_household[household_id]
            if o.slot_id == slot_id and set(o.adult_ids) == wanted
        ),
        None,
    )


def _try_swap(prepared: Prepared, search: Search, first: Option, second: Option) -> bool:
    new_first = _alternative(prepared, first.household_id, second.slot_id, second.adult_ids)
    new_second = _alternative(prepared, second.household_id, first.slot_id, first.adult_ids)
    if new_first is None or new_second is None:
        return False
    return search.change([first, second], [new_first, new_second], _lower) is not None


def _try_move(prepared: Prepared, search: Search, option: Option) -> bool:
    day = prepared.slots[option.slot_id].day
    for slot in prepared.day_slots[day]:
        if slot.id == option.slot_id:
            continue
        moved = _alternative(prepared, option.household_id, slot.id, option.adult_ids)
        if moved is not None and search.change([option], [moved], _lower) is not None:
            return True
    return False
