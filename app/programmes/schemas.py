from datetime import date, datetime, time
from typing import ClassVar, Self
from uuid import UUID

from pydantic import Field, model_validator

from app.core.schemas import Input, Output, Patch
from app.core.types import IsoDate, IsoDateTime, WallClock, YearGroup
from app.programmes.models import ProgrammeStatus


class BreakTimes(Input):
    starts: WallClock
    ends: WallClock

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.starts >= self.ends:
            raise ValueError("a break ends after it starts")
        return self


ADULTS_FINISH_AT_LAST_VISIT = (
    "false (the default): adults drive back to school after their last visit, and that drive "
    "must end by day_ends; true: adults go home from their last visit, so a day ends there."
)


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
    adults_finish_at_last_visit: bool = Field(
        default=False, description=ADULTS_FINISH_AT_LAST_VISIT
    )
    preferences_open_at: IsoDateTime | None = None
    preferences_close_at: IsoDateTime | None = None
    reminder_lead_days: int = Field(
        default=3, ge=0, le=30, description="Days before each visit its reminder is sent."
    )
    answer_reminder_days: int = Field(
        default=3,
        ge=0,
        le=30,
        description="Days before preferences close that families not yet answered are "
        "reminded (0: no reminder).",
    )

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
    adults_finish_at_last_visit: bool | None = Field(
        default=None, description=ADULTS_FINISH_AT_LAST_VISIT
    )
    preferences_open_at: IsoDateTime | None = None
    preferences_close_at: IsoDateTime | None = None
    reminder_lead_days: int | None = Field(default=None, ge=0, le=30)
    answer_reminder_days: int | None = Field(default=None, ge=0, le=30)


class ProgrammeWarning(Output):
    """Allowed, but perhaps not what the school means; nothing was refused."""

    type: str = Field(
        description="weekend-visit-day, or class-over-capacity (on the move to collecting)",
        examples=["weekend-visit-day"],
    )
    pointer: str | None = Field(
        default=None, description="JSON pointer into this programme, e.g. #/visit_days/2"
    )
    class_id: UUID | None = None
    detail: str


class Reopening(Output):
    at: datetime
    by: UUID | None
    reason: str


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
    adults_finish_at_last_visit: bool = Field(description=ADULTS_FINISH_AT_LAST_VISIT)
    preferences_open_at: datetime | None
    preferences_close_at: datetime | None
    reminder_lead_days: int
    answer_reminder_days: int
    slot_count: int
    reopenings: list[Reopening] = Field(
        description="Each time SLT took the published schedule back to scheduling, and why."
    )
    warnings: list[ProgrammeWarning] = Field(
        default=[],
        description="Settings a school may mean but should check (a weekend visit day); on the "
        "move to collecting, each class with more families than its adults can visit.",
    )
    created_at: datetime
    updated_at: datetime


class SlotRead(Output):
    id: UUID
    day: date
    starts_at: datetime
    ends_at: datetime
    local_start: str = Field(description="Europe/London wall-clock start, HH:MM")


class Transition(Input):
    """Send with If-Match: the programme's ETag."""

    to: ProgrammeStatus = Field(
        description="The next status (programmes move one step at a time), or `scheduling` to "
        "take a published schedule back before its first visit day."
    )
    acknowledged_unplaced: list[UUID] = Field(
        default=[],
        max_length=5000,
        description="Publishing: households in scope SLT knowingly publishes without a visit. "
        "Any other family with no visit refuses the publish (409 schedule-incomplete).",
    )
    reason: str | None = Field(
        default=None,
        min_length=3,
        max_length=1000,
        description="Required to take a published programme back to scheduling.",
    )


class ExemptionSet(Input):
    kind: str = Field(pattern=r"^(exempt|neutral_venue)$")
    reason: str = Field(min_length=3, max_length=1000)


class ChildInScope(Output):
    pupil_id: UUID
    first_name: str
    class_name: str
    year_group: YearGroup


class HouseholdInScope(Output):
    household_id: UUID
    family_name: str = Field(description="The surnames of the children in scope.")
    reference: str | None = Field(description="The school's MIS family id, when it has one.")
    address_line1: str | None = Field(
        description="Address fields are null for callers who may not see addresses: only "
        "office, SLT, DSLs and the children's own class staff see them."
    )
    address_line2: str | None
    town: str | None
    postcode: str | None
    children: list[ChildInScope]
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


class ClassCapacityRead(Output):
    families: int = Field(
        description="Families to visit with a child in this class: in scope, not exempt, not "
        "declined (a family with children in two classes counts in each)."
    )
    visits_possible: int | None = Field(
        description="The most visits the class's adults can make in the programme's days: days "
        "× slots × the daily maximum, less their time away; the binding adult decides (the "
        "MIS's class teachers until a team is set). Null while the class has no teacher."
    )
    limited_by: UUID | None = Field(description="The binding adult, when it is one person.")
    problem: str | None = Field(description="What would fix it, when families outnumber visits.")


class ClassTeamRead(Output):
    class_id: UUID
    class_name: str
    year_group: YearGroup
    teachers: list[TeamPerson]
    second_adult: TeamPerson | None
    suggested_teacher_ids: list[UUID] = Field(description="The class's teachers in the MIS.")
    capacity: ClassCapacityRead
    problems: list[str] = Field(
        description="Why this team cannot visit yet (or not every family), in plain English; "
        "empty when complete."
    )


class SecondAdultsRead(Output):
    staff: list[TeamPerson]
    problems: list[str] = Field(description="Pool members who can no longer visit, and why.")


class DayDutiesWrite(Input):
    """Everyone named for one visit day; a duty left out or empty is cleared."""

    safety_contact_id: UUID | None = Field(
        default=None,
        description="The office or SLT member who hears first when the visiting adults are "
        "overdue (then the office, then SLT). Unset: the office first.",
    )
    dsl_on_call_id: UUID | None = Field(
        default=None,
        description="The designated safeguarding lead on call (the school's DSL or the trust's).",
    )
    dsl_deputy_ids: list[UUID] = Field(
        default_factory=list, max_length=10, description="Deputies, in the order they are called."
    )

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        _distinct(self.dsl_deputy_ids, "dsl_deputy_ids")
        if self.dsl_on_call_id is not None and self.dsl_on_call_id in self.dsl_deputy_ids:
            raise ValueError("the DSL on call is not also their own deputy")
        return self


class DutyPerson(Output):
    staff_id: UUID
    full_name: str


class DayDutiesRead(Output):
    day: date
    safety_contact: DutyPerson | None
    dsl_on_call: DutyPerson | None
    dsl_deputies: list[DutyPerson]


class DutyRotaRead(Output):
    days: list[DayDutiesRead] = Field(description="Every visit day, in order, named or not.")
    unnamed: list[str] = Field(
        description="What is missing, in plain English: days with no DSL on call or no deputy."
    )
