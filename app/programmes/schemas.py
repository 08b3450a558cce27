from datetime import date, datetime, time
from typing import ClassVar, Self
from uuid import UUID

from pydantic import Field, model_validator

from app.core.schemas import Input, Output, Patch
from app.core.types import IsoDate, IsoDateTime, WallClock
from app.programmes.models import ProgrammeStatus
from app.roster.models import YearGroup


class BreakTimes(Input):
    starts: WallClock
    ends: WallClock

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.starts >= self.ends:
            raise ValueError("a break ends after it starts")
        return self


class ProgrammeSettings(Input):
    visit_days: list[IsoDate] = Field(
        min_length=1, max_length=5, description="One to five dates, not necessarily consecutive."
    )
    day_starts: WallClock = Field(examples=["09:00"], description="Europe/London local time")
    day_ends: WallClock = Field(examples=["17:30"])
    slot_minutes: int | None = Field(
        default=None, ge=15, le=180, description="Default: the trust's visit length."
    )
    travel_buffer_minutes: int = Field(default=15, ge=0, le=120)
    breaks: list[BreakTimes] = Field(default=[], max_length=4)
    year_groups: list[YearGroup] = Field(min_length=1, max_length=16)
    max_visits_per_adult_per_day: int | None = Field(
        default=None, ge=1, le=20, description="Default: the trust's (10 unless changed)."
    )
    preferences_open_at: IsoDateTime | None = None
    preferences_close_at: IsoDateTime | None = None
    reminder_lead_days: int = Field(default=3, ge=0, le=30)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        check_coherent(
            self.visit_days,
            self.day_starts,
            self.day_ends,
            self.preferences_open_at,
            self.preferences_close_at,
        )
        return self


def check_coherent(
    days: list[date] | None,
    starts: time | None,
    ends: time | None,
    opens: datetime | None,
    closes: datetime | None,
) -> None:
    if days is not None and len(set(days)) != len(days):
        raise ValueError("visit_days: a date appears twice")
    if starts is not None and ends is not None and starts >= ends:
        raise ValueError("day_ends must be after day_starts")
    if opens is not None and closes is not None and opens >= closes:
        raise ValueError("preferences_close_at must be after preferences_open_at")


class ProgrammeCreate(ProgrammeSettings):
    name: str = Field(min_length=1, max_length=200, examples=["Home visits 2026"])
    academic_year: str = Field(pattern=r"^\d{4}/\d{2}$", examples=["2026/27"])


class ProgrammeUpdate(Patch):
    clearable: ClassVar[frozenset[str]] = frozenset({"preferences_open_at", "preferences_close_at"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    visit_days: list[IsoDate] | None = Field(default=None, min_length=1, max_length=5)
    day_starts: WallClock | None = None
    day_ends: WallClock | None = None
    slot_minutes: int | None = Field(default=None, ge=15, le=180)
    travel_buffer_minutes: int | None = Field(default=None, ge=0, le=120)
    breaks: list[BreakTimes] | None = Field(default=None, max_length=4)
    year_groups: list[YearGroup] | None = Field(default=None, min_length=1, max_length=16)
    max_visits_per_adult_per_day: int | None = Field(default=None, ge=1, le=20)
    preferences_open_at: IsoDateTime | None = None
    preferences_close_at: IsoDateTime | None = None
    reminder_lead_days: int | None = Field(default=None, ge=0, le=30)


class ProgrammeRead(Output):
    id: UUID
    school_id: UUID
    name: str
    academic_year: str
    status: ProgrammeStatus
    visit_days: list[date]
    day_starts: time
    day_ends: time
    slot_minutes: int
    travel_buffer_minutes: int
    breaks: list[BreakTimes]
    year_groups: list[YearGroup]
    max_visits_per_adult_per_day: int
    preferences_open_at: datetime | None
    preferences_close_at: datetime | None
    reminder_lead_days: int
    slot_count: int
    created_at: datetime
    updated_at: datetime


class SlotRead(Output):
    id: UUID
    day: date
    starts_at: datetime
    ends_at: datetime
    local_start: str = Field(description="Europe/London wall-clock start, HH:MM")


class Transition(Input):
    to: ProgrammeStatus = Field(description="The next status; programmes move one step at a time.")


class ExemptionSet(Input):
    kind: str = Field(pattern=r"^(exempt|neutral_venue)$")
    reason: str = Field(min_length=3, max_length=1000)


class HouseholdInScope(Output):
    household_id: UUID
    pupil_ids: list[UUID]
    year_groups: list[YearGroup]
    exemption: str | None = None
    exemption_reason: str | None = Field(
        default=None,
        description="SLT's reason; withheld (null) unless you hold exemptions:reasons "
        "(SLT, DSLs and trust admins).",
    )


def _distinct(ids: list[UUID], field: str) -> None:
    if len(set(ids)) != len(ids):
        raise ValueError(f"{field}: a staff member is named twice")


class TeamWrite(Input):
    """A class's whole team; each PUT replaces the last one."""

    teacher_ids: list[UUID] = Field(
        min_length=1, max_length=2, description="The class teacher, or two who share the class."
    )
    second_adult_id: UUID = Field(description="The default second adult on this class's visits.")

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        _distinct(self.teacher_ids, "teacher_ids")
        return self


class SecondAdultsWrite(Input):
    staff_ids: list[UUID] = Field(
        max_length=200, description="The whole pool; anyone left out is removed from it."
    )

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        _distinct(self.staff_ids, "staff_ids")
        return self


class TeamPerson(Output):
    staff_id: UUID
    full_name: str
    trained: bool = Field(description="Visit training recorded on or before today.")


class ClassTeamRead(Output):
    class_id: UUID
    class_name: str
    year_group: YearGroup
    teachers: list[TeamPerson]
    second_adult: TeamPerson | None
    suggested_teacher_ids: list[UUID] = Field(description="The class's teachers in the MIS.")
    problems: list[str] = Field(
        description="Why this team cannot visit yet, in plain English; empty when complete."
    )


class SecondAdultsRead(Output):
    staff: list[TeamPerson]
    problems: list[str] = Field(description="Pool members who can no longer visit, and why.")
