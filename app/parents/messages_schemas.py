"""What the office sees of a programme's messages: never a body, never a code (but on letters)."""

from datetime import datetime
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from app.core.schemas import Input, Output
from app.notifications.models import MessageChannel, MessageKind, MessageStatus, RecipientType


class InvitationDelivery(Output):
    """How a household's invitation reached it, or will, or could not."""

    channel: MessageChannel | None = Field(description="Null when there is no message (yet).")
    status: MessageStatus | None
    summary: str = Field(
        description='In words: "sms delivered", "letter to post", "letter posted", '
        '"email permanent_failure", "sms queued", "no message", "not invited".'
    )
    status_reason: str | None = None
    delivered_at: datetime | None = None
    message_id: UUID | None = None


class OfficeMessage(Output):
    message_id: UUID
    kind: MessageKind
    channel: MessageChannel
    status: MessageStatus
    status_reason: str | None
    household_id: UUID | None
    recipient_type: RecipientType
    recipient_name: str | None = Field(
        description="The contact or member of staff written to; null for a letter to a "
        "household with no contact on record."
    )
    language: str
    attempts: int
    created_at: datetime
    send_after: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None


class UnreachedContact(Output):
    name: str
    relationship: str | None
    mobile: str | None = Field(description="Null when your roles do not show contact details.")
    landline: str | None
    email: str | None
    preferred_language: str | None
    interpreter_needed: bool


class UnreachedHousehold(Output):
    household_id: UUID
    family_name: str = Field(description="The children's surnames, as the school knows them.")
    reference: str | None = Field(description="The school's MIS family id.")
    message_id: UUID
    kind: MessageKind
    channel: MessageChannel
    status: MessageStatus
    reason: str = Field(description="Why the office should phone them, in words.")
    since: datetime = Field(description="When it failed, or when the letter was written.")
    contacts: list[UnreachedContact]


class LettersPosted(Input):
    """Which letters went in the post: their message ids, or every letter listed at a time."""

    message_ids: list[UUID] | None = Field(default=None, min_length=1, max_length=2000)
    all_listed: bool = False
    listed_at: AwareDatetime | None = Field(
        default=None,
        description="With `all_listed`: the `Letters-Listed-At` of the list that was printed, "
        "so that a letter written after it is not marked posted unseen.",
    )

    @model_validator(mode="after")
    def _one_way(self) -> "LettersPosted":
        if (self.message_ids is None) == (not self.all_listed):
            raise ValueError("Give either `message_ids` or `all_listed: true`, not both.")
        if self.all_listed and self.listed_at is None:
            raise ValueError("`all_listed` needs `listed_at`: when the printed list was made.")
        return self


class LettersPostedRead(Output):
    posted: int = Field(description="Letters marked posted now (already posted ones not).")
