"""Re-planning a day when adults are away: the fewest families moved.

The schedule as it stands is kept, and only what the absence breaks is mended, in this order:
a visit whose second adult is away keeps its time with another free adult (from the class's team
or the pool) where one fits; a visit whose teacher is away goes to its cheapest time on that day
or a later one that fits, or, where none does, through an ejection chain that moves one or two
other families out of its way (insertion.py). Days before the absence stay exactly as they are,
and so do locked visits. A full re-run would optimise everything again and move far more
families; this moves those the absence forces, and the families their new times displace.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from app.scheduling.solver.accept import take
from app.scheduling.solver.explain import explain_unplaced
from app.scheduling.solver.greedy import Assignment, visits_of
from app.scheduling.solver.insertion import cheapest, place_in_turn
from app.scheduling.solver.options import Option, Prepared, prepare
from app.scheduling.solver.problem import (
    Adult,
    DayPart,
    Instance,
    LockedVisit,
    PreviousVisit,
    Visit,
)
from app.scheduling.solver.search import Search

WHOLE_DAY = (0, 24 * 60)


@dataclass(frozen=True)
class Change:
    household_id: str
    kind: str  # "moved" (another time), "restaffed" (same time, other adults), "unplaced"
    before: Visit
    after: Visit | None
    # Moved to make room for this family (whose visit the absence broke); None: broken itself.
    made_room_for: str | None = None
    why_unplaced: str | None = None


@dataclass(frozen=True)
class Replanned:
    instance: Instance  # the programme as re-planned: the absence recorded, earlier days fixed
    visits: tuple[Visit, ...]
    changes: tuple[Change, ...]


def replan(
    instance: Instance, current: Mapping[str, Visit], day: date, absent: frozenset[str]
) -> Replanned:
    """`current`: every family's visit now (household id → visit); `absent`: adult ids away all
    of `day`."""
    slots = instance.slot_map()
    broken = sorted(
        (h for h, v in current.items() if slots[v.slot_id].day == day and absent & {*v.adult_ids}),
        key=lambda h: (slots[current[h].slot_id].start_minute, h),
    )
    planned = _as_replanned(instance, current, day, absent)
    prepared = prepare(planned)
    kept = {h: _option(prepared, current[h]) for h in current if h not in broken}
    unmatched = {h for h, option in kept.items() if option is None}
    if unmatched:  # kept exactly as they are, even where the options would not rebuild them
        prepared = prepare(_locking(planned, current, unmatched))
        kept = {h: _option(prepared, current[h]) for h in kept}
    search = Search(prepared, {h: o for h, o in kept.items() if o is not None})
    restaffed = [h for h in broken if _restaff(search, current[h])]
    made_room = place_in_turn(search, [h for h in broken if h not in restaffed])
    return _result(prepared, search.table.assignment, current, made_room)


def _as_replanned(
    instance: Instance, current: Mapping[str, Visit], day: date, absent: frozenset[str]
) -> Instance:
    slots = instance.slot_map()
    earlier = sorted({s.day for s in instance.slots if s.day < day})
    households = []
    for household in instance.households:
        visit = current.get(household.id)
        if visit is None:
            continue  # not placed before the absence: the office's to place by hand
        if household.locked is None and slots[visit.slot_id].day < day:
            household = replace(household, locked=LockedVisit(visit.slot_id, visit.adult_ids))
        elif household.locked is None:
            # Never moved to a day already past the absence's.
            gone = tuple((d, DayPart.ALL_DAY) for d in earlier)
            household = replace(household, unavailable=(*household.unavailable, *gone))
        households.append(household)
    return replace(
        instance,
        adults=tuple(_away(a, day) if a.id in absent else a for a in instance.adults),
        households=tuple(households),
        previous=tuple(
            PreviousVisit(h.id, current[h.id].slot_id, current[h.id].adult_ids)
            for h in households
            if h.locked is None
        ),
    )


def _away(adult: Adult, day: date) -> Adult:
    return replace(adult, unavailable=(*adult.unavailable, (day, *WHOLE_DAY)))


def _locking(instance: Instance, current: Mapping[str, Visit], households: set[str]) -> Instance:
    return replace(
        instance,
        households=tuple(
            replace(h, locked=LockedVisit(current[h.id].slot_id, current[h.id].adult_ids))
            if h.id in households
            else h
            for h in instance.households
        ),
        previous=tuple(p for p in instance.previous if p.household_id not in households),
    )


def _option(prepared: Prepared, visit: Visit) -> Option | None:
    """The option that is this visit as it stands (same time, same adults), if there is one."""
    adults = set(visit.adult_ids)
    for option in prepared.by_household.get(visit.household_id, []):
        if option.slot_id == visit.slot_id and set(option.adult_ids) == adults:
            return option
    return None


def _restaff(search: Search, visit: Visit) -> bool:
    """Keep the visit's time with other adults, where another pair fits; whether it did."""
    same_time = [
        o for o in search.prepared.by_household[visit.household_id] if o.slot_id == visit.slot_id
    ]
    found = cheapest(search, same_time)
    if found is None:
        return False
    search.change([], [found[1]], take)
    return True


def _result(
    prepared: Prepared,
    assignment: Assignment,
    current: Mapping[str, Visit],
    made_room: Mapping[str, list[str]],
) -> Replanned:
    visits = {v.household_id: v for v in visits_of(prepared, dict(assignment))}
    room_for = {moved: h for h, moved_ones in made_room.items() for moved in moved_ones}
    unplaced = explain_unplaced(prepared, dict(assignment))
    changes = []
    for household_id, before in sorted(current.items()):
        after = visits.get(household_id)
        if after is None:
            changes.append(
                Change(
                    household_id,
                    "unplaced",
                    before,
                    None,
                    why_unplaced=unplaced.get(household_id),
                )
            )
        elif after.slot_id != before.slot_id:
            changes.append(Change(household_id, "moved", before, after, room_for.get(household_id)))
        elif set(after.adult_ids) != set(before.adult_ids):
            changes.append(
                Change(household_id, "restaffed", before, after, room_for.get(household_id))
            )
    return Replanned(prepared.instance, tuple(visits.values()), tuple(changes))


__all__ = ["Change", "Replanned", "replan"]
