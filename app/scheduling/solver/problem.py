"""The scheduling problem as plain data: what the solver, the greedy heuristics and the independent
validator share, and nothing else (no database, no solver types).

Times are Europe/London wall-clock minutes from midnight on a visit day, so a programme on the
day the clocks change still reads as parents and staff see it; the database layer converts its
UTC slots before building an `Instance`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

MIDDAY = 12 * 60  # SPEC: morning is before 12:00 local, afternoon from 12:00


class DayPart(StrEnum):
    ALL_DAY = "all_day"
    MORNING = "morning"
    AFTERNOON = "afternoon"


class LocationKind(StrEnum):
    HOME = "home"
    NEUTRAL_VENUE = "neutral_venue"
    SCHOOL = "school"


def day_part_span(part: DayPart) -> tuple[int, int]:
    """The minutes [start, end) a household's unavailable day-part covers."""
    if part is DayPart.MORNING:
        return 0, MIDDAY
    if part is DayPart.AFTERNOON:
        return MIDDAY, 24 * 60
    return 0, 24 * 60


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


@dataclass(frozen=True)
class Location:
    postcode: str
    latitude: float | None = None
    longitude: float | None = None

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True)
class Slot:
    id: str
    day: date
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class Adult:
    id: str
    name: str
    trained: bool
    # (day, start_minute, end_minute) local: periods the adult cannot visit
    unavailable: tuple[tuple[date, int, int], ...] = ()


@dataclass(frozen=True)
class LockedVisit:
    """A visit already confirmed to the family: it stays exactly as it is."""

    slot_id: str
    adult_ids: tuple[str, ...]


@dataclass(frozen=True)
class Household:
    id: str
    location: Location
    classes: tuple[str, ...]  # the classes its pupils in scope are in; several = siblings
    preferences: tuple[str, ...] = ()  # slot ids, first choice first
    unavailable: tuple[tuple[date, DayPart], ...] = ()
    neutral_venue: bool = False
    locked: LockedVisit | None = None
    # No home address yet (a OneRoster feed carries none): it cannot be visited at home, so it
    # gets no options until the office gives it one; its location is a stand-in.
    address_needed: bool = False
    # How the school knows the family ("Khan family (F-1)"), for messages people read; the id
    # stands in where it is blank.
    label: str = ""


@dataclass(frozen=True)
class ClassTeam:
    class_id: str
    teacher_ids: tuple[str, ...]
    second_adult_id: str | None
    name: str = ""


@dataclass(frozen=True)
class TravelSettings:
    speed_kmh: float = 30.0
    detour_factor: float = 1.3
    # Postcode proximity when either home has no coordinates (minutes).
    same_sector_minutes: int = 5
    same_district_minutes: int = 10
    same_area_minutes: int = 20
    elsewhere_minutes: int = 25


@dataclass(frozen=True)
class ObjectiveWeights:
    """Points of the one stated objective (lower is better). One point is a tenth of a minute
    of a teacher's travel, so every weight reads as "worth this much driving"."""

    unplaced: int = 100_000
    # Cost of the k-th choice (k = 1, 2, ...); a slot the family did not list costs `unlisted`.
    preference_rank: tuple[int, ...] = (0, 60, 120, 180, 240)
    preference_rank_step: int = 60  # beyond the listed ranks
    unlisted: int = 600
    travel_tenth_minute: int = 1
    class_day: int = 300  # each day a class has visits on
    peak_visit: int = 50  # each visit in an adult's busiest day (spreads load)
    moved: int = 400  # re-run: a visit moved from the previous schedule

    def rank_cost(self, rank: int) -> int:
        """Rank 0 is the first choice."""
        if rank < len(self.preference_rank):
            return self.preference_rank[rank]
        last = len(self.preference_rank) - 1
        return self.preference_rank[last] + (rank - last) * self.preference_rank_step


@dataclass(frozen=True)
class PreviousVisit:
    household_id: str
    slot_id: str
    adult_ids: tuple[str, ...]


@dataclass(frozen=True)
class Instance:
    """One school's programme, or several schools' (staff never cross schools)."""

    slots: tuple[Slot, ...]
    adults: tuple[Adult, ...]
    households: tuple[Household, ...]
    teams: tuple[ClassTeam, ...]
    second_adult_pool: tuple[str, ...]
    max_visits_per_adult_per_day: int
    school_location: Location
    # Staff leave school from this local minute; the first visit of a day must allow for travel.
    school_departure_minute: int = 8 * 60 + 30
    # The day's end: every adult is back at school by this local minute, so the last visit must
    # leave time for the drive back, and that drive counts as travel. None: adults finish at
    # their last visit (they go home from there), so a day has no return leg.
    school_return_minute: int | None = 17 * 60 + 30
    travel: TravelSettings = field(default_factory=TravelSettings)
    weights: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    seed: int = 1
    time_limit_seconds: float = 10.0
    previous: tuple[PreviousVisit, ...] = ()
    name: str = ""

    def slot_map(self) -> dict[str, Slot]:
        return {s.id: s for s in self.slots}

    def adult_map(self) -> dict[str, Adult]:
        return {a.id: a for a in self.adults}

    def team_map(self) -> dict[str, ClassTeam]:
        return {t.class_id: t for t in self.teams}


@dataclass(frozen=True)
class Visit:
    household_id: str
    slot_id: str
    adult_ids: tuple[str, ...]
    location_kind: LocationKind = LocationKind.HOME


@dataclass(frozen=True)
class ObjectiveParts:
    """The objective's parts, each in its natural unit, and the weighted total in points."""

    unplaced: int
    preference_points: int
    first_choice: int
    any_preference: int
    with_preferences: int
    travel_tenths: int  # the return legs to school included
    return_tenths: int  # of which the drives back to school at the end of each team-day
    team_days: int
    class_days: int
    peak_visits: int
    moved: int
    total: int


@dataclass
class SolveStats:
    status: str = ""
    objective: int | None = None  # the validator-equal objective of the returned schedule
    model_objective: int | None = None  # CP-SAT's objective (travel underestimated)
    best_bound: int | None = None  # proven lower bound on `objective` over the model's space
    gap: float | None = None  # (objective - bound) / objective
    wall_seconds: float = 0.0
    components: int = 0
    moved: int = 0
    # At least this many families cannot be placed by any valid schedule (an LP's proof); when
    # it equals the number left unplaced, leaving them out was unavoidable.
    unplaced_minimum: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Schedule:
    visits: tuple[Visit, ...]
    unplaced: Mapping[str, str]  # household id -> why, in plain English
    unmet_preferences: Mapping[str, str] = field(default_factory=dict)
    stats: SolveStats = field(default_factory=SolveStats)
