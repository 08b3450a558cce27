"""Which (slot, adults) each household could be visited with, and why the others are ruled out.

The solver and the greedy heuristics choose among these options; the validator does not use this
module (it re-checks every rule itself). The team rule: a visit is attended by one teacher of each
of the household's classes (the first of a job-share who is free then); two different teachers
already make two adults, otherwise the class's second adult comes too, or, when they are not free
or also serve elsewhere, a trained adult from the pool.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from app.scheduling.solver.problem import (
    Adult,
    ClassTeam,
    Household,
    Instance,
    Location,
    Slot,
    day_part_span,
    overlaps,
)
from app.scheduling.solver.travel import travel_tenths


@dataclass(frozen=True)
class Option:
    index: int
    household_id: str
    slot_id: str
    adult_ids: tuple[str, ...]
    teacher_ids: tuple[str, ...]


@dataclass
class Prepared:
    """An instance with its lookups, travel cache, options and the reasons slots were ruled out."""

    instance: Instance
    slots: dict[str, Slot]
    adults: dict[str, Adult]
    households: dict[str, Household]
    slot_order: dict[str, int]  # chronological position
    day_slots: dict[date, list[Slot]]
    previous_slot: dict[str, str | None]
    lead_ids: frozenset[str]  # teachers: their routes are the travel the objective counts
    options: list[Option] = field(default_factory=list)
    by_household: dict[str, list[Option]] = field(default_factory=dict)
    # household -> slot -> why that slot cannot be used (plain English)
    excluded: dict[str, dict[str, str]] = field(default_factory=dict)
    travel_cache: dict[tuple[str | None, str | None], int] = field(default_factory=dict)
    # (classes, slot) -> the team's choices then: the same for every family of those classes,
    # so a fine grid's 80 starts a day are worked out once per class, not once per family.
    team_cache: dict[tuple[tuple[str, ...], str], "_Choices"] = field(default_factory=dict)

    @cached_property
    def teams(self) -> dict[str, ClassTeam]:
        """The instance's teams by class, built once (options ask for them per slot)."""
        return self.instance.team_map()

    def location(self, household_id: str) -> Location:
        household = self.households[household_id]
        return self.instance.school_location if household.neutral_venue else household.location

    def travel(self, a: str | None, b: str | None) -> int:
        """Tenths of a minute between two households' visit places (None is the school)."""
        # The hottest call in the search: both directions are cached, so no key is normalised.
        cached = self.travel_cache.get((a, b))
        if cached is None:
            cached = travel_tenths(self._place(a), self._place(b), self.instance.travel)
            self.travel_cache[(a, b)] = self.travel_cache[(b, a)] = cached
        return cached

    def returns_late(self, household_id: str, slot: Slot) -> bool:
        """Whether the drive back to school after a visit here at this slot ends after the
        day's end (never, when adults finish at their last visit)."""
        back_by = self.instance.school_return_minute
        if back_by is None:
            return False
        return (back_by - slot.end_minute) * 10 < self.travel(household_id, None)

    def return_leg(self, household_id: str) -> int:
        """Tenths of a minute back to school from a day's last visit (none when adults finish
        at their last visit)."""
        if self.instance.school_return_minute is None:
            return 0
        return self.travel(household_id, None)

    def _place(self, household_id: str | None) -> Location:
        return self.location(household_id) if household_id else self.instance.school_location

    def rank(self, household_id: str, slot_id: str) -> int | None:
        preferences = self.households[household_id].preferences
        return preferences.index(slot_id) if slot_id in preferences else None

    def preference_cost(self, household_id: str, slot_id: str) -> int:
        if not self.households[household_id].preferences:
            return 0  # no stated preference: happy at any time it is available
        rank = self.rank(household_id, slot_id)
        weights = self.instance.weights
        return weights.unlisted if rank is None else weights.rank_cost(rank)


def prepare(instance: Instance) -> Prepared:
    slots = sorted(instance.slots, key=lambda s: (s.day, s.start_minute, s.id))
    day_slots: dict[date, list[Slot]] = defaultdict(list)
    previous: dict[str, str | None] = {}
    for slot in slots:
        same_day = day_slots[slot.day]
        previous[slot.id] = same_day[-1].id if same_day else None
        same_day.append(slot)
    prepared = Prepared(
        instance=instance,
        slots={s.id: s for s in slots},
        adults=instance.adult_map(),
        households={h.id: h for h in instance.households},
        slot_order={s.id: i for i, s in enumerate(slots)},
        day_slots=dict(day_slots),
        previous_slot=previous,
        lead_ids=frozenset(t for team in instance.teams for t in team.teacher_ids),
    )
    _build_options(prepared)
    return prepared


def adult_free(adult: Adult, slot: Slot) -> bool:
    return not any(
        day == slot.day and overlaps(start, end, slot.start_minute, slot.end_minute)
        for day, start, end in adult.unavailable
    )


def household_free(household: Household, slot: Slot) -> bool:
    return not any(
        day == slot.day and overlaps(*day_part_span(part), slot.start_minute, slot.end_minute)
        for day, part in household.unavailable
    )


def _build_options(prepared: Prepared) -> None:
    shared = _shared_second_adults(prepared.instance)
    for household in prepared.instance.households:
        options: list[Option] = []
        excluded: dict[str, str] = {}
        if household.locked is not None:
            options.append(_locked_option(prepared, household, len(prepared.options)))
        elif household.address_needed:
            pass  # nowhere to go: explain.NO_ADDRESS says why
        else:
            for slot in prepared.slots.values():
                found = _slot_options(prepared, household, slot, shared)
                if isinstance(found, str):
                    excluded[slot.id] = found
                    continue
                for teachers, adults in found:
                    index = len(prepared.options) + len(options)
                    options.append(Option(index, household.id, slot.id, adults, teachers))
        prepared.options.extend(options)
        prepared.by_household[household.id] = options
        prepared.excluded[household.id] = excluded


def _locked_option(prepared: Prepared, household: Household, index: int) -> Option:
    assert household.locked is not None
    teams = prepared.instance.team_map()
    teachers = tuple(
        a
        for a in household.locked.adult_ids
        if any(a in teams[c].teacher_ids for c in household.classes if c in teams)
    )
    return Option(
        index, household.id, household.locked.slot_id, household.locked.adult_ids, teachers
    )


def _shared_second_adults(instance: Instance) -> frozenset[str]:
    """Second adults who may be wanted elsewhere at the same time: their class's teacher's free
    time is then no guarantee that they are free."""
    count: dict[str, int] = defaultdict(int)
    for team in instance.teams:
        if team.second_adult_id is not None:
            count[team.second_adult_id] += 1
    teachers = {t for team in instance.teams for t in team.teacher_ids}
    pool = set(instance.second_adult_pool)
    return frozenset(a for a, n in count.items() if n > 1 or a in teachers or a in pool)


def _slot_options(
    prepared: Prepared, household: Household, slot: Slot, shared: frozenset[str]
) -> str | list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The (teachers, adults) choices at this slot, or why there are none."""
    if not household_free(household, slot):
        return "the family is unavailable then"
    instance = prepared.instance
    reach = prepared.travel(None, household.id)
    if (slot.start_minute - instance.school_departure_minute) * 10 < reach:
        return "too early to get there from school"
    if prepared.returns_late(household.id, slot):
        back_by = instance.school_return_minute or 0
        return f"too late to drive back to school by {back_by // 60:02d}:{back_by % 60:02d}"
    key = (household.classes, slot.id)
    found = prepared.team_cache.get(key)
    if found is None:
        found = prepared.team_cache[key] = _team_choices(prepared, household, slot, shared)
    return found


_Choices = str | list[tuple[tuple[str, ...], tuple[str, ...]]]


def _team_choices(
    prepared: Prepared, household: Household, slot: Slot, shared: frozenset[str]
) -> _Choices:
    """What `_slot_options` offers once the family itself is free: depends on its classes only."""
    teachers = _teachers(prepared, household, slot)
    if isinstance(teachers, str):
        return teachers
    if len(teachers) >= 2:
        return [(teachers, teachers)]
    seconds = _second_adults(prepared, household, slot, teachers[0], shared)
    if not seconds:
        return f"no trained second adult is free on {slot.day:%a %-d %b} at that time"
    return [(teachers, (teachers[0], second)) for second in seconds]


def _teachers(prepared: Prepared, household: Household, slot: Slot) -> str | tuple[str, ...]:
    teams = prepared.teams
    chosen: list[str] = []
    for class_id in household.classes:
        team = teams.get(class_id)
        if team is None or not team.teacher_ids:
            return f"class {team.name if team and team.name else class_id} has no team"
        free = [
            t
            for t in team.teacher_ids
            if t in prepared.adults
            and prepared.adults[t].trained
            and adult_free(prepared.adults[t], slot)
        ]
        if not free:
            return _teacher_reason(prepared, team.teacher_ids, team.name or class_id, slot)
        if free[0] not in chosen:
            chosen.append(free[0])
    return tuple(chosen)


def _teacher_reason(
    prepared: Prepared, teacher_ids: tuple[str, ...], class_name: str, slot: Slot
) -> str:
    people = [prepared.adults.get(t) for t in teacher_ids]
    names = ", ".join(p.name if p else t for p, t in zip(people, teacher_ids, strict=True))
    if all(p is not None and not p.trained for p in people):
        return f"{class_name}'s teacher ({names}) has no visit training"
    return f"{class_name}'s teacher ({names}) is unavailable on {slot.day:%a %-d %b} at that time"


def _second_adults(
    prepared: Prepared, household: Household, slot: Slot, teacher: str, shared: frozenset[str]
) -> list[str]:
    teams = prepared.teams
    team = teams.get(household.classes[0])
    default = team.second_adult_id if team else None
    co_teachers = [t for t in (team.teacher_ids if team else ()) if t != teacher]

    def usable(adult_id: str) -> bool:
        adult = prepared.adults.get(adult_id)
        return (
            adult is not None and adult.trained and adult_id != teacher and adult_free(adult, slot)
        )

    if default is not None and default not in shared and usable(default):
        # Their only visits are with this teacher, so they are free whenever the teacher is.
        return [default]
    candidates = [default] if default is not None else []
    candidates += co_teachers + list(prepared.instance.second_adult_pool)
    return list(dict.fromkeys(a for a in candidates if a is not None and usable(a)))
