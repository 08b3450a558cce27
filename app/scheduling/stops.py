"""Ordering each team-day's stops: swap families between a teacher's slots of one day, or move one
to a free slot that day, whenever that cuts the drive (or meets a better-ranked preference)
without breaking a rule. The day, the adults and every adult's number of visits stay the same, so
class days and load balance cannot get worse."""

from itertools import combinations

from app.scheduling.greedy import Assignment, Timetable
from app.scheduling.options import Option, Prepared

MAX_PASSES = 8


def order_stops(prepared: Prepared, assignment: Assignment) -> Assignment:
    table = Timetable(prepared)
    for option in assignment.values():
        table.add(option)
    for _ in range(MAX_PASSES):
        if not _improve_once(prepared, table):
            break
    return table.assignment


def _improve_once(prepared: Prepared, table: Timetable) -> bool:
    improved = False
    for adult, day in sorted(k for k in table.days if k[0] in prepared.lead_ids):
        movable = [o for o in table.days[(adult, day)] if _movable(prepared, o)]
        for first, second in combinations(movable, 2):
            current = table.assignment
            if (
                current.get(first.household_id) is first
                and current.get(second.household_id) is second
            ):
                improved |= _try_swap(prepared, table, first, second)
        for option in list(table.days[(adult, day)]):
            if _movable(prepared, option) and table.assignment.get(option.household_id) is option:
                improved |= _try_move(prepared, table, option)
    return improved


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


def _try_swap(prepared: Prepared, table: Timetable, first: Option, second: Option) -> bool:
    new_first = _alternative(prepared, first.household_id, second.slot_id, second.adult_ids)
    new_second = _alternative(prepared, second.household_id, first.slot_id, first.adult_ids)
    if new_first is None or new_second is None:
        return False
    return _try_replace(prepared, table, [first, second], [new_first, new_second])


def _try_move(prepared: Prepared, table: Timetable, option: Option) -> bool:
    day = prepared.slots[option.slot_id].day
    for slot in prepared.day_slots[day]:
        if slot.id == option.slot_id:
            continue
        moved = _alternative(prepared, option.household_id, slot.id, option.adult_ids)
        if moved is not None and _try_replace(prepared, table, [option], [moved]):
            return True
    return False


def _try_replace(
    prepared: Prepared, table: Timetable, old: list[Option], new: list[Option]
) -> bool:
    """Apply the change if every rule holds and the objective falls; otherwise undo it."""
    before = _local_cost(prepared, table, old)
    for option in old:
        table.remove(option.household_id)
    for index, option in enumerate(new):
        if not table.fits(option):
            for added in new[:index]:
                table.remove(added.household_id)
            for option_back in old:
                table.add(option_back)
            return False
        table.add(option)
    if _local_cost(prepared, table, new) < before:
        return True
    for option in new:
        table.remove(option.household_id)
    for option in old:
        table.add(option)
    return False


def _local_cost(prepared: Prepared, table: Timetable, options: list[Option]) -> int:
    """The parts of the objective a same-day change of these visits can alter."""
    weights = prepared.instance.weights
    previous = {p.household_id: p.slot_id for p in prepared.instance.previous}
    day = prepared.slots[options[0].slot_id].day
    leads = sorted({a for o in options for a in o.adult_ids if a in prepared.lead_ids})
    cost = sum(table.route(a, day) for a in leads) * weights.travel_tenth_minute
    for option in options:
        cost += prepared.preference_cost(option.household_id, option.slot_id)
        was = previous.get(option.household_id)
        if was is not None and was != option.slot_id:
            cost += weights.moved
    return cost
