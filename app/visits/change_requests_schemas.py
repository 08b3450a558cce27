"""A family's booked visit as the portal shows it, their change requests, and the office's view."""

from datetime import datetime
from typing import Self
from uuid import UUID

from pydantic import model_validator
from sqlmodel import Field

from app.core.schemas import Input, Output
from app.visits.change_requests_models import ChangeKind, RequestStatus, Resolution


class PortalVisitor(Output):
    first_name: str
    role: str = Field(description='"class teacher" or "second adult".')


class ChangeRequestRead(Output):
    id: UUID
    visit_id: UUID
    household_id: UUID
    kind: ChangeKind
    reason: str
    workable_times: str | None
    preferred_slot_ids: list[UUID]
    status: RequestStatus
    created_at: datetime
    closed_at: datetime | None
    resolution: Resolution | None
    resolution_note: str | None
    version: int


class PortalVisit(Output):
    """The family's visit, as they were told of it."""

    visit_id: UUID
    starts_at: datetime
    ends_at: datetime
    day: str = Field(description='As the family reads it: "Tuesday 8 September".')
    time: str = Field(description='As the family reads it: "9:30am".')
    place: str = Field(description='"at your home", or "at <school>" for a neutral venue.')
    visitors: list[PortalVisitor]
    open_request: ChangeRequestRead | None = Field(
        description="The family's change request the school has not handled yet, if any."
    )


class ChangeRequestCreate(Input):
    """The visit no longer works (say which times would), or cancel it; with a reason."""

    kind: ChangeKind
    reason: str = Field(min_length=1, max_length=500)
    workable_times: str | None = Field(
        default=None, max_length=500, description='In the family\'s words: "any weekday after 4".'
    )
    preferred_slot_ids: list[UUID] = Field(default_factory=list, max_length=5)

    @model_validator(mode="after")
    def _times_for_a_new_time(self) -> Self:
        if self.kind is ChangeKind.CANCEL and (self.workable_times or self.preferred_slot_ids):
            raise ValueError("times that would work are given only with kind new_time")
        if len(set(self.preferred_slot_ids)) != len(self.preferred_slot_ids):
            raise ValueError("preferred_slot_ids lists a slot twice")
        return self


class ChangeRequestForOffice(ChangeRequestRead):
    family_name: str = Field(description="The children's surnames, as the office knows them.")
    reference: str | None = Field(description="The MIS family id, where the MIS has one.")
    visit_starts_at: datetime


class ChangeRequestClose(Input):
    resolution: Resolution
    note: str | None = Field(default=None, max_length=500)
