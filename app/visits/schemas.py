from datetime import datetime
from typing import Self
from uuid import UUID

from pydantic import Field, model_validator

from app.core.schemas import Input, Output, Patch
from app.visits.models import VisitLocation, VisitRole, VisitStatus


class VisitAdultRead(Output):
    staff_id: UUID
    role: VisitRole


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
    version: int


class VisitChangeRead(Output):
    """One entry of a visit's change history: who changed it, when, how, and why."""

    id: UUID
    visit_id: UUID
    changed_at: datetime
    changed_by: UUID | None
    kind: str = Field(
        description="moved, swapped, second_adult_changed, locked, unlocked, rescheduled "
        "(a re-run moved it), or cancelled (a re-run of a published programme could not place "
        "it)"
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


class Itinerary(Output):
    programme_id: UUID
    staff_id: UUID
    days: list[ItineraryDay]
