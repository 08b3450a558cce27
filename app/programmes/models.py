"""A school's visit programme for one academic year, and the slot grid parents choose from."""

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Index, Time, UniqueConstraint
from sqlmodel import Field

from app.core.london import LONDON
from app.core.models import Identified, SchoolScoped, Timestamped, Versioned
from app.core.types import UTCDateTime, enum_type


class ProgrammeStatus(StrEnum):
    DRAFT = "draft"
    COLLECTING = "collecting"
    SCHEDULING = "scheduling"
    PUBLISHED = "published"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


# Each status may move only to the next one.
NEXT_STATUS: dict[ProgrammeStatus, ProgrammeStatus] = {
    ProgrammeStatus.DRAFT: ProgrammeStatus.COLLECTING,
    ProgrammeStatus.COLLECTING: ProgrammeStatus.SCHEDULING,
    ProgrammeStatus.SCHEDULING: ProgrammeStatus.PUBLISHED,
    ProgrammeStatus.PUBLISHED: ProgrammeStatus.IN_PROGRESS,
    ProgrammeStatus.IN_PROGRESS: ProgrammeStatus.CLOSED,
}
# And the one step back: plans change after publishing, so SLT may reopen a published schedule
# (with a reason) until its first visit day begins.
PREVIOUS_STATUS: dict[ProgrammeStatus, ProgrammeStatus] = {
    ProgrammeStatus.PUBLISHED: ProgrammeStatus.SCHEDULING,
}


class VisitProgramme(Identified, Timestamped, Versioned, SchoolScoped, table=True):
    __tablename__ = "visit_programme"
    __table_args__ = (UniqueConstraint("school_id", "academic_year", "name"),)

    name: str = Field(max_length=200)
    academic_year: str = Field(max_length=7)
    status: ProgrammeStatus = Field(
        default=ProgrammeStatus.DRAFT, sa_type=enum_type(ProgrammeStatus, 12)
    )
    # Dates as ISO strings; the daily window and breaks as Europe/London wall-clock times.
    visit_days: list[str] = Field(default_factory=list, sa_type=JSON)
    day_starts: time = Field(sa_type=Time)
    day_ends: time = Field(sa_type=Time)
    slot_minutes: int
    travel_buffer_minutes: int
    breaks: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    year_groups: list[str] = Field(default_factory=list, sa_type=JSON)
    max_visits_per_adult_per_day: int
    # False: the daily window holds each adult's drive back to school after their last visit.
    # True: adults go home from their last visit, so a day ends there.
    adults_finish_at_last_visit: bool = False
    preferences_open_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    preferences_close_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Days before each visit that its family is reminded (9:00 in England).
    reminder_lead_days: int = 3
    # Days before preferences close that families who have not answered are reminded; 0: never.
    answer_reminder_days: int = 3
    # Each time SLT took the published schedule back to scheduling: [{"at", "by", "reason"}].
    reopenings: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)

    def days(self) -> list[date]:
        return [date.fromisoformat(d) for d in self.visit_days]

    def visit_window(self) -> tuple[datetime, datetime] | None:
        """From midnight of its first visit day to midnight after its last (Europe/London);
        None before it has any."""
        days = self.days()
        if not days:
            return None
        first = datetime.combine(min(days), time(0), tzinfo=LONDON)
        return first, datetime.combine(max(days) + timedelta(days=1), time(0), tzinfo=LONDON)

    def settings(self) -> dict[str, Any]:
        return {"slot_minutes": self.slot_minutes, "breaks": self.breaks}


class Slot(Identified, SchoolScoped, table=True):
    """A time a visit may start, as offered to parents; stored in UTC."""

    __tablename__ = "slot"
    __table_args__ = (Index("ix_slot_programme_start", "programme_id", "starts_at"),)

    programme_id: UUID = Field(foreign_key="visit_programme.id", ondelete="CASCADE")
    day: date
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)


class HouseholdExemption(Identified, Timestamped, SchoolScoped, table=True):
    """SLT's decision for one household in a programme: not visited, or met at a neutral venue."""

    __tablename__ = "household_exemption"
    __table_args__ = (UniqueConstraint("programme_id", "household_id"),)

    programme_id: UUID = Field(foreign_key="visit_programme.id", ondelete="CASCADE")
    household_id: UUID = Field(foreign_key="household.id", index=True)
    kind: str = Field(max_length=20)  # "exempt" | "neutral_venue"
    reason: str = Field(max_length=1000)
    decided_by: UUID | None = None


class TeamRole(StrEnum):
    TEACHER = "teacher"
    SECOND_ADULT = "second_adult"


class TeamMember(Identified, SchoolScoped, table=True):
    """Who visits a class's families in a programme: its teacher(s) and a default second adult."""

    __tablename__ = "team_member"
    __table_args__ = (UniqueConstraint("programme_id", "class_id", "staff_id"),)

    programme_id: UUID = Field(foreign_key="visit_programme.id", ondelete="CASCADE")
    class_id: UUID = Field(foreign_key="school_class.id", index=True, ondelete="CASCADE")
    staff_id: UUID = Field(foreign_key="staff_member.id", index=True)
    role: TeamRole = Field(sa_type=enum_type(TeamRole, 12))


class SecondAdult(Identified, SchoolScoped, table=True):
    """A trained member of staff (support staff, SLT) the scheduler may pair with any teacher."""

    __tablename__ = "second_adult"
    __table_args__ = (UniqueConstraint("programme_id", "staff_id"),)

    programme_id: UUID = Field(foreign_key="visit_programme.id", ondelete="CASCADE")
    staff_id: UUID = Field(foreign_key="staff_member.id", index=True)


class Duty(StrEnum):
    """Who is named for a visit day: the office or SLT member safety alerts go to first, and
    the designated safeguarding lead on call with their deputies (KCSIE: pre-term visits are
    out-of-term activity, so every visit day has a DSL to ring)."""

    SAFETY_CONTACT = "safety_contact"
    DSL_ON_CALL = "dsl_on_call"
    DSL_DEPUTY = "dsl_deputy"


class DayDuty(Identified, SchoolScoped, table=True):
    """One person's duty on one visit day of a programme."""

    __tablename__ = "day_duty"
    __table_args__ = (UniqueConstraint("programme_id", "day", "duty", "staff_id"),)

    programme_id: UUID = Field(foreign_key="visit_programme.id", ondelete="CASCADE")
    day: date
    duty: Duty = Field(sa_type=enum_type(Duty, 20))
    staff_id: UUID = Field(foreign_key="staff_member.id", index=True)
    rank: int = 0  # deputies are called in this order
    named_by: UUID | None = None
    named_at: datetime = Field(sa_type=UTCDateTime)
