from datetime import date, datetime
from enum import StrEnum
from typing import Self
from uuid import UUID

from pydantic import Field, model_validator

from app.core.schemas import Input, Output
from app.core.types import IsoDate, YearGroup
from app.parents.answers_models import AnsweredBy, AnswerKind, DayPart
from app.parents.messages_schemas import InvitationDelivery


class UnavailableTime(Input):
    day: IsoDate = Field(description="One of the programme's visit days.")
    part: DayPart = Field(
        default=DayPart.ALL_DAY,
        description="`morning` is before midday and `afternoon` from midday, Europe/London.",
    )


class AnswerWrite(Input):
    """A household's whole answer; each PUT replaces the last one whole."""

    kind: AnswerKind = Field(
        default=AnswerKind.PREFERENCES,
        description="`declined`: the family does not want a visit (give `decline_reason`).",
    )
    preferred_slot_ids: list[UUID] = Field(
        default=[],
        max_length=5,
        description="Up to five of the programme's slots, first choice first. None at all "
        "(and no unavailable times) means any time suits.",
    )
    unavailable: list[UnavailableTime] = Field(default=[], max_length=20)
    interpreter_language: str | None = Field(default=None, min_length=2, max_length=50)
    accessibility: str | None = Field(default=None, max_length=1000)
    notes_for_visitors: str | None = Field(
        default=None, max_length=1000, description="Anything the visiting adults should know."
    )
    neutral_venue_requested: bool = Field(
        default=False,
        description="Ask to meet somewhere other than home; the school decides (a last resort).",
    )
    neutral_venue_reason: str | None = Field(default=None, max_length=1000)
    decline_reason: str | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.kind is AnswerKind.DECLINED:
            if not self.decline_reason:
                raise ValueError("a decline needs a decline_reason")
            if self.preferred_slot_ids or self.unavailable or self.neutral_venue_requested:
                raise ValueError(
                    "a decline carries no preferred slots, unavailable times or venue request"
                )
        elif self.decline_reason is not None:
            raise ValueError("decline_reason goes only with kind 'declined'")
        if self.neutral_venue_reason and not self.neutral_venue_requested:
            raise ValueError("neutral_venue_reason goes only with neutral_venue_requested")
        return self


class PreferredSlot(Output):
    rank: int
    slot_id: UUID
    day: date
    starts_at: datetime
    local_start: str


class AnswerRead(Output):
    programme_id: UUID
    household_id: UUID
    status: str = Field(description="`not_answered`, `preferences` or `declined`.")
    preferred: list[PreferredSlot] = []
    unavailable: list[UnavailableTime] = []
    interpreter_language: str | None = None
    accessibility: str | None = None
    notes_for_visitors: str | None = None
    neutral_venue_requested: bool = False
    neutral_venue_reason: str | None = None
    decline_reason: str | None = None
    answered_by: AnsweredBy | None = None
    submitted_at: datetime | None = None
    version: int = 0
    can_change_until: datetime | None = Field(
        default=None, description="When the window closes; after it, contact the school."
    )


class Counts(Output):
    in_scope: int = Field(description="Households with a pupil in the programme's year groups.")
    answered: int = Field(description="Gave preferences or unavailable times (not declined).")
    declined: int
    exempt: int = Field(description="Exempted by SLT: not to be visited.")
    neutral_venue: int = Field(description="Offered a neutral venue by SLT.")
    neutral_venue_requested: int = Field(description="Asked for a neutral venue in their answer.")
    interpreter_needed: int = Field(description="Asked for an interpreter in their answer.")
    not_answered: int = Field(description="In scope, not exempt, no answer yet: to chase.")


class ClassProgress(Counts):
    class_id: UUID
    class_name: str
    year_group: YearGroup


class ProgressRead(Output):
    """A household with children in two classes counts once in the totals and once in each
    class."""

    programme_id: UUID
    totals: Counts
    classes: list[ClassProgress]


class SlotDemand(Output):
    slot_id: UUID
    day: date
    starts_at: datetime
    local_start: str
    first_choice: int = Field(description="Households whose first choice this is.")
    any_choice: int = Field(description="Households who ranked it at all.")
    unavailable: int = Field(description="Households unavailable at this time.")


class DemandRead(Output):
    programme_id: UUID
    answered: int
    slots: list[SlotDemand]


class ChaseContact(Output):
    name: str
    relationship: str | None
    priority: int
    mobile: str | None
    landline: str | None
    email: str | None
    preferred_language: str | None
    interpreter_needed: bool
    sms_consent: bool


class ChaseChild(Output):
    pupil_id: UUID
    first_name: str
    last_name: str
    class_name: str | None
    year_group: YearGroup | None


class InvitationState(Output):
    invitation_id: UUID
    issued_at: datetime
    expires_at: datetime
    delivered_at: datetime | None
    last_used_at: datetime | None


class ChaseOrder(StrEnum):
    """`household`: by household (the default). `equity`: families the programme most exists
    for first: those with more of a looked-after child, a child on free school meals, a child
    with SEND (support or an EHCP), a child with English as an additional language, and a past
    visit that found no one in; then by household."""

    HOUSEHOLD = "household"
    EQUITY = "equity"


class ChaseEntry(Output):
    household_id: UUID
    children: list[ChaseChild]
    contacts: list[ChaseContact]
    invitation: InvitationState | None = Field(
        description="The live invitation, if one has been issued; `delivered_at` is set once "
        "its text or email is delivered."
    )
    invitation_delivery: InvitationDelivery = Field(
        description='How the invitation reached the family: "sms delivered", "letter to post", '
        '"email permanent_failure", "not invited", …'
    )
