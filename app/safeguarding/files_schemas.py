"""A pupil's child protection file as its DSLs read it, its legal hold, and its transfers."""

from datetime import date, datetime
from enum import StrEnum
from typing import Self
from uuid import UUID

from pydantic import model_validator
from sqlmodel import Field

from app.core.schemas import Input, Output
from app.safeguarding.models import HOLD_REASON_MAX, TransferRoute
from app.safeguarding.schemas import ConcernSummary


class LegalHoldWrite(Input):
    """Set or lift the legal hold. While on hold nothing in the file is ever deleted, whatever
    its review date says."""

    on_hold: bool
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=HOLD_REASON_MAX,
        description="Why the file is held (required to set a hold): a court order, an inquiry.",
    )

    @model_validator(mode="after")
    def _reason_to_hold(self) -> Self:
        if self.on_hold and self.reason is None:
            raise ValueError("a legal hold needs its reason")
        return self


class LegalHoldRead(Output):
    pupil_id: UUID
    on_hold: bool
    hold_reason: str | None
    hold_changed_at: datetime | None
    hold_changed_by: UUID | None
    review_date: date = Field(
        description="The date of birth plus the trust's safeguarding_review_years."
    )


class TransferWrite(Input):
    """The file sent to the school the pupil moved to: a school of the trust (`to_school_id`),
    or an outside school by name and URN."""

    sent_date: date = Field(description="The day the file was sent.")
    route: TransferRoute
    to_school_id: UUID | None = Field(default=None, description="A school of the trust.")
    to_school_name: str | None = Field(default=None, min_length=1, max_length=200)
    to_school_urn: str | None = Field(default=None, regex=r"^\d{6}$")

    @model_validator(mode="after")
    def _one_destination(self) -> Self:
        outside = self.to_school_name is not None or self.to_school_urn is not None
        if (self.to_school_id is None) == (not outside):
            raise ValueError(
                "name either a school of the trust (to_school_id) or an outside school "
                "(to_school_name, and its URN if known), not both"
            )
        if outside and self.to_school_name is None:
            raise ValueError("an outside school needs its name")
        return self


class ConfirmationWrite(Input):
    """An outside school's confirmation that it received the file, as the sending DSL heard it."""

    confirmed_date: date
    confirmed_by_name: str = Field(
        min_length=1, max_length=200, description="Who confirmed it at the receiving school."
    )


class TransferDirection(StrEnum):
    OUTGOING = "outgoing"
    INCOMING = "incoming"


class TransferRead(Output):
    id: UUID
    pupil_id: UUID = Field(description="The pupil's record at the sending school.")
    school_id: UUID = Field(description="The sending school.")
    sent_date: date
    sent_by: UUID
    recorded_at: datetime
    route: TransferRoute
    to_school_id: UUID | None
    to_school_name: str | None
    to_school_urn: str | None
    to_pupil_id: UUID | None = Field(
        description="The same child on the receiving school's roll, matched by UPN."
    )
    received_at: datetime | None
    received_by: UUID | None
    confirmed_date: date | None
    confirmed_by_name: str | None
    confirmation_recorded_by: UUID | None
    concerns: int = Field(description="How many concerns the file carried.")


class SchoolTransferRead(TransferRead):
    direction: TransferDirection


class ProtectionFileRead(Output):
    """The pupil's child protection file, kept apart from the pupil's record."""

    pupil_id: UUID
    school_id: UUID
    review_date: date
    on_hold: bool
    hold_reason: str | None
    concerns: list[ConcernSummary] = Field(description="Oldest first.")
    transfers: list[TransferRead]
