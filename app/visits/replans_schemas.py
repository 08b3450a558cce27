from datetime import date
from uuid import UUID

from pydantic import Field

from app.core.schemas import Input, Output
from app.core.types import IsoDateTime


class ReplanCreate(Input):
    day: date = Field(description="The visit day the adults are away (all of it).")
    absent_staff_ids: list[UUID] = Field(min_length=1, max_length=10)
    note: str | None = Field(default=None, max_length=500, description="For the school only.")


class ReplanVisit(Output):
    slot_id: UUID
    starts_at: IsoDateTime
    adult_ids: list[UUID]


class ReplanChange(Output):
    visit_id: UUID
    household_id: UUID
    family: str = Field(description="How the school knows the family.")
    kind: str = Field(
        description="moved: another time; restaffed: the same time with other adults; "
        "unplaced: no time fits, so accepting cancels the visit (place the family by hand)."
    )
    reason: str = Field(description="Why this family, in plain English.")
    before: ReplanVisit
    after: ReplanVisit | None


class ReplanRead(Output):
    id: UUID
    programme_id: UUID
    day: date
    absent_staff_ids: list[UUID]
    status: str = Field(description="proposed, then accepted (families are told only then).")
    note: str | None
    created_at: IsoDateTime
    proposed_by: UUID | None
    accepted_by: UUID | None
    accepted_at: IsoDateTime | None
    moved: int = Field(description="Families given another time (the fewest the absence needs).")
    restaffed: int = Field(description="Visits kept at their time with another adult.")
    unplaced: int = Field(description="Families no time fits: their visits are cancelled.")
    changes: list[ReplanChange]
