"""Visits: one household, its pupils in scope (siblings joined), at least two adults, a slot and a
place; proposed by a schedule run, then scheduled when the school publishes."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped, Timestamped, Versioned
from app.core.types import UTCDateTime, enum_type, utcnow


class VisitStatus(StrEnum):
    PROPOSED = "proposed"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    NO_ACCESS = "no_access"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class VisitOutcome(StrEnum):
    """What happened on a scheduled visit, recorded after it (or, short of completed, before)."""

    COMPLETED = "completed"
    NO_ACCESS = "no_access"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class VisitLocation(StrEnum):
    HOME = "home"
    NEUTRAL_VENUE = "neutral_venue"
    SCHOOL = "school"


class VisitRole(StrEnum):
    TEACHER = "teacher"
    SECOND_ADULT = "second_adult"


class Visit(Identified, Timestamped, Versioned, SchoolScoped, table=True):
    __tablename__ = "visit"
    __table_args__ = (
        UniqueConstraint("programme_id", "household_id"),
        Index("ix_visit_programme_start", "programme_id", "starts_at"),
    )

    programme_id: UUID = Field(foreign_key="visit_programme.id", ondelete="CASCADE")
    household_id: UUID = Field(foreign_key="household.id", index=True)
    slot_id: UUID = Field(foreign_key="slot.id")
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    location: VisitLocation = Field(sa_type=enum_type(VisitLocation, 14))
    status: VisitStatus = Field(sa_type=enum_type(VisitStatus, 10))
    # Confirmed with the family: a re-run keeps it where it is unless SLT unlocks it.
    locked: bool = False
    # Order within the visiting teacher's day, and minutes of travel to it from the last stop.
    travel_minutes_before: int | None = None
    run_id: UUID | None = Field(default=None, foreign_key="schedule_run.id")
    # The outcome, recorded by an adult on the visit or SLT (see outcomes.py); `status` holds it.
    outcome_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome_by: UUID | None = None
    arrived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    departed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome_reason: str | None = Field(default=None, max_length=500)
    # Safety: the adults say when they go in and come out (checks.py), so the school knows
    # who is still in a home.
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_in_by: UUID | None = None
    checked_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_out_by: UUID | None = None
    # A no-access visit SLT or the office closed as not visited (it stays no_access).
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: UUID | None = None
    closed_reason: str | None = Field(default=None, max_length=500)


class VisitAdult(Identified, SchoolScoped, table=True):
    __tablename__ = "visit_adult"
    __table_args__ = (UniqueConstraint("visit_id", "staff_id"),)

    visit_id: UUID = Field(foreign_key="visit.id", index=True, ondelete="CASCADE")
    staff_id: UUID = Field(foreign_key="staff_member.id", index=True)
    role: VisitRole = Field(sa_type=enum_type(VisitRole, 12))


class VisitPupil(Identified, SchoolScoped, table=True):
    __tablename__ = "visit_pupil"
    __table_args__ = (UniqueConstraint("visit_id", "pupil_id"),)

    visit_id: UUID = Field(foreign_key="visit.id", index=True, ondelete="CASCADE")
    pupil_id: UUID = Field(foreign_key="pupil.id", index=True)
    # A joined sibling whose outcome differs from the visit's; None: the visit's applies.
    outcome: VisitOutcome | None = Field(default=None, sa_type=enum_type(VisitOutcome, 10))


class VisitChange(Identified, SchoolScoped, table=True):
    """The reschedule history: every manual move, swap or change of adult, with who and why."""

    __tablename__ = "visit_change"

    visit_id: UUID = Field(foreign_key="visit.id", index=True, ondelete="CASCADE")
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    changed_by: UUID | None = None
    kind: str = Field(max_length=30)  # "moved", "swapped", "second_adult_changed", ...
    from_starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    to_starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str | None = Field(default=None, max_length=500)
