"""A household's answer to a programme: checked whole, then saved whole in one statement.

Parents answer through the portal while the window is open; the office may enter an answer on a
family's behalf (recorded as such) while the programme is collecting or being scheduled, since
late answers taken on the phone still count.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.london import local_time
from app.core.types import utcnow
from app.parents import answers_repository as repository
from app.parents.answers_models import AnsweredBy, AnswerKind, DayPart
from app.parents.answers_repository import SlotTimes, StoredAnswer
from app.parents.answers_schemas import AnswerRead, AnswerWrite, PreferredSlot, UnavailableTime
from app.parents.exceptions import AnswerRefused, WindowClosed
from app.parents.repository import AnswerTarget
from app.programmes.models import ProgrammeStatus, VisitProgramme

MIDDAY = time(12, 0)
STAFF_MAY_ENTER = frozenset({ProgrammeStatus.COLLECTING, ProgrammeStatus.SCHEDULING})


@dataclass(frozen=True, slots=True)
class ProgrammeWindow:
    """What answering needs of a programme: the one shape every rule below takes, built from
    the programme the caller loaded or from the parent's lean ANSWER_TARGET row."""

    id: UUID
    trust_id: UUID
    school_id: UUID
    status: ProgrammeStatus
    visit_days: list[str]
    preferences_open_at: datetime | None
    preferences_close_at: datetime | None

    @classmethod
    def of(cls, programme: VisitProgramme | AnswerTarget) -> "ProgrammeWindow":
        return cls(
            id=programme.id,
            trust_id=programme.trust_id,
            school_id=programme.school_id,
            status=ProgrammeStatus(programme.status),
            visit_days=list(programme.visit_days),
            preferences_open_at=programme.preferences_open_at,
            preferences_close_at=programme.preferences_close_at,
        )


def ensure_parent_window(programme: ProgrammeWindow, now: datetime) -> None:
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


def ensure_staff_may_enter(programme: ProgrammeWindow) -> None:
    if programme.status not in STAFF_MAY_ENTER:
        raise WindowClosed(
            f"A {programme.status} programme takes no more answers; change the visit instead."
        )


def parts_covering(starts_at: datetime, ends_at: datetime) -> set[DayPart]:
    """The day-parts a slot overlaps, in Europe/London time."""
    starts, ends = local_time(starts_at).time(), local_time(ends_at).time()
    parts = {DayPart.ALL_DAY}
    if starts < MIDDAY:
        parts.add(DayPart.MORNING)
    if ends > MIDDAY or starts >= MIDDAY:
        parts.add(DayPart.AFTERNOON)
    return parts


def check(programme: ProgrammeWindow, slots: Mapping[UUID, SlotTimes], body: AnswerWrite) -> None:
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


def _clash(slot: SlotTimes, unavailable: set[tuple[str, DayPart]]) -> str | None:
    day = local_time(slot.starts_at).date().isoformat()
    for part in parts_covering(slot.starts_at, slot.ends_at):
        if (day, part) in unavailable:
            return f"{day} {part.value.replace('_', ' ')}"
    return None


async def save(
    session: AsyncSession,
    programme: ProgrammeWindow,
    household_id: UUID,
    body: AnswerWrite,
    *,
    entered_by_staff: UUID | None,
) -> AnswerRead:
    # The parent's PUT is a hot path: the slots come on the lean path, only those named kept.
    slots = await _named_slots(session, programme.id, set(body.preferred_slot_ids))
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
    saved = await repository.save_answer(session, values)
    return describe(programme, household_id, saved, slots)


async def _named_slots(
    session: AsyncSession, programme_id: UUID, named: set[UUID]
) -> dict[UUID, SlotTimes]:
    if not named:
        return {}
    return {s.id: s for s in await repository.slot_times(session, programme_id) if s.id in named}


async def read(session: AsyncSession, programme: VisitProgramme, household_id: UUID) -> AnswerRead:
    answer = await repository.answer_of(session, programme.id, household_id)
    named = {UUID(s) for s in answer.preferred_slot_ids} if answer else set()
    slots = await _named_slots(session, programme.id, named)
    return describe(ProgrammeWindow.of(programme), household_id, answer, slots)


def describe(
    programme: ProgrammeWindow,
    household_id: UUID,
    answer: StoredAnswer | None,
    slots: Mapping[UUID, SlotTimes],
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
    "ProgrammeWindow",
    "check",
    "describe",
    "ensure_parent_window",
    "read",
    "save",
]
