"""Plain-English reasons: why a household could not be placed, and why a family did not get the
time it asked for first. SPEC: the scheduler must say, for every household it could not place,
why; the office reads these to families, so they name people, days and times, never ids."""

from dataclasses import dataclass

from app.scheduling.solver.greedy import Assignment, Timetable
from app.scheduling.solver.options import Option, Prepared
from app.scheduling.solver.problem import Slot

UNAVAILABLE = "the family is unavailable then"
NO_ADDRESS = (
    "no home address yet: give it one (the data-quality list of households needing an "
    "address), or ask for a neutral venue at school"
)
ORDINALS = ("1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th")


def slot_label(slot: Slot) -> str:
    return f"{slot.day:%a %-d %b} {slot.start_minute // 60:02d}:{slot.start_minute % 60:02d}"


def ordinal(rank: int) -> str:
    return ORDINALS[rank] if rank < len(ORDINALS) else f"{rank + 1}th"


@dataclass(frozen=True)
class Blocker:
    adult_name: str
    siblings: bool  # blocked by a visit to a family with children in several classes
    full_day: bool  # the adult already has the daily maximum


def explain_unplaced(prepared: Prepared, assignment: Assignment) -> dict[str, str]:
    table = _table(prepared, assignment)
    return {
        h: _unplaced_reason(prepared, table, h)
        for h in sorted(prepared.households)
        if h not in assignment
    }


def _unplaced_reason(prepared: Prepared, table: Timetable, household_id: str) -> str:
    options = prepared.by_household[household_id]
    if not options:
        return _no_option_reason(prepared, household_id)
    blockers = [b for o in options for b in _blockers(prepared, table, o)]
    count = len({o.slot_id for o in options})
    names = sorted({b.adult_name for b in blockers if not b.full_day})
    parts = []
    if names and all(b.siblings for b in blockers if not b.full_day):
        parts.append(f"all {count} preferred and available times are taken by siblings' classes")
    elif names:
        parts.append(
            f"all {count} times the family and staff can do are taken: "
            f"{_join(names)} {'is' if len(names) == 1 else 'are'} at other visits then"
        )
    full = sorted({b.adult_name for b in blockers if b.full_day})
    if full:
        limit = prepared.instance.max_visits_per_adult_per_day
        parts.append(
            f"{_join(full)} already {'has' if len(full) == 1 else 'have'} {limit} visits on those days"
        )
    return "; ".join(parts) or "no time left that keeps every rule"


def _no_option_reason(prepared: Prepared, household_id: str) -> str:
    household = prepared.households[household_id]
    if household.locked is None and household.address_needed:
        return NO_ADDRESS
    if household.locked is None and not prepared.slots:
        return "the programme has no slots"
    reasons = prepared.excluded[household_id]
    if reasons and all(r == UNAVAILABLE for r in reasons.values()):
        return "every slot is outside the family's available times"
    staff = list(dict.fromkeys(r for r in reasons.values() if r != UNAVAILABLE))
    text = "; ".join(staff[:4]) + (f" (and {len(staff) - 4} more)" if len(staff) > 4 else "")
    if UNAVAILABLE in reasons.values():
        text += "; the family is unavailable at the other times"
    return text or "no time keeps every rule"


def explain_unmet(prepared: Prepared, assignment: Assignment) -> dict[str, str]:
    """For each family not at its first choice: where it went and why each better choice went."""
    table = _table(prepared, assignment)
    found = {}
    for household_id, option in sorted(assignment.items()):
        household = prepared.households[household_id]
        rank = prepared.rank(household_id, option.slot_id)
        if not household.preferences or rank == 0:
            continue
        placed = prepared.slots[option.slot_id]
        got = f"{ordinal(rank)} choice" if rank is not None else "a time not on the family's list"
        lines = [f"placed at {got} ({slot_label(placed)})"]
        better = household.preferences if rank is None else household.preferences[:rank]
        for index, slot_id in enumerate(better):
            lines.append(
                f"{ordinal(index)} choice {_why_not(prepared, table, household_id, slot_id)}"
            )
        found[household_id] = "; ".join(lines)
    return found


def _why_not(prepared: Prepared, table: Timetable, household_id: str, slot_id: str) -> str:
    slot = prepared.slots.get(slot_id)
    if slot is None:
        return "is not a time of this programme"
    label = slot_label(slot)
    excluded = prepared.excluded[household_id].get(slot_id)
    if excluded is not None:
        return f"({label}): {excluded}"
    options = [o for o in prepared.by_household[household_id] if o.slot_id == slot_id]
    blockers = [b for o in options for b in _blockers(prepared, table, o)]
    if blockers:
        names = sorted({b.adult_name for b in blockers})
        who = "siblings' classes' visits" if all(b.siblings for b in blockers) else "other visits"
        return f"({label}): {_join(names)} at {who} then"
    return (
        f"({label}): free, but placing the visit there would cost more travel or class days overall"
    )


def _blockers(prepared: Prepared, table: Timetable, option: Option) -> list[Blocker]:
    """Who among the option's adults cannot take it, given the schedule."""
    found = []
    day = prepared.slots[option.slot_id].day
    limit = prepared.instance.max_visits_per_adult_per_day
    for adult_id in option.adult_ids:
        visits = [o for o in table.days[(adult_id, day)] if o.household_id != option.household_id]
        name = prepared.adults[adult_id].name if adult_id in prepared.adults else adult_id
        if len(visits) >= limit:
            found.append(Blocker(name, False, True))
            continue
        ordered = sorted([*visits, option], key=lambda o: prepared.slot_order[o.slot_id])
        overlapping = _overlapping(prepared, visits, option)
        if overlapping or not table.sequence_feasible(ordered):
            siblings = bool(overlapping) and all(
                len(set(prepared.households[o.household_id].classes)) > 1 for o in overlapping
            )
            found.append(Blocker(name, siblings, False))
    return found


def _overlapping(prepared: Prepared, visits: list[Option], option: Option) -> list[Option]:
    slot = prepared.slots[option.slot_id]
    return [
        o
        for o in visits
        if prepared.slots[o.slot_id].start_minute < slot.end_minute
        and slot.start_minute < prepared.slots[o.slot_id].end_minute
    ]


def _table(prepared: Prepared, assignment: Assignment) -> Timetable:
    table = Timetable(prepared)
    for option in assignment.values():
        table.add(option)
    return table


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
