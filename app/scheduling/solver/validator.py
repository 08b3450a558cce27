"""An independent check of any schedule against every hard rule of the SPEC, and the objective's
parts on the same scoring the solver optimises.

Deliberately separate from the solver: it shares only the input/output dataclasses and the
travel function, re-derives every rule from the instance, and trusts nothing in the schedule.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from app.scheduling.solver.problem import (
    MIDDAY,
    DayPart,
    Household,
    Instance,
    Location,
    LocationKind,
    ObjectiveParts,
    Schedule,
    Slot,
    Visit,
)
from app.scheduling.solver.travel import travel_tenths

# Named in every violation of the day's end, so a count of late return legs reads them.
LATE_RETURN = "back at school after the day's end"


@dataclass(frozen=True)
class Validation:
    violations: tuple[str, ...]
    parts: ObjectiveParts

    @property
    def late_returns(self) -> int:
        """Adult-days whose drive back to school ends after the day's end."""
        return sum(LATE_RETURN in v for v in self.violations)

    @property
    def valid(self) -> bool:
        return not self.violations


def validate(instance: Instance, schedule: Schedule) -> Validation:
    checker = _Checker(instance, schedule)
    checker.run()
    return Validation(tuple(checker.violations), objective_parts(instance, schedule))


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _when(slot: Slot) -> str:
    return f"{slot.day.isoformat()} {_clock(slot.start_minute)}"


class _Checker:
    def __init__(self, instance: Instance, schedule: Schedule) -> None:
        self.instance = instance
        self.schedule = schedule
        self.slots = {s.id: s for s in instance.slots}
        self.adults = {a.id: a for a in instance.adults}
        self.households = {h.id: h for h in instance.households}
        self.teams = {t.class_id: t for t in instance.teams}
        self.violations: list[str] = []

    def run(self) -> None:
        seen: set[str] = set()
        for visit in self.schedule.visits:
            if self._known(visit):
                if visit.household_id in seen:
                    self.violations.append(f"{self._family(visit.household_id)} is visited twice")
                seen.add(visit.household_id)
                self._visit_rules(visit)
        self._completeness(seen)
        self._adult_days()

    def _known(self, visit: Visit) -> bool:
        if visit.household_id not in self.households:
            self.violations.append(f"visit to unknown household {visit.household_id}")
            return False
        if visit.slot_id not in self.slots:
            self.violations.append(
                f"{self._family(visit.household_id)} at unknown slot {visit.slot_id}"
            )
            return False
        return True

    def _visit_rules(self, visit: Visit) -> None:
        household, slot = self.households[visit.household_id], self.slots[visit.slot_id]
        where = f"{self._family(household.id)} at {_when(slot)}"
        if len(set(visit.adult_ids)) < 2:
            self.violations.append(f"{where} has fewer than two adults")
        for adult_id in visit.adult_ids:
            self._adult_rules(adult_id, slot, where)
        for class_id in sorted(set(household.classes)):
            team = self.teams.get(class_id)
            if team is None or not set(team.teacher_ids) & set(visit.adult_ids):
                named = team.name if team is not None and team.name else class_id
                self.violations.append(f"{where} is not attended by a teacher of class {named}")
        for day, part in household.unavailable:
            if day == slot.day and _part_overlaps(part, slot):
                self.violations.append(f"{where} falls in the family's unavailable {part.value}")
        self._venue_and_lock(visit, household, slot, where)

    def _adult_rules(self, adult_id: str, slot: Slot, where: str) -> None:
        adult = self.adults.get(adult_id)
        if adult is None:
            self.violations.append(f"{where}: unknown adult {adult_id}")
            return
        if not adult.trained:
            self.violations.append(f"{where}: adult {adult.name} has no visit training")
        for day, start, end in adult.unavailable:
            if day == slot.day and start < slot.end_minute and slot.start_minute < end:
                self.violations.append(f"{where}: adult {adult.name} is unavailable then")

    def _venue_and_lock(self, visit: Visit, household: Household, slot: Slot, where: str) -> None:
        expected = LocationKind.NEUTRAL_VENUE if household.neutral_venue else LocationKind.HOME
        if visit.location_kind is not expected:
            self.violations.append(
                f"{where} is at {visit.location_kind.value}, not {expected.value}"
            )
        locked = household.locked
        if locked is not None and (
            locked.slot_id != visit.slot_id or set(locked.adult_ids) != set(visit.adult_ids)
        ):
            self.violations.append(f"{where}: the locked visit was moved or restaffed")

    def _completeness(self, seen: set[str]) -> None:
        for household_id, household in sorted(self.households.items()):
            if household_id in seen:
                if household_id in self.schedule.unplaced:
                    self.violations.append(
                        f"{self._family(household_id)} is both visited and unplaced"
                    )
                continue
            if household.locked is not None:
                self.violations.append(
                    f"the locked visit of {self._family(household_id)} was dropped"
                )
            elif not self.schedule.unplaced.get(household_id, "").strip():
                self.violations.append(
                    f"{self._family(household_id)} is neither visited nor explained"
                )

    def _adult_days(self) -> None:
        days: dict[tuple[str, date], list[Visit]] = defaultdict(list)
        for visit in self.schedule.visits:
            if visit.slot_id in self.slots and visit.household_id in self.households:
                for adult_id in set(visit.adult_ids):
                    days[(adult_id, self.slots[visit.slot_id].day)].append(visit)
        limit = self.instance.max_visits_per_adult_per_day
        for (adult_id, day), visits in sorted(days.items()):
            name = self.adults[adult_id].name if adult_id in self.adults else adult_id
            if len(visits) > limit:
                self.violations.append(
                    f"adult {name} has {len(visits)} visits on {day} (max {limit})"
                )
            self._sequence(name, sorted(visits, key=lambda v: self.slots[v.slot_id].start_minute))

    def _sequence(self, name: str, visits: list[Visit]) -> None:
        clock, here, here_name = self.instance.school_departure_minute, None, "school"
        for visit in visits:
            slot = self.slots[visit.slot_id]
            if slot.start_minute < clock and here is not None:
                self.violations.append(f"adult {name} double-booked at {_when(slot)}")
            else:
                needed = travel_tenths(
                    here or self.instance.school_location, self._place(visit), self.instance.travel
                )
                if (slot.start_minute - clock) * 10 < needed:
                    self.violations.append(
                        f"adult {name}: travel from {here_name} to {self._family(visit.household_id)} "
                        f"takes {needed / 10:.1f} min but only {slot.start_minute - clock} min "
                        f"before {_when(slot)}"
                    )
            clock, here, here_name = (
                slot.end_minute,
                self._place(visit),
                self._family(visit.household_id),
            )
        if here is not None:
            self._return_leg(name, visits[-1], clock, here, here_name)

    def _return_leg(
        self, name: str, last: Visit, clock: int, here: Location, here_name: str
    ) -> None:
        """The day's end holds the drive back to school, unless adults finish at their last
        visit."""
        back_by = self.instance.school_return_minute
        if back_by is None:
            return
        needed = travel_tenths(here, self.instance.school_location, self.instance.travel)
        if (back_by - clock) * 10 < needed:
            day = self.slots[last.slot_id].day
            self.violations.append(
                f"adult {name} is {LATE_RETURN} on {day}: the drive back from {here_name} "
                f"takes {needed / 10:.1f} min but only {back_by - clock} min are left after "
                f"{_clock(clock)} before {_clock(back_by)}"
            )

    def _family(self, household_id: str) -> str:
        """A household as a message names it: the family's name and reference, not its id."""
        household = self.households.get(household_id)
        return household.label if household and household.label else f"household {household_id}"

    def _place(self, visit: Visit) -> Location:
        household = self.households[visit.household_id]
        return self.instance.school_location if household.neutral_venue else household.location


def _part_overlaps(part: DayPart, slot: Slot) -> bool:
    if part is DayPart.MORNING:
        return slot.start_minute < MIDDAY
    if part is DayPart.AFTERNOON:
        return slot.end_minute > MIDDAY
    return True


# --- The objective's parts ------------------------------------------------------------------------


def objective_parts(instance: Instance, schedule: Schedule) -> ObjectiveParts:
    slots = {s.id: s for s in instance.slots}
    households = {h.id: h for h in instance.households}
    weights = instance.weights
    visits = [v for v in schedule.visits if v.slot_id in slots and v.household_id in households]
    placed = {v.household_id for v in visits}
    preference, first, any_stated, stated = 0, 0, 0, 0
    for visit in visits:
        wanted = households[visit.household_id].preferences
        if not wanted:
            continue
        stated += 1
        if visit.slot_id in wanted:
            rank = wanted.index(visit.slot_id)
            preference += weights.rank_cost(rank)
            first += rank == 0
            any_stated += 1
        else:
            preference += weights.unlisted
    travel, back, team_days = _travel(instance, visits, slots, households)
    class_days = {
        (c, slots[v.slot_id].day) for v in visits for c in households[v.household_id].classes
    }
    peaks = _peaks(visits, slots)
    moved = sum(
        1
        for p in instance.previous
        if p.household_id in households
        and not any(v.household_id == p.household_id and v.slot_id == p.slot_id for v in visits)
    )
    unplaced = len(households) - len(placed)
    total = (
        unplaced * weights.unplaced
        + preference
        + travel * weights.travel_tenth_minute
        + len(class_days) * weights.class_day
        + peaks * weights.peak_visit
        + moved * weights.moved
    )
    return ObjectiveParts(
        unplaced=unplaced,
        preference_points=preference,
        first_choice=first,
        any_preference=any_stated,
        with_preferences=stated,
        travel_tenths=travel,
        return_tenths=back,
        team_days=team_days,
        class_days=len(class_days),
        peak_visits=peaks,
        moved=moved,
        total=total,
    )


def _travel(
    instance: Instance,
    visits: list[Visit],
    slots: dict[str, Slot],
    households: dict[str, Household],
) -> tuple[int, int, int]:
    """Teachers' routes (second adults travel with the teacher they accompany): from school
    through each day's homes in time order, and back to school from the last unless adults
    finish there. The total, the return legs' part of it, and the number of team-days."""
    teachers = {t for team in instance.teams for t in team.teacher_ids}
    days: dict[tuple[str, date], list[Visit]] = defaultdict(list)
    for visit in visits:
        for adult_id in set(visit.adult_ids) & teachers:
            days[(adult_id, slots[visit.slot_id].day)].append(visit)
    total = back = 0
    for day_visits in days.values():
        here = instance.school_location
        for visit in sorted(day_visits, key=lambda v: slots[v.slot_id].start_minute):
            household = households[visit.household_id]
            there = instance.school_location if household.neutral_venue else household.location
            total += travel_tenths(here, there, instance.travel)
            here = there
        if instance.school_return_minute is not None:
            back += travel_tenths(here, instance.school_location, instance.travel)
    return total + back, back, len(days)


def _peaks(visits: list[Visit], slots: dict[str, Slot]) -> int:
    loads: dict[tuple[str, date], int] = defaultdict(int)
    for visit in visits:
        for adult_id in set(visit.adult_ids):
            loads[(adult_id, slots[visit.slot_id].day)] += 1
    peak: dict[str, int] = defaultdict(int)
    for (adult_id, _), count in loads.items():
        peak[adult_id] = max(peak[adult_id], count)
    return sum(peak.values())
