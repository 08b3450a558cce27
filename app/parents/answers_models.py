"""When a household can be visited: its answer to a programme (preferred slots, unavailable
times, access needs, a neutral venue or a decline)."""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped, Timestamped, Versioned
from app.core.types import UTCDateTime, enum_type, utcnow


class AnswerKind(StrEnum):
    PREFERENCES = "preferences"
    DECLINED = "declined"


class DayPart(StrEnum):
    ALL_DAY = "all_day"
    MORNING = "morning"  # before midday, Europe/London
    AFTERNOON = "afternoon"  # from midday


class AnsweredBy(StrEnum):
    PARENT = "parent"
    STAFF = "staff"  # entered by the office on the family's behalf


class HouseholdAnswer(Identified, Timestamped, Versioned, SchoolScoped, table=True):
    """A household's whole answer to one programme, kept in one row so that it is always
    replaced whole: two submissions at once leave one of them, never a mixture."""

    __tablename__ = "household_answer"
    __table_args__ = (UniqueConstraint("programme_id", "household_id"),)

    programme_id: UUID = Field(foreign_key="visit_programme.id", ondelete="CASCADE")
    household_id: UUID = Field(foreign_key="household.id", index=True)
    kind: AnswerKind = Field(sa_type=enum_type(AnswerKind, 12))
    # Slot ids, first choice first.
    preferred_slot_ids: list[str] = Field(default_factory=list, sa_type=JSON)
    # [{"day": "2026-09-03", "part": "morning"}]
    unavailable: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    interpreter_language: str | None = Field(default=None, max_length=50)
    accessibility: str | None = Field(default=None, max_length=1000)
    notes_for_visitors: str | None = Field(default=None, max_length=1000)
    neutral_venue_requested: bool = False
    neutral_venue_reason: str | None = Field(default=None, max_length=1000)
    decline_reason: str | None = Field(default=None, max_length=1000)
    answered_by: AnsweredBy = Field(sa_type=enum_type(AnsweredBy, 10))
    entered_by_staff_id: UUID | None = None
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
