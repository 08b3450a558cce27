"""A household's answer to a programme: checked whole, then saved whole in one statement.

Parents answer through the portal while the window is open; the office may enter an answer on a
family's behalf (recorded as such) while the programme is collecting or being scheduled, since
late answers taken on the phone still count.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.availability import repository
from app.availability.exceptions import AnswerRefused, WindowClosed
from app.availability.models import AnsweredBy, AnswerKind, DayPart, HouseholdAnswer
from app.availability.schemas import AnswerRead, AnswerWrite, PreferredSlot, UnavailableTime
from app.core.bulk import upsert_row
from app.core.types import utcnow
from app.programmes.grid import local_time
from app.programmes.models import ProgrammeStatus, VisitProgramme
from app.roster.households import move_programme_rows

MIDDAY = time(12, 0)
STAFF_MAY_ENTER = frozenset({ProgrammeStatus.COLLECTING, ProgrammeStatus.SCHEDULING})


class AnswerProgramme(Protocol):
    """What answering needs of a programme: a VisitProgramme, or the lean ProgrammeWindow."""

    @property
    def id(self) -> UUID: ...
    @property
    def trust_id(self) -> UUID: ...
    @property
    def school_id(self) -> UUID: ...
    @property
    def status(self) -> ProgrammeStatus: ...
    @property
    def visit_days(self) -> list[str]: ...
    @property
    def preferences_open_at(self) -> datetime | None: ...
    @property
    def preferences_close_at(self) -> datetime | None: ...


class AnswerSlot(Protocol):
    """A slot as answers use it: a Slot, or the lean SlotTimes."""

    @property
    def id(self) -> UUID: ...
    @property
    def day(self) -> date: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class ProgrammeWindow:
    id: UUID
    trust_id: UUID
    school_id: UUID
    status: ProgrammeStatus
    visit_days: list[str]
    preferences_open_at: datetime | None
    preferences_close_at: datetime | None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> "ProgrammeWindow":
        return cls(
            id=row["id"],
            trust_id=row["trust_id"],
            school_id=row["school_id"],
            status=ProgrammeStatus(row["status"]),
            visit_days=list(row["visit_days"]),
            preferences_open_at=row["preferences_open_at"],
            preferences_close_at=row["preferences_close_at"],
        )


@dataclass(frozen=True, slots=True)
class SlotTimes:
    id: UUID
    day: date
    starts_at: datetime
    ends_at: datetime


async def follow_household_merge(session: AsyncSession, from_id: UUID, to_id: UUID) -> None:
    await move_programme_rows(session, HouseholdAnswer, from_id, to_id)


def ensure_parent_window(programme: AnswerProgramme, now: datetime) -> None:
    closes = programme.preferences_close_at
    opens = programme.preferences_open_at
    if programme.status is not ProgrammeStatus.COLLECTING or closes is None or now >= closes:
        raise WindowClosed(
            "The school is no longer taking answers online; please contact the school office "
            "to change your answer."
        )
    if opens is not None and now < opens:
        raise WindowClosed(
            f"Answers open on {local_time(opens):%d %B at %H:%M}; please come back then."
        )


def ensure_staff_may_enter(programme: AnswerProgramme) -> None:
    if programme.status not in STAFF_MAY_ENTER:
        raise WindowClosed(
            f"A {programme.status} programme takes no more answers; change the visit instead."
        )


def parts_covering(slot: AnswerSlot) -> set[DayPart]:
    """The day-parts a slot overlaps, in Europe/London time."""
    starts, ends = local_time(slot.starts_at).time(), local_time(slot.ends_at).time()
    parts = {DayPart.ALL_DAY}
    if starts < MIDDAY:
        parts.add(DayPart.MORNING)
    if ends > MIDDAY or starts >= MIDDAY:
        parts.add(DayPart.AFTERNOON)
    return parts


def check(programme: AnswerProgramme, slots: Mapping[UUID, AnswerSlot], body: AnswerWrite) -> None:
    """Every problem at once, each with a JSON pointer; nothing is saved unless there are none."""
    problems: list[tuple[str, str]] = []
    days = set(programme.visit_days)
    seen_days: set[tuple[str, DayPart]] = set()
    for i, period in enumerate(body.unavailable):
        key = (period.day.isoformat(), period.part)
        if key[0] not in days:
            problems.append((f"/unavailable/{i}/day", f"{period.day} is not a visit day."))
        elif key in seen_days:
            problems.append((f"/unavailable/{i}", "This time is listed twice."))
        seen_days.add(key)
    seen: set[UUID] = set()
    for rank, slot_id in enumerate(body.preferred_slot_ids):
        pointer = f"/preferred_slot_ids/{rank}"
        slot = slots.get(slot_id)
        if slot_id in seen:
            problems.append((pointer, "This slot is already one of your preferences."))
        elif slot is None:
            problems.append((pointer, f"There is no slot {slot_id} in this programme."))
        elif clash := _clash(slot, seen_days):
            problems.append(
                (pointer, f"This slot falls in a time you marked unavailable: {clash}.")
            )
        seen.add(slot_id)
    if problems:
        summary = "; ".join(f"{p}: {d}" for p, d in problems[:3])
        raise AnswerRefused(
            f"The answer was not saved. {summary}",
            extra={"errors": [{"pointer": p, "detail": d} for p, d in problems]},
        )


def _clash(slot: AnswerSlot, unavailable: set[tuple[str, DayPart]]) -> str | None:
    day = local_time(slot.starts_at).date().isoformat()
    for part in parts_covering(slot):
        if (day, part) in unavailable:
            return f"{day} {part.value.replace('_', ' ')}"
    return None


async def save(
    session: AsyncSession,
    programme: AnswerProgramme,
    household_id: UUID,
    body: AnswerWrite,
    *,
    entered_by_staff: UUID | None,
) -> AnswerRead:
    # The parent's PUT is a hot path: the slots come on the lean path, only those named kept.
    named = set(body.preferred_slot_ids)
    slots: dict[UUID, AnswerSlot] = {}
    if named:
        for row in await repository.slot_times(session, programme.id):
            if row["id"] in named:
                slots[row["id"]] = SlotTimes(
                    row["id"], row["day"], row["starts_at"], row["ends_at"]
                )
    check(programme, slots, body)
    now = utcnow()
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "trust_id": programme.trust_id,
        "school_id": programme.school_id,
        "programme_id": programme.id,
        "household_id": household_id,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "kind": body.kind,
        "preferred_slot_ids": [str(s) for s in body.preferred_slot_ids],
        "unavailable": [{"day": u.day.isoformat(), "part": u.part.value} for u in body.unavailable],
        "interpreter_language": body.interpreter_language,
        "accessibility": body.accessibility,
        "notes_for_visitors": body.notes_for_visitors,
        "neutral_venue_requested": body.neutral_venue_requested,
        "neutral_venue_reason": body.neutral_venue_reason,
        "decline_reason": body.decline_reason,
        "answered_by": AnsweredBy.STAFF if entered_by_staff else AnsweredBy.PARENT,
        "entered_by_staff_id": entered_by_staff,
        "submitted_at": now,
    }
    row = await upsert_row(
        session,
        HouseholdAnswer.__table__,  # type: ignore[attr-defined]
        values,
        conflict=["programme_id", "household_id"],
        keep=frozenset({"id", "created_at"}),
    )
    return describe(programme, household_id, _Saved.of(row), slots)


class AnswerFields(Protocol):
    """An answer as described: a HouseholdAnswer, or the row the upsert returned."""

    @property
    def kind(self) -> AnswerKind: ...
    @property
    def preferred_slot_ids(self) -> list[str]: ...
    @property
    def unavailable(self) -> list[dict[str, Any]]: ...
    @property
    def interpreter_language(self) -> str | None: ...
    @property
    def accessibility(self) -> str | None: ...
    @property
    def notes_for_visitors(self) -> str | None: ...
    @property
    def neutral_venue_requested(self) -> bool: ...
    @property
    def neutral_venue_reason(self) -> str | None: ...
    @property
    def decline_reason(self) -> str | None: ...
    @property
    def answered_by(self) -> AnsweredBy: ...
    @property
    def submitted_at(self) -> datetime: ...
    @property
    def version(self) -> int: ...


@dataclass(frozen=True, slots=True)
class _Saved:
    """The row the upsert wrote, as the database returned it (its own types: no re-validation)."""

    kind: AnswerKind
    preferred_slot_ids: list[str]
    unavailable: list[dict[str, Any]]
    interpreter_language: str | None
    accessibility: str | None
    notes_for_visitors: str | None
    neutral_venue_requested: bool
    neutral_venue_reason: str | None
    decline_reason: str | None
    answered_by: AnsweredBy
    submitted_at: datetime
    version: int

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> "_Saved":
        return cls(**{name: row[name] for name in cls.__slots__})


async def read(session: AsyncSession, programme: VisitProgramme, household_id: UUID) -> AnswerRead:
    answer = await repository.answer_of(session, programme.id, household_id)
    named = [UUID(s) for s in answer.preferred_slot_ids] if answer else []
    slots = {s.id: s for s in await repository.slots_of(session, programme.id, named)}
    return describe(programme, household_id, answer, slots)


def describe(
    programme: AnswerProgramme,
    household_id: UUID,
    answer: AnswerFields | None,
    slots: Mapping[UUID, AnswerSlot],
) -> AnswerRead:
    """The answer as the API shows it. Built from what the database holds and the checks have
    passed, so constructed rather than validated again (the parent's PUT is a hot path)."""
    if answer is None:
        return AnswerRead.model_construct(
            programme_id=programme.id,
            household_id=household_id,
            status="not_answered",
            can_change_until=programme.preferences_close_at,
        )
    preferred = [
        PreferredSlot.model_construct(
            rank=rank,
            slot_id=slot.id,
            day=slot.day,
            starts_at=slot.starts_at,
            local_start=local_time(slot.starts_at).strftime("%H:%M"),
        )
        for rank, slot_id in enumerate(answer.preferred_slot_ids, start=1)
        if (slot := slots.get(UUID(slot_id))) is not None
    ]
    return AnswerRead.model_construct(
        programme_id=programme.id,
        household_id=household_id,
        status=AnswerKind(answer.kind).value,
        preferred=preferred,
        unavailable=[
            UnavailableTime.model_construct(
                day=date.fromisoformat(u["day"]), part=DayPart(u["part"])
            )
            for u in answer.unavailable
        ],
        interpreter_language=answer.interpreter_language,
        accessibility=answer.accessibility,
        notes_for_visitors=answer.notes_for_visitors,
        neutral_venue_requested=answer.neutral_venue_requested,
        neutral_venue_reason=answer.neutral_venue_reason,
        decline_reason=answer.decline_reason,
        answered_by=AnsweredBy(answer.answered_by),
        submitted_at=answer.submitted_at,
        version=answer.version,
        can_change_until=programme.preferences_close_at,
    )


__all__ = [
    "AnswerKind",
    "AnswerProgramme",
    "ProgrammeWindow",
    "check",
    "describe",
    "ensure_parent_window",
    "read",
    "save",
]
