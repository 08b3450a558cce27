"""Seeded, realistic parents' answers to a visit programme, for the demo, the tests and benchmarks.

Of the households in scope most give preferences, some of them late (in the last 48 hours, after
the reminder); about one in ten never answer however often the office chases; a few decline with a
reason. Preferences cluster after school (working parents) and on one or two popular days, and
never fall in a time the same answer marks unavailable. Families whose contacts need an
interpreter are likelier not to answer at all, and most of those who do ask for one.

`AnswerGenerator(seed)` gives the same answers for the same seed, slots and households, whatever
order they come in. `answer_programme` reads a programme's slots and households and loads them.
"""

import math
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.core.bulk import insert_rows
from app.core.london import local_time
from app.core.principal import Principal
from app.core.types import utcnow
from app.parents.answers_models import AnsweredBy, AnswerKind, DayPart, HouseholdAnswer
from app.programmes.models import Slot, VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.roster.models import Contact

_T = TypeVar("_T")

# --- Rates (each with its reason) -------------------------------------------------------------

# The seeds: "some families were hesitant at first"; schools running visits report about one in
# ten households never choosing a slot, and a handful declining outright.
NO_ANSWER_RATE = 0.11
DECLINE_RATE = 0.03
# Families whose contact needs an interpreter find a form in English harder to answer.
NO_ANSWER_WEIGHT_WITH_INTERPRETER = 2.5
# Of answers, those sent after the reminder, in the window's last 48 hours.
LATE_RATE = 0.20
LATE_WINDOW = timedelta(hours=48)
# Most answers come in the first days after the invitation text: mean delay in days.
MEAN_DAYS_TO_ANSWER = 3.0
# Of households giving preferences: interpreter requests, where a contact has another language;
# a flagged need is far likelier to turn into a request than a recorded home language alone.
INTERPRETER_RATE = 0.08
INTERPRETER_WEIGHT_FLAGGED = 12.0
# The seeds: neutral venues "only as a last resort"; a few families still ask.
NEUTRAL_VENUE_RATE = 0.025
ACCESSIBILITY_RATE = 0.03
NOTES_RATE = 0.10
# Shapes of a preferences answer: any time suits, only times they can't, or ranked slots.
ANY_TIME_RATE = 0.05
UNAVAILABLE_ONLY_RATE = 0.12
ALSO_UNAVAILABLE_RATE = 0.30
PREFERENCE_COUNTS: tuple[tuple[int, float], ...] = (
    (1, 0.15),
    (2, 0.15),
    (3, 0.35),
    (4, 0.10),
    (5, 0.25),
)
UNAVAILABLE_PARTS: tuple[tuple[DayPart, float], ...] = (
    (DayPart.ALL_DAY, 0.45),
    (DayPart.MORNING, 0.35),
    (DayPart.AFTERNOON, 0.20),
)
# Working parents want the end of the day; the rest take what suits the household.
AFTER_SCHOOL = time(15, 0)
MIDDAY = time(12, 0)
WORKING_HOUSEHOLD_RATE = 0.65
AFTER_SCHOOL_WEIGHT = {True: 6.0, False: 1.5}
MORNING_WEIGHT = 1.0
EARLY_AFTERNOON_WEIGHT = 1.5
# One or two days draw more (the first day, a day before a weekend, a day off work).
POPULAR_DAY_WEIGHT = 2.5

DECLINE_REASONS = (
    "We met the teacher at the transition morning and don't feel we need a visit.",
    "We are moving out of the area in September.",
    "We would rather meet the teacher at school.",
    "We are not comfortable having visitors at home at the moment.",
    "Both of us work away that week and there is nobody at home.",
    "We had a visit for our older child and would prefer not to this time.",
)
NEUTRAL_VENUE_REASONS = (
    "We are in temporary accommodation (one room) until October.",
    "Building work at home over the summer.",
    "It is a difficult time at home; we would prefer to meet somewhere else.",
    "Our flat is very small and shared with another family.",
)
ACCESSIBILITY_NEEDS = (
    "Third-floor flat and the lift is often out of order.",
    "Mum uses a wheelchair; please come to the side door.",
    "Dad is Deaf: please bring written notes or a BSL interpreter.",
    "Our child is autistic; a quiet start helps, please don't ring the bell.",
)
NOTES_FOR_VISITORS = (
    "We have a dog; it will be shut in the kitchen.",
    "The doorbell doesn't work, please knock or text when you arrive.",
    "Parking is hard on our road; the car park behind the flats is free.",
    "Nan looks after him after school and would like to be there too.",
    "Ring the top bell (flat C).",
    "The baby naps after lunch, please knock softly.",
    "Please text when you are on your way.",
)


class SlotLike(Protocol):
    """What the generator needs of a slot: the programme's `Slot` rows satisfy it."""

    @property
    def id(self) -> UUID: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...


@dataclass(frozen=True)
class HouseholdProfile:
    """A household in scope and what its contacts tell us about language."""

    household_id: UUID
    interpreter_language: str | None = None  # a contact needs an interpreter in this language
    other_language: str | None = None  # a contact's preferred language is not English


@dataclass(frozen=True)
class GeneratedAnswer:
    household_id: UUID
    kind: AnswerKind
    submitted_at: datetime
    preferred_slot_ids: tuple[UUID, ...] = ()
    unavailable: tuple[tuple[date, DayPart], ...] = ()
    interpreter_language: str | None = None
    accessibility: str | None = None
    notes_for_visitors: str | None = None
    neutral_venue_requested: bool = False
    neutral_venue_reason: str | None = None
    decline_reason: str | None = None


@dataclass(frozen=True)
class _GridSlot:
    id: UUID
    day: date  # Europe/London
    starts: time  # Europe/London
    parts: frozenset[DayPart]


class AnswerGenerator:
    """Realistic answers to one programme, seeded."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)

    def answers(
        self,
        slots: Iterable[SlotLike],
        households: Iterable[HouseholdProfile | UUID],
        *,
        closes_at: datetime,
        opens_at: datetime | None = None,
        now: datetime | None = None,
    ) -> list[GeneratedAnswer]:
        """One answer per answering household (none for those who never answer), sorted by
        household. Submission times lie between `opens_at` (default: four weeks before the close)
        and the close, or `now` if that is earlier: answers are never from the future."""
        grid = _grid(slots)
        if not grid:
            raise ValueError("a programme without slots gets no answers")
        profiles = sorted(
            (h if isinstance(h, HouseholdProfile) else HouseholdProfile(h) for h in households),
            key=lambda p: p.household_id,
        )
        clock = _Clock(opens_at or closes_at - timedelta(weeks=4), closes_at, now)
        silent, declining = self._outcomes(profiles)
        answering = [
            p for p in profiles if p.household_id not in silent and p.household_id not in declining
        ]
        interpreters = self._interpreters(answering)
        venues = set(self._sample([p.household_id for p in answering], NEUTRAL_VENUE_RATE))
        late = set(
            self._sample(
                [p.household_id for p in profiles if p.household_id not in silent], LATE_RATE
            )
        )
        popular = self._popular_days(sorted({s.day for s in grid}))
        found: list[GeneratedAnswer] = []
        for profile in profiles:
            hid = profile.household_id
            if hid in silent:
                continue
            submitted = clock.late(self.rng) if hid in late else clock.on_time(self.rng)
            if hid in declining:
                found.append(self._decline(hid, submitted))
            else:
                found.append(
                    self._preferences(
                        hid, submitted, grid, popular, interpreters.get(hid), hid in venues
                    )
                )
        return found

    # --- Who answers, and how -----------------------------------------------------------------

    def _outcomes(self, profiles: list[HouseholdProfile]) -> tuple[set[UUID], set[UUID]]:
        """Exact shares (rounded) so that even one class's programme shows every outcome."""
        weights = [
            NO_ANSWER_WEIGHT_WITH_INTERPRETER if p.interpreter_language else 1.0 for p in profiles
        ]
        silent = set(
            _weighted_sample(
                self.rng,
                [p.household_id for p in profiles],
                weights,
                round(len(profiles) * NO_ANSWER_RATE),
            )
        )
        rest = [p.household_id for p in profiles if p.household_id not in silent]
        declining = set(
            _weighted_sample(self.rng, rest, [1.0] * len(rest), round(len(profiles) * DECLINE_RATE))
        )
        return silent, declining

    def _interpreters(self, answering: list[HouseholdProfile]) -> dict[UUID, str]:
        candidates = [p for p in answering if p.interpreter_language or p.other_language]
        weights = [
            INTERPRETER_WEIGHT_FLAGGED if p.interpreter_language else 1.0 for p in candidates
        ]
        chosen = _weighted_sample(
            self.rng, candidates, weights, round(len(answering) * INTERPRETER_RATE)
        )
        return {p.household_id: p.interpreter_language or p.other_language or "" for p in chosen}

    def _sample(self, items: list[_T], rate: float) -> list[_T]:
        return _weighted_sample(self.rng, items, [1.0] * len(items), round(len(items) * rate))

    def _popular_days(self, days: list[date]) -> set[date]:
        if len(days) < 2:
            return set()
        return set(self.rng.sample(days, self.rng.randint(1, min(2, len(days) - 1))))

    def _decline(self, household_id: UUID, submitted: datetime) -> GeneratedAnswer:
        return GeneratedAnswer(
            household_id,
            AnswerKind.DECLINED,
            submitted,
            decline_reason=self.rng.choice(DECLINE_REASONS),
        )

    def _preferences(
        self,
        household_id: UUID,
        submitted: datetime,
        grid: list[_GridSlot],
        popular: set[date],
        interpreter: str | None,
        neutral_venue: bool,
    ) -> GeneratedAnswer:
        preferred, unavailable = self._times(grid, popular)
        rng = self.rng
        return GeneratedAnswer(
            household_id,
            AnswerKind.PREFERENCES,
            submitted,
            preferred_slot_ids=preferred,
            unavailable=unavailable,
            interpreter_language=interpreter,
            accessibility=(
                rng.choice(ACCESSIBILITY_NEEDS) if rng.random() < ACCESSIBILITY_RATE else None
            ),
            notes_for_visitors=rng.choice(NOTES_FOR_VISITORS)
            if rng.random() < NOTES_RATE
            else None,
            neutral_venue_requested=neutral_venue,
            neutral_venue_reason=rng.choice(NEUTRAL_VENUE_REASONS) if neutral_venue else None,
        )

    # --- When they can and can't --------------------------------------------------------------

    def _times(
        self, grid: list[_GridSlot], popular: set[date]
    ) -> tuple[tuple[UUID, ...], tuple[tuple[date, DayPart], ...]]:
        rng = self.rng
        shape = rng.random()
        if shape < ANY_TIME_RATE:
            return (), ()
        days = sorted({s.day for s in grid})
        if shape < ANY_TIME_RATE + UNAVAILABLE_ONLY_RATE:
            return (), self._unavailable(grid, days, rng.randint(1, 3))
        wanted = rng.random() < ALSO_UNAVAILABLE_RATE
        unavailable = self._unavailable(grid, days, rng.randint(1, 2)) if wanted else ()
        free = [s for s in grid if not _clashes(s, unavailable)]
        working = rng.random() < WORKING_HOUSEHOLD_RATE
        weights = [_slot_weight(s, popular, working) for s in free]
        count = min(_weighted(rng, PREFERENCE_COUNTS), len(free))
        return tuple(s.id for s in _weighted_sample(rng, free, weights, count)), unavailable

    def _unavailable(
        self, grid: list[_GridSlot], days: list[date], count: int
    ) -> tuple[tuple[date, DayPart], ...]:
        """At most one entry a day, and never every slot: a family that can manage no time at
        all would phone the school rather than fill in the form."""
        chosen = sorted(self.rng.sample(days, min(count, len(days))))
        entries = [(day, _weighted(self.rng, UNAVAILABLE_PARTS)) for day in chosen]
        while entries and all(_clashes(s, entries) for s in grid):
            entries.pop()
        return tuple(entries)


# --- Writing them -----------------------------------------------------------------------------


def answer_rows(
    programme: VisitProgramme, answers: Sequence[GeneratedAnswer]
) -> list[dict[str, Any]]:
    """Rows for `insert_rows`, every column set (its paths skip the models' defaults)."""
    now = utcnow()
    return [
        {
            "id": uuid.uuid4(),
            "trust_id": programme.trust_id,
            "school_id": programme.school_id,
            "programme_id": programme.id,
            "household_id": a.household_id,
            "version": 1,
            "created_at": a.submitted_at,
            "updated_at": now,
            "kind": a.kind,
            "preferred_slot_ids": [str(s) for s in a.preferred_slot_ids],
            "unavailable": [{"day": d.isoformat(), "part": p.value} for d, p in a.unavailable],
            "interpreter_language": a.interpreter_language,
            "accessibility": a.accessibility,
            "notes_for_visitors": a.notes_for_visitors,
            "neutral_venue_requested": a.neutral_venue_requested,
            "neutral_venue_reason": a.neutral_venue_reason,
            "decline_reason": a.decline_reason,
            "answered_by": AnsweredBy.PARENT,
            "entered_by_staff_id": None,
            "submitted_at": a.submitted_at,
        }
        for a in answers
    ]


async def load_answers(
    session: AsyncSession, programme: VisitProgramme, answers: Sequence[GeneratedAnswer]
) -> int:
    """Writes the answers in one bulk statement in the caller's transaction; returns how many."""
    table = HouseholdAnswer.__table__  # type: ignore[attr-defined]
    await insert_rows(session, table, answer_rows(programme, answers))
    return len(answers)


async def household_profiles(
    session: AsyncSession, household_ids: Iterable[UUID]
) -> list[HouseholdProfile]:
    """Each household's interpreter need and home language, from its contacts."""
    ids = sorted(set(household_ids))
    needs: dict[UUID, str] = {}
    languages: dict[UUID, str] = {}
    for start in range(0, len(ids), 1000):
        found = await session.execute(
            select(  # tenancy: households the caller has already read through its scope
                Contact.household_id, Contact.preferred_language, Contact.interpreter_needed
            )
            .where(col(Contact.household_id).in_(ids[start : start + 1000]))
            .order_by(col(Contact.household_id), col(Contact.priority))
        )
        for household_id, language, interpreter in found.all():
            if not language or language.lower() == "english":
                continue
            if interpreter:
                needs.setdefault(household_id, language)
            languages.setdefault(household_id, language)
    return [
        HouseholdProfile(h, needs.get(h), None if h in needs else languages.get(h)) for h in ids
    ]


async def answer_programme(
    session: AsyncSession,
    who: Principal,
    programme: VisitProgramme,
    *,
    seed: int = 1,
    now: datetime | None = None,
) -> list[GeneratedAnswer]:
    """Generates and loads answers from every household `programme` reaches, as of `now`."""
    repository = ProgrammeRepository(session, who)
    slots = list(
        await session.scalars(repository.slots(programme.id).order_by(col(Slot.starts_at)))
    )
    households = {h for h, _, _ in await repository.in_scope(programme)}
    assert programme.preferences_close_at is not None, "collecting programmes have a close"
    answers = AnswerGenerator(seed).answers(
        slots,
        await household_profiles(session, households),
        opens_at=programme.preferences_open_at,
        closes_at=programme.preferences_close_at,
        now=now,
    )
    await load_answers(session, programme, answers)
    return answers


# --- Helpers ----------------------------------------------------------------------------------


class _Clock:
    """When answers arrive: most soon after the invitation, some late after the reminder."""

    def __init__(self, opens: datetime, closes: datetime, now: datetime | None) -> None:
        self.opens = opens
        self.ends = min(closes, now) if now is not None else closes
        if self.ends <= opens:
            raise ValueError("the preference window has not opened yet: nobody has answered")
        # As of `now`, before the close, the late answers are the last 48 hours' so far.
        self.late_from = max(opens, self.ends - LATE_WINDOW)

    def on_time(self, rng: random.Random) -> datetime:
        span = (self.late_from - self.opens).total_seconds()
        if span <= 0:
            return self.late(rng)
        delay = rng.expovariate(1 / (MEAN_DAYS_TO_ANSWER * 86_400))
        if delay > span:  # the slow tail spreads over the rest of the window
            delay = rng.uniform(0, span)
        return _whole_second(self.opens + timedelta(seconds=delay))

    def late(self, rng: random.Random) -> datetime:
        span = (self.ends - self.late_from).total_seconds()
        return _whole_second(self.late_from + timedelta(seconds=rng.uniform(0, span)))


def _whole_second(instant: datetime) -> datetime:
    return instant.replace(microsecond=0)


def _grid(slots: Iterable[SlotLike]) -> list[_GridSlot]:
    found = []
    for slot in sorted(slots, key=lambda s: (s.starts_at, s.id)):
        starts, ends = local_time(slot.starts_at), local_time(slot.ends_at)
        parts = {DayPart.ALL_DAY}
        # Day-parts as parents mean them: morning before midday, afternoon from midday.
        if starts.time() < MIDDAY:
            parts.add(DayPart.MORNING)
        if ends.time() > MIDDAY or starts.time() >= MIDDAY:
            parts.add(DayPart.AFTERNOON)
        found.append(_GridSlot(slot.id, starts.date(), starts.time(), frozenset(parts)))
    return found


def _clashes(slot: _GridSlot, unavailable: Iterable[tuple[date, DayPart]]) -> bool:
    return any(day == slot.day and part in slot.parts for day, part in unavailable)


def _slot_weight(slot: _GridSlot, popular: set[date], working: bool) -> float:
    if slot.starts >= AFTER_SCHOOL:
        weight = AFTER_SCHOOL_WEIGHT[working]
    elif slot.starts < MIDDAY:
        weight = MORNING_WEIGHT
    else:
        weight = EARLY_AFTERNOON_WEIGHT
    return weight * (POPULAR_DAY_WEIGHT if slot.day in popular else 1.0)


def _weighted_sample(
    rng: random.Random, items: Sequence[_T], weights: Sequence[float], k: int
) -> list[_T]:
    """k items without replacement, each draw in proportion to weight (Efraimidis-Spirakis),
    in the order drawn."""
    keys = [(math.log(1.0 - rng.random()) / weight, index) for index, weight in enumerate(weights)]
    keys.sort(reverse=True)
    return [items[index] for _, index in keys[: max(0, min(k, len(items)))]]


def _weighted(rng: random.Random, options: Sequence[tuple[_T, float]]) -> _T:
    return rng.choices([v for v, _ in options], [w for _, w in options])[0]
