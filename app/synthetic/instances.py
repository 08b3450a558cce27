"""Scheduling instances straight from the synthetic roster and answers (in memory, no database),
for the benchmark and the tests.

A school's programme as the demo sets one up, with visits short enough for "about ten visits per
day per pair of adults" (SPEC): 30-minute visits, 15 minutes between, 09:00-17:30 with lunch
12:00-13:00, so ten slots a day. Every class has its teacher and a trained support-staff second
adult; a small pool of spare second adults covers absences. A few staff absences make the pool
matter. Households that declined are out of scope; those who never answered can go anywhere.
"""

import random
import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from app.core.london import local_time
from app.programmes.grid import Break, GridSlot, slot_grid
from app.roster.snapshot import HouseholdRow, RosterSnapshot
from app.scheduling.solver.problem import (
    Adult,
    ClassTeam,
    DayPart,
    Household,
    Instance,
    Location,
    Slot,
)
from app.synthetic.answers import AnswerGenerator
from app.synthetic.roster import RosterGenerator

VISIT_DAYS = (date(2026, 9, 2), date(2026, 9, 3), date(2026, 9, 4), date(2026, 9, 7))
FIVE_VISIT_DAYS = (*VISIT_DAYS, date(2026, 9, 8))
NAMESPACE = uuid.UUID("6b1f2a4e-9c1d-4e0b-8a51-0d7c3b7e9a10")
# Staff absences: a teacher's half-day (a training course), a second adult's whole day.
TEACHER_ABSENCE_RATE = 0.03
SECOND_ADULT_ABSENCE_RATE = 0.05
POOL_SIZE = 3


@dataclass(frozen=True)
class Grid:
    """The programme's slot grid: the default is ten back-to-back slots a day on four days;
    `start_every_minutes=5` gives the fine overlapping grid (a 30-minute visit may start every
    five minutes, about 80 starts a day)."""

    visit_days: tuple[date, ...] = VISIT_DAYS
    start_every_minutes: int | None = None


FINE_GRID = Grid(FIVE_VISIT_DAYS, start_every_minutes=5)


@dataclass(frozen=True)
class _SlotRow:
    """Satisfies the answer generator's SlotLike."""

    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime


def school_instance(
    seed: int = 1,
    *,
    pupils: int = 650,
    key: str = "school",
    time_limit_seconds: float = 10.0,
    grid: Grid = Grid(),
) -> Instance:
    snapshot = RosterGenerator(seed).school_snapshot(key, pupils=pupils)
    return instance_from_snapshot(
        snapshot, key, seed=seed, time_limit_seconds=time_limit_seconds, grid=grid
    )


def trust_instances(
    seed: int = 1, *, schools: int = 20, sizes: tuple[int, ...] = (180, 270, 360, 240, 300)
) -> list[Instance]:
    """A trust's schools in one town (siblings across schools are visited by each school)."""
    keys = [f"school-{i + 1:02d}" for i in range(schools)]
    pupils = [sizes[i % len(sizes)] for i in range(schools)]
    snapshots = RosterGenerator(seed).trust_snapshots(keys, pupils_per_school=pupils)
    return [
        instance_from_snapshot(snapshots[k], k, seed=seed + i, time_limit_seconds=2.0)
        for i, k in enumerate(keys)
    ]


def programme_slots(key: str, grid: Grid = Grid()) -> list[tuple[Slot, GridSlot]]:
    rows = slot_grid(
        list(grid.visit_days),
        day_starts=time(9, 0),
        day_ends=time(17, 30),
        slot_minutes=30,
        travel_buffer_minutes=10,
        breaks=[Break(time(12, 0), time(13, 0))],
        start_every_minutes=grid.start_every_minutes,
    )
    found = []
    for index, row in enumerate(rows):
        starts, ends = local_time(row.starts_at), local_time(row.ends_at)
        slot_id = str(uuid.uuid5(NAMESPACE, f"{key}-slot-{index}"))
        minutes = starts.hour * 60 + starts.minute, ends.hour * 60 + ends.minute
        found.append((Slot(slot_id, starts.date(), *minutes), row))
    return found


def instance_from_snapshot(
    snapshot: RosterSnapshot,
    key: str,
    *,
    seed: int = 1,
    time_limit_seconds: float = 10.0,
    grid: Grid = Grid(),
) -> Instance:
    rng = random.Random(seed)
    slots = programme_slots(key, grid)
    households, school = _households(snapshot, key, seed, slots)
    adults, teams, pool = _staff(snapshot, key, rng, grid.visit_days)
    return Instance(
        slots=tuple(s for s, _ in slots),
        adults=adults,
        households=households,
        teams=teams,
        second_adult_pool=pool,
        max_visits_per_adult_per_day=10,
        school_location=school,
        seed=seed,
        time_limit_seconds=time_limit_seconds,
        name=key,
    )


def _households(
    snapshot: RosterSnapshot, key: str, seed: int, slots: list[tuple[Slot, GridSlot]]
) -> tuple[tuple[Household, ...], Location]:
    classes: dict[str, list[str]] = defaultdict(list)
    for pupil in snapshot.pupils:
        if pupil.household_ref and pupil.class_mis_id:
            classes[pupil.household_ref].append(f"{key}:{pupil.class_mis_id}")
    rows = {h.ref: h for h in snapshot.households if h.ref in classes}
    ids = {ref: uuid.uuid5(NAMESPACE, f"{key}-household-{ref}") for ref in rows}
    slot_rows = [_SlotRow(uuid.UUID(s.id), g.starts_at, g.ends_at) for s, g in slots]
    answers = {
        a.household_id: a
        for a in AnswerGenerator(seed).answers(
            slot_rows, list(ids.values()), closes_at=datetime(2026, 7, 17, tzinfo=UTC)
        )
    }
    found = []
    for ref, row in sorted(rows.items()):
        answer = answers.get(ids[ref])
        if answer is not None and answer.kind.value == "declined":
            continue
        found.append(
            Household(
                id=str(ids[ref]),
                location=Location(row.postcode or "ME2 4AA", row.latitude, row.longitude),
                classes=tuple(dict.fromkeys(classes[ref])),
                preferences=tuple(str(s) for s in answer.preferred_slot_ids) if answer else (),
                unavailable=tuple((d, DayPart(p.value)) for d, p in answer.unavailable)
                if answer
                else (),
                neutral_venue=bool(answer and answer.neutral_venue_requested),
            )
        )
    return tuple(found), _school_location(snapshot, rows)


def _school_location(snapshot: RosterSnapshot, rows: dict[str, HouseholdRow]) -> Location:
    """The synthetic roster places homes around the school; their median stands in for it."""
    coordinates = [
        (h.latitude, h.longitude)
        for h in snapshot.households
        if h.ref in rows and h.latitude is not None and h.longitude is not None
    ]
    postcode = (snapshot.households[0].postcode if snapshot.households else None) or "ME2 4AA"
    if not coordinates:
        return Location(postcode)
    return Location(
        postcode,
        statistics.median(c[0] for c in coordinates),
        statistics.median(c[1] for c in coordinates),
    )


def _staff(
    snapshot: RosterSnapshot, key: str, rng: random.Random, days: tuple[date, ...]
) -> tuple[tuple[Adult, ...], tuple[ClassTeam, ...], tuple[str, ...]]:
    adults: list[Adult] = []
    teams: list[ClassTeam] = []
    for row in snapshot.classes:
        class_id = f"{key}:{row.mis_id}"
        teacher, second = f"{class_id}:teacher", f"{class_id}:ta"
        adults.append(
            _adult(teacher, f"{row.name} class teacher", rng, TEACHER_ABSENCE_RATE, 240, days)
        )
        adults.append(
            _adult(
                second, f"{row.name} support staff", rng, SECOND_ADULT_ABSENCE_RATE, 24 * 60, days
            )
        )
        teams.append(ClassTeam(class_id, (teacher,), second, row.name))
    pool = tuple(f"{key}:pool-{i + 1}" for i in range(POOL_SIZE))
    adults += [Adult(p, f"Spare adult {i + 1}", trained=True) for i, p in enumerate(pool)]
    return tuple(adults), tuple(teams), pool


def _adult(
    adult_id: str, name: str, rng: random.Random, rate: float, minutes: int, days: tuple[date, ...]
) -> Adult:
    if rng.random() >= rate:
        return Adult(adult_id, name, trained=True)
    day = rng.choice(days)
    start = 9 * 60 if minutes < 24 * 60 else 0
    return Adult(adult_id, name, trained=True, unavailable=((day, start, start + minutes),))
