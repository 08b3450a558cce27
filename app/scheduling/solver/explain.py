"""Plain-English reasons: why a household could not be placed, and why a family did not get the
time it asked for first. SPEC: the scheduler must say, for every household it could not place,
why; the office reads these to families, so they name people, days and times, never ids.

Each reason is exactly true of the returned schedule and never cut short. For an unplaced family
the root cause comes first (more families than the class's team can visit, an adult away, the
family's own unavailable times, siblings' teachers never free together), then, day by day, what
blocks each time it could have had: which adult, and whether they are at another visit then,
already at the daily maximum, or could not make the drive to or from it.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from app.scheduling.solver.greedy import Assignment, Timetable
from app.scheduling.solver.options import Option, Prepared, adult_free, household_free
from app.scheduling.solver.problem import Adult, DayPart, Slot

UNAVAILABLE = "the family is unavailable then"
TOO_EARLY = "too early to get there from school"
NO_ADDRESS = (
    "no home address yet: give it one (the data-quality list of households needing an "
    "address), or ask for a neutral venue at school"
)
ORDINALS = ("1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th")


def slot_label(slot: Slot) -> str:
    return f"{day_label(slot.day)} {clock(slot.start_minute)}"


def day_label(day: date) -> str:
    return f"{day:%a %-d %b}"


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def ordinal(rank: int) -> str:
    return ORDINALS[rank] if rank < len(ORDINALS) else f"{rank + 1}th"


# --- What blocks one option in the schedule -----------------------------------------------------

FULL, BUSY, DRIVE_IN, DRIVE_OUT, OTHER = "full", "busy", "drive in", "drive out", "other"


@dataclass(frozen=True)
class Block:
    """Why `adult_id` cannot take the option: `kind`, with the visit that causes it (`other`),
    the drive it needs and the minutes there are (travel kinds only)."""

    adult_id: str
    kind: str
    slot_id: str
    other: Option | None = None
    drive_tenths: int = 0
    gap_minutes: int = 0


def blocks(prepared: Prepared, table: Timetable, option: Option) -> list[Block]:
    """Every adult of the option who cannot take it as the schedule stands, and why: at another
    visit or the drive, and at the daily maximum that day, each that holds."""
    found = []
    slot = prepared.slots[option.slot_id]
    limit = prepared.instance.max_visits_per_adult_per_day
    for adult_id in option.adult_ids:
        visits = [
            o for o in table.days[(adult_id, slot.day)] if o.household_id != option.household_id
        ]
        block = _block(prepared, adult_id, visits, option)
        if block is not None:
            found.append(block)
        if len(visits) >= limit:
            found.append(Block(adult_id, FULL, option.slot_id))
        elif block is None and not _day_keeps_rules(table, visits, option):
            found.append(Block(adult_id, OTHER, option.slot_id))
    return found


def _block(prepared: Prepared, adult_id: str, visits: list[Option], option: Option) -> Block | None:
    """At another visit then, or the drive from the visit before or to the one after too long
    (the daily maximum is a block of its own, said beside these)."""
    slot, slots = prepared.slots[option.slot_id], prepared.slots
    before: Option | None = None
    for other in visits:
        there = slots[other.slot_id]
        if there.start_minute < slot.end_minute and slot.start_minute < there.end_minute:
            return Block(adult_id, BUSY, option.slot_id, other)
        if there.end_minute <= slot.start_minute:
            before = other
    after = next((o for o in visits if slots[o.slot_id].start_minute >= slot.end_minute), None)
    if before is not None:
        drive = prepared.travel(before.household_id, option.household_id)
        gap = slot.start_minute - slots[before.slot_id].end_minute
        if gap * 10 < drive:
            return Block(adult_id, DRIVE_IN, option.slot_id, before, drive, gap)
    if after is not None:
        drive = prepared.travel(option.household_id, after.household_id)
        gap = slots[after.slot_id].start_minute - slot.end_minute
        if gap * 10 < drive:
            return Block(adult_id, DRIVE_OUT, option.slot_id, after, drive, gap)
    return None


def _day_keeps_rules(table: Timetable, visits: list[Option], option: Option) -> bool:
    """Any rule of the adult's day not named above (the timetable is the one rule check)."""
    order = table.prepared.slot_order
    return table.sequence_feasible(sorted([*visits, option], key=lambda o: order[o.slot_id]))


# --- Unplaced families ----------------------------------------------------------------------------


def explain_unplaced(prepared: Prepared, assignment: Assignment) -> dict[str, str]:
    table = _table(prepared, assignment)
    return {
        h: _unplaced_reason(prepared, table, h)
        for h in sorted(prepared.households)
        if h not in assignment
    }


def _unplaced_reason(prepared: Prepared, table: Timetable, household_id: str) -> str:
    household = prepared.households[household_id]
    if household.locked is None and household.address_needed:
        return NO_ADDRESS
    if household.locked is None and not prepared.slots:
        return "the programme has no slots"
    excluded = prepared.excluded[household_id]
    options = prepared.by_household[household_id]
    if not options and excluded and all(r == UNAVAILABLE for r in excluded.values()):
        return "every slot is outside the family's available times"
    roots = _Roots(prepared, table, household_id)
    parts = [*roots.capacity(), *roots.siblings_apart(), *roots.absences(), *roots.family()]
    parts += _other_exclusions(prepared, household_id)
    parts += _days(prepared, table, household_id, roots.full_teachers)
    return "; ".join(dict.fromkeys(parts)) or "no time keeps every rule"


class _Roots:
    """The causes behind the times, each said once: about the class, the staff, the family."""

    def __init__(self, prepared: Prepared, table: Timetable, household_id: str) -> None:
        self.prepared = prepared
        self.table = table
        self.household = prepared.households[household_id]
        self.teams = prepared.instance.team_map()
        self.limit = prepared.instance.max_visits_per_adult_per_day
        self.full_teachers: set[str] = set()

    def _class_name(self, class_id: str) -> str:
        team = self.teams.get(class_id)
        return team.name if team is not None and team.name else class_id

    def _teachers(self, class_id: str) -> list[Adult]:
        team = self.teams.get(class_id)
        ids = team.teacher_ids if team is not None else ()
        return [self.prepared.adults[t] for t in ids if t in self.prepared.adults]

    def capacity(self) -> list[str]:
        """A class with more families than its teachers can visit in the programme, or whose
        teachers are at the daily maximum on every day they can visit."""
        found = []
        for class_id in dict.fromkeys(self.household.classes):
            teachers = [t for t in self._teachers(class_id) if t.trained]
            if not teachers:
                continue
            families = sum(class_id in h.classes for h in self.prepared.households.values())
            most = self._most_visits(teachers)
            name = self._class_name(class_id)
            # With no usable time at all the times' own reasons say why; "at most 0" says nothing.
            if 0 < most < families:
                found.append(
                    f"{name} has {families} families but its teacher can make at most {most} "
                    f"visits on the programme's days ({self.limit} a day at most)"
                )
            for teacher in teachers:
                days = self._free_days(teacher)
                full = [d for d in days if len(self.table.days[(teacher.id, d)]) >= self.limit]
                if days and full == days:
                    self.full_teachers.add(teacher.id)
                    found.append(
                        f"{teacher.name} already has the daily maximum of {self.limit} visits on "
                        f"every day they can visit ({_join([day_label(d) for d in days])})"
                    )
        return found

    def _free_days(self, adult: Adult) -> list[date]:
        return [
            day
            for day, slots in sorted(self.prepared.day_slots.items())
            if any(adult_free(adult, s) for s in slots)
        ]

    def _most_visits(self, teachers: list[Adult]) -> int:
        """Per day, one visit a slot some family could have with a teacher free then (a slot
        no family can use, such as one too late for the drive back, counts for nothing), at
        most the daily maximum each."""
        ids = {t.id for t in teachers}
        usable = {o.slot_id for o in self.prepared.options if ids.intersection(o.teacher_ids)}
        return sum(
            min(
                sum(s.id in usable and any(adult_free(t, s) for t in teachers) for s in slots),
                self.limit * len(teachers),
            )
            for slots in self.prepared.day_slots.values()
        )

    def siblings_apart(self) -> list[str]:
        """Siblings whose classes' teachers are never all free at a time the family can do."""
        classes = list(dict.fromkeys(self.household.classes))
        if len(classes) < 2:
            return []
        teams = [[t for t in self._teachers(c) if t.trained] for c in classes]
        if not all(teams):
            return []
        slots = [s for s in self.prepared.slots.values() if household_free(self.household, s)]
        each = [any(adult_free(t, s) for t in team for s in slots) for team in teams]
        together = any(all(any(adult_free(t, s) for t in team) for team in teams) for s in slots)
        if together or not all(each):
            return []
        names = _join([t.name for team in teams for t in team])
        return [f"the siblings' teachers ({names}) are never free at the same time"]

    def absences(self) -> list[str]:
        """Each adult of the family's classes away at a time the family could do."""
        found = []
        for adult in self._team_adults():
            away = [
                _period(self.prepared, day, start, end)
                for day, start, end in sorted(adult.unavailable)
                if any(
                    s.day == day and household_free(self.household, s) and not adult_free(adult, s)
                    for s in self.prepared.day_slots.get(day, [])
                )
            ]
            if away:
                found.append(f"{adult.name} is away {_join(away)}")
        return found

    def _team_adults(self) -> list[Adult]:
        ids: list[str] = []
        for class_id in dict.fromkeys(self.household.classes):
            team = self.teams.get(class_id)
            if team is not None:
                ids += team.teacher_ids
                ids += [team.second_adult_id] if team.second_adult_id else []
        return [self.prepared.adults[a] for a in dict.fromkeys(ids) if a in self.prepared.adults]

    def family(self) -> list[str]:
        """The family's own unavailable times, on the programme's days."""
        days = self.prepared.day_slots
        parts = [
            f"{day_label(day)}{'' if part is DayPart.ALL_DAY else ' ' + part.value}"
            for day, part in sorted(self.household.unavailable)
            if day in days
        ]
        return [f"the family is unavailable {_join(parts)}"] if parts else []


def _period(prepared: Prepared, day: date, start: int, end: int) -> str:
    slots = prepared.day_slots.get(day, [])
    if slots and start <= slots[0].start_minute and end >= slots[-1].end_minute:
        return f"{day_label(day)} (all day)"
    return f"{day_label(day)} {clock(max(start, 0))}-{clock(min(end, 24 * 60 - 1))}"


def _other_exclusions(prepared: Prepared, household_id: str) -> list[str]:
    """Times ruled out for a reason the roots do not say: too early to get there from school,
    a teacher without training, no second adult free."""
    early = sorted(
        (prepared.slots[s] for s, r in prepared.excluded[household_id].items() if r == TOO_EARLY),
        key=lambda s: prepared.slot_order[s.id],
    )
    found = [f"{TOO_EARLY} for {_join([slot_label(s) for s in early])}"] if early else []
    others = (
        r
        for r in prepared.excluded[household_id].values()
        if r not in (UNAVAILABLE, TOO_EARLY) and "is unavailable on" not in r
    )
    return found + list(dict.fromkeys(others))


def _days(prepared: Prepared, table: Timetable, household_id: str, said: set[str]) -> list[str]:
    """Day by day, what blocks each time the family had, adult by adult; a time a teacher said
    among the roots (at the daily maximum every day) blocks is not gone into again."""
    by_day: dict[date, list[Block]] = defaultdict(list)
    for option in prepared.by_household[household_id]:
        day = prepared.slots[option.slot_id].day
        option_blocks = blocks(prepared, table, option)
        if not any(b.adult_id in said for b in option_blocks):
            by_day[day] += option_blocks
    found = []
    for day, day_blocks in sorted(by_day.items()):
        clauses = [
            _adult_clause(prepared, adult, [b for b in day_blocks if b.adult_id == adult])
            for adult in dict.fromkeys(b.adult_id for b in day_blocks)
        ]
        if clauses:
            # A comma before the last "and": each clause may end in a list of its own times.
            found.append(
                f"on {day_label(day)} {', '.join(clauses[:-1])}{', and ' if len(clauses) > 1 else ''}{clauses[-1]}"
            )
    return found


def _adult_clause(prepared: Prepared, adult_id: str, adult_blocks: list[Block]) -> str:
    name = _name(prepared, adult_id)
    limit = prepared.instance.max_visits_per_adult_per_day
    if any(b.kind == FULL for b in adult_blocks):
        return f"{name} already has the daily maximum of {limit} visits"
    said = []
    busy = _times(prepared, [b for b in adult_blocks if b.kind == BUSY])
    if busy:
        said.append(f"is at other visits at {busy}")
    for block in adult_blocks:
        if block.kind in (DRIVE_IN, DRIVE_OUT):
            said.append(_drive(prepared, block))
    others = _times(prepared, [b for b in adult_blocks if b.kind == OTHER])
    if others:
        said.append(f"cannot fit a visit at {others} into the day's rules")
    return f"{name} {_join(list(dict.fromkeys(said)))}"


def _drive(prepared: Prepared, block: Block) -> str:
    at = clock(prepared.slots[block.slot_id].start_minute)
    minutes = f"{block.drive_tenths / 10:.0f} min drive, {block.gap_minutes} min between"
    if block.kind == DRIVE_IN:
        return f"cannot get there for {at} from the visit before ({minutes})"
    return f"could not get from there at {at} to the next visit ({minutes})"


def _times(prepared: Prepared, found: list[Block]) -> str:
    slots = sorted({b.slot_id for b in found}, key=lambda s: prepared.slot_order[s])
    return _join([clock(prepared.slots[s].start_minute) for s in slots]) if slots else ""


# --- Families not at their first choice --------------------------------------------------------


def explain_unmet(prepared: Prepared, assignment: Assignment) -> dict[str, str]:
    """For each family not at its first choice: where it went and, for each better choice, what
    took that time (who is visiting whom then)."""
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
    found = [b for o in options for b in blocks(prepared, table, o)]
    if found:
        return f"({label}): {_join(list(dict.fromkeys(_who(prepared, b) for b in found)))}"
    return (
        f"({label}): free, but placing the visit there would cost more travel or class days overall"
    )


def _who(prepared: Prepared, block: Block) -> str:
    """Who holds the time: the adult and the family they are with."""
    name = _name(prepared, block.adult_id)
    if block.kind == FULL:
        limit = prepared.instance.max_visits_per_adult_per_day
        return f"{name} already has the daily maximum of {limit} visits that day"
    if block.kind == OTHER or block.other is None:
        return f"{name} cannot fit it into the day's rules"
    family = _family(prepared, block.other.household_id)
    there = prepared.slots[block.other.slot_id]
    minutes = f"{block.drive_tenths / 10:.0f} min drive, {block.gap_minutes} min between"
    if block.kind == BUSY:
        when = "then" if there.id == block.slot_id else f"at {clock(there.start_minute)}"
        return f"{name} is visiting {family} {when}"
    if block.kind == DRIVE_IN:
        return f"{name} is visiting {family} until {clock(there.end_minute)} ({minutes})"
    return f"{name} is visiting {family} at {clock(there.start_minute)} ({minutes})"


# --- Helpers --------------------------------------------------------------------------------------


def _name(prepared: Prepared, adult_id: str) -> str:
    return prepared.adults[adult_id].name if adult_id in prepared.adults else adult_id


def _family(prepared: Prepared, household_id: str) -> str:
    label = prepared.households[household_id].label
    return label or "another family"


def _table(prepared: Prepared, assignment: Assignment) -> Timetable:
    table = Timetable(prepared)
    for option in assignment.values():
        table.add(option)
    return table


def _join(names: list[str]) -> str:
    if not names:
        return ""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
