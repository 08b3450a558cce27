from datetime import date, datetime
from typing import Self
from uuid import UUID

from pydantic import Field, ValidationInfo, field_validator, model_validator

from app.core.schemas import Input, Output, Patch
from app.core.types import IsoDateTime, YearGroup
from app.programmes.schemas import DutyPerson
from app.visits.models import VisitLocation, VisitOutcome, VisitRole, VisitStatus


class VisitAdultRead(Output):
    staff_id: UUID
    role: VisitRole


class PupilOutcome(Output):
    pupil_id: UUID
    outcome: VisitOutcome


class VisitOutcomeRead(Output):
    """What happened, as recorded; a no-access visit may then be closed as not visited."""

    outcome: VisitOutcome
    recorded_at: datetime
    recorded_by: UUID | None
    reason: str | None
    pupils: list[PupilOutcome] = Field(
        description="Joined siblings whose outcome differs from the visit's; the visit's "
        "outcome applies to every other child."
    )
    closed: bool = Field(
        description="A no-access visit closed by SLT or the office as not visited."
    )
    closed_at: datetime | None
    closed_by: UUID | None
    closed_reason: str | None


RAISE_CONCERN = (
    "Worried about a child's safety? POST a concern here (with this visit's id as visit_id): "
    "it reaches the day's on-call designated safeguarding lead at once. Safeguarding detail "
    "belongs there, never in a note or an outcome's reason."
)


def concern_path(school_id: UUID) -> str:
    return f"/api/v1/schools/{school_id}/concerns"


class VisitRead(Output):
    id: UUID
    programme_id: UUID
    household_id: UUID
    pupil_ids: list[UUID] = Field(description="The children in scope; siblings share a visit.")
    slot_id: UUID
    starts_at: datetime
    ends_at: datetime
    local_start: str = Field(description="Europe/London, HH:MM")
    location: VisitLocation
    status: VisitStatus
    locked: bool
    adults: list[VisitAdultRead]
    arrived_at: datetime | None
    departed_at: datetime | None
    checked_in_at: datetime | None
    checked_in_by: UUID | None
    checked_out_at: datetime | None
    checked_out_by: UUID | None
    outcome: VisitOutcomeRead | None = Field(description="None until the outcome is recorded.")
    version: int
    raise_concern: str = Field(description=RAISE_CONCERN)


class VisitChangeRead(Output):
    """One entry of a visit's change history: who changed it, when, how, and why."""

    id: UUID
    visit_id: UUID
    changed_at: datetime
    changed_by: UUID | None
    kind: str = Field(
        description="moved, swapped, second_adult_changed, locked, unlocked, rescheduled "
        "(a re-run moved it), cancelled (a re-run of a published programme could not place "
        "it), placed (by hand), offered_another_time (after no access), outcome_recorded (the "
        "note holds the outcome), checked_in, checked_out, closed_not_visited, "
        "change_requested_new_time or change_requested_cancel (by the family: changed_by is "
        "empty), or change_request_moved, change_request_cancelled or change_request_kept (the "
        "office's answer)"
    )
    from_starts_at: datetime | None
    to_starts_at: datetime | None
    note: str | None


class VisitChangeRequest(Patch):
    """Move the visit to another slot, change its second adult, or lock it (confirmed with the
    family: a re-run keeps it where it is) or unlock it."""

    clearable = frozenset({"note"})

    slot_id: UUID | None = None
    second_adult_id: UUID | None = None
    locked: bool | None = None
    note: str | None = Field(default=None, max_length=500, description="Why, for the history.")

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not {"slot_id", "second_adult_id", "locked"} & self.model_fields_set:
            raise ValueError("give slot_id, second_adult_id or locked")
        return self


class VisitPlace(Input):
    """A visit for a family the schedule could not place (or whose visit a re-run cancelled):
    at this slot, with its children's class teachers and a second adult."""

    household_id: UUID
    slot_id: UUID
    second_adult_id: UUID | None = Field(
        default=None, description="Default: the second adult of the class's team."
    )
    note: str | None = Field(default=None, max_length=500, description="Why, for the history.")


class VisitSwap(Input):
    first_visit_id: UUID
    second_visit_id: UUID
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _two(self) -> Self:
        if self.first_visit_id == self.second_visit_id:
            raise ValueError("a swap needs two different visits")
        return self


class ItineraryChild(Output):
    first_name: str
    class_name: str | None


class ItineraryAdult(Output):
    staff_id: UUID
    name: str
    role: VisitRole


class ItineraryStop(Output):
    visit_id: UUID
    starts_at: datetime
    ends_at: datetime
    local_start: str = Field(description="Europe/London, HH:MM")
    local_end: str
    location: VisitLocation
    address: str = Field(description="The home, or the school for a neutral-venue or school visit.")
    postcode: str
    travel_minutes: int = Field(description="From the previous stop (the school, for the first).")
    children: list[ItineraryChild]
    contact_name: str | None
    contact_mobile: str | None
    interpreter_language: str | None
    accessibility: str | None
    notes_for_visitors: str | None
    with_adults: list[ItineraryAdult] = Field(description="Everyone else on the visit.")
    status: VisitStatus


class ItineraryDay(Output):
    day: str
    stops: list[ItineraryStop]
    travel_minutes: int
    safety_contact: DutyPerson | None = Field(
        default=None, description="Who hears first if the adults are overdue (the duty rota)."
    )
    dsl_on_call: DutyPerson | None = Field(
        default=None, description="The designated safeguarding lead on call that day."
    )


class Itinerary(Output):
    programme_id: UUID
    staff_id: UUID
    days: list[ItineraryDay]


# Outcomes that say the visit did not happen: each needs a reason.
NOT_VISITED = frozenset({VisitOutcome.NO_ACCESS, VisitOutcome.DECLINED, VisitOutcome.CANCELLED})


class PupilOutcomeWrite(Input):
    pupil_id: UUID
    outcome: VisitOutcome


class VisitOutcomeWrite(Input):
    """The outcome of a scheduled visit. A reason is required unless it was completed; arrival
    and departure times are optional (check-in and check-out record them too)."""

    outcome: VisitOutcome
    arrived_at: IsoDateTime | None = Field(default=None, examples=["2026-09-02T09:02:00+01:00"])
    departed_at: IsoDateTime | None = Field(default=None, examples=["2026-09-02T09:41:00+01:00"])
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        validate_default=True,
        description="Why it did not happen (required for no_access, declined, cancelled). Never "
        "a place for safeguarding detail: that is a concern.",
    )
    pupils: list[PupilOutcomeWrite] = Field(
        default_factory=list,
        max_length=20,
        description="Joined siblings whose outcome differs from the visit's.",
    )

    @field_validator("reason")
    @classmethod
    def _reason_when_not_visited(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("outcome") in NOT_VISITED:
            raise ValueError(f"say why the visit was {info.data['outcome']}")
        return value

    @field_validator("departed_at")
    @classmethod
    def _after_arrival(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        arrived = info.data.get("arrived_at")
        if value is not None and arrived is not None and value < arrived:
            raise ValueError("departed_at is before arrived_at")
        return value

    @field_validator("pupils")
    @classmethod
    def _each_once(cls, value: list[PupilOutcomeWrite]) -> list[PupilOutcomeWrite]:
        if len({p.pupil_id for p in value}) != len(value):
            raise ValueError("a child is named more than once")
        return value


class VisitClose(Input):
    """Close a no-access visit as not visited: no one will go back."""

    reason: str = Field(min_length=1, max_length=500)


class VisitCounts(Output):
    """Every child in the programme's scope (and any other on its visits), each counted once:
    by their own outcome where they are on a visit (a joined sibling's where it differs from
    the visit's), else by why they have none."""

    pupils: int = Field(description="Children in scope, and any others on its visits.")
    visited: int = Field(description="Their visit was completed.")
    no_access: int
    declined: int = Field(
        description="Declined at the door, or the family declined the visit in the portal."
    )
    cancelled: int = Field(description="Called off, or cancelled by a re-run or a re-plan.")
    not_yet_visited: int = Field(description="Their visit is still to come (no outcome yet).")
    no_visit_yet: int = Field(
        default=0,
        description="In scope with no visit arranged (not placed by the schedule, or new): the "
        "office's to place by hand.",
    )
    exempt: int = Field(default=0, description="SLT decided the family is not visited.")


class ClassVisitProgress(VisitCounts):
    class_id: UUID | None = Field(description="None for children no longer in a class.")
    class_name: str | None
    year_group: YearGroup | None


class VisitProgressRead(Output):
    """Siblings joined in one visit count in each of their classes, and once each in the
    totals."""

    programme_id: UUID
    totals: VisitCounts
    classes: list[ClassVisitProgress]


class BoardAdult(Output):
    staff_id: UUID
    name: str
    role: VisitRole


class BoardVisit(Output):
    visit_id: UUID
    household_id: UUID
    starts_at: datetime
    ends_at: datetime
    local_start: str = Field(description="Europe/London, HH:MM")
    local_end: str
    status: VisitStatus
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    overdue_check_in: bool = Field(
        description="Still scheduled, and nobody checked in THRESHOLD_VISITS_OVERDUE_CHECKIN_"
        "MINUTES (20) after the planned start."
    )
    overdue_check_out: bool = Field(
        description="Checked in, and not out THRESHOLD_VISITS_OVERDUE_CHECKOUT_MINUTES (15) "
        "after the planned end."
    )


class BoardTeam(Output):
    adults: list[BoardAdult]
    visits: list[BoardVisit] = Field(description="The team's visits that day, in time order.")


class BoardRead(Output):
    programme_id: UUID
    day: date
    as_of: datetime = Field(description="When the overdue flags were worked out.")
    teams: list[BoardTeam]
    overdue: int = Field(description="Visits overdue for check-in or check-out.")


class VisitAlertRead(Output):
    """A safety alert: a visit's adults overdue checking in or out."""

    id: UUID
    visit_id: UUID
    programme_id: UUID
    kind: str = Field(description="no_check_in or no_check_out")
    raised_at: datetime
    level: int = Field(description="How far up the school's chain it has gone (0: the first).")
    acknowledged_at: datetime | None
    acknowledged_by: UUID | None
    resolved_at: datetime | None = Field(
        description="When the adults checked in (or out) after all."
    )
