"""The outbox: every message to a family or a member of staff, written in the same transaction as
the change that causes it, then sent by a worker; and the trust's own wording for each kind."""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped, Timestamped, TrustScoped, Versioned
from app.core.types import UTCDateTime, enum_type, utcnow


class MessageKind(StrEnum):
    INVITATION = "invitation"  # choose your times: code and link
    ANSWER_REMINDER = "answer_reminder"  # not answered yet, the window closes soon
    VISIT_CONFIRMATION = "visit_confirmation"  # on publishing: day, time, who is coming
    VISIT_REMINDER = "visit_reminder"  # the programme's reminder lead before the visit
    VISIT_CHANGED = "visit_changed"  # moved to another time or other adults
    VISIT_CANCELLED = "visit_cancelled"
    ITINERARY_PUBLISHED = "itinerary_published"  # to staff: your visits are published
    VISIT_OVERDUE = "visit_overdue"  # to staff: two adults not checked in, or not out, in time
    # To a DSL: a concern of some urgency awaits at a school (never who, or what).
    SAFEGUARDING_CONCERN = "safeguarding_concern"
    # To a DSL: a file their school sent has no receipt yet (never whose, or where).
    SAFEGUARDING_TRANSFER = "safeguarding_transfer"
    # Surveys (app/surveys): to a teacher, a survey awaits in Threshold; to a family, a link into
    # the parent portal to answer theirs. The same kinds carry the reminders.
    STAFF_SURVEY = "staff_survey"
    FAMILY_SURVEY = "family_survey"


# Messages to staff are not held back by families' quiet hours.
STAFF_KINDS = frozenset(
    {
        MessageKind.ITINERARY_PUBLISHED,
        MessageKind.VISIT_OVERDUE,
        MessageKind.SAFEGUARDING_CONCERN,
        MessageKind.SAFEGUARDING_TRANSFER,
        MessageKind.STAFF_SURVEY,
    }
)
# Safeguarding messages are need-to-know: no message log shows them.
SAFEGUARDING_KINDS = frozenset(
    {MessageKind.SAFEGUARDING_CONCERN, MessageKind.SAFEGUARDING_TRANSFER}
)


class MessageChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    # Nobody can be texted or emailed: the office prints it (the letter list). Never sent by the
    # worker; it stays `created` until the office marks the letters posted.
    LETTER = "letter"


class MessageStatus(StrEnum):
    CREATED = "created"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    PERMANENT_FAILURE = "permanent_failure"
    TEMPORARY_FAILURE = "temporary_failure"
    TECHNICAL_FAILURE = "technical_failure"
    CANCELLED = "cancelled"


# Nothing more will happen to these, whatever a worker or a callback does.
FINAL_STATUSES = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.PERMANENT_FAILURE,
        MessageStatus.TECHNICAL_FAILURE,
        MessageStatus.CANCELLED,
    }
)
# Statuses an office reads as "we could not reach this family": phone them.
UNREACHED_STATUSES = frozenset(
    {
        MessageStatus.PERMANENT_FAILURE,
        MessageStatus.TEMPORARY_FAILURE,
        MessageStatus.TECHNICAL_FAILURE,
    }
)


class RecipientType(StrEnum):
    CONTACT = "contact"
    STAFF = "staff"
    # A household with no contact on record: a letter "to the parent or carer of …".
    HOUSEHOLD = "household"


class Message(Identified, Timestamped, SchoolScoped, table=True):
    """One message to one recipient on one channel.

    (cause_kind, cause_id, recipient_id, channel) is unique, so one event can never produce two
    messages however often it is handled. `values` holds the placeholders the wording needs,
    nothing more: secrets in it (an invitation code) are sealed (see outbox.SEALED_VALUES) and
    the body is rendered only when it is sent, so the table holds no message text.
    """

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint(
            "cause_kind", "cause_id", "recipient_id", "channel", name="uq_message_cause_recipient"
        ),
        Index("ix_message_due", "status", "send_after"),
        Index("ix_message_programme_created", "programme_id", "created_at"),
        Index("ix_message_household", "household_id"),
        Index("ix_message_notify_id", "notify_id"),
    )

    programme_id: UUID | None = Field(
        default=None, foreign_key="visit_programme.id", ondelete="CASCADE"
    )
    household_id: UUID | None = Field(default=None, foreign_key="household.id")
    kind: MessageKind = Field(sa_type=enum_type(MessageKind, 24))
    channel: MessageChannel = Field(sa_type=enum_type(MessageChannel, 8))
    # ISO 639-1 code of the language wanted; the wording falls back to English when the trust
    # has none in it (see wording.py).
    language: str = Field(default="en", max_length=8)
    recipient_type: RecipientType = Field(sa_type=enum_type(RecipientType, 10))
    recipient_id: UUID
    cause_kind: str = Field(max_length=40)
    cause_id: UUID
    values: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: MessageStatus = Field(
        default=MessageStatus.CREATED, sa_type=enum_type(MessageStatus, 20)
    )
    # Not before this instant: quiet hours and retry back-off move it later, never drop it.
    send_after: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    attempts: int = 0
    locked_by: str | None = Field(default=None, max_length=100)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last attempt could not tell whether Notify stored it: look it up before sending again.
    ambiguous: bool = False
    notify_id: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why it failed or waits, in words an office can read; never a number, address or body.
    status_reason: str | None = Field(default=None, max_length=300)


class MessageAttempt(Identified, SchoolScoped, table=True):
    """Each time a worker tried to send a message, and what came of it."""

    __tablename__ = "message_attempt"

    message_id: UUID = Field(foreign_key="message.id", index=True, ondelete="CASCADE")
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    worker: str = Field(max_length=100)
    # accepted | found_by_reference | permanent_failure | retry | ambiguous | logged
    outcome: str = Field(max_length=24)
    detail: str | None = Field(default=None, max_length=300)


class MessageTemplate(Identified, Timestamped, Versioned, TrustScoped, table=True):
    """A trust's wording of one kind of message on one channel in one language. Without one, the
    English default in wording.py is used."""

    __tablename__ = "message_template"
    __table_args__ = (
        UniqueConstraint("trust_id", "kind", "channel", "language", name="uq_message_template"),
    )

    kind: MessageKind = Field(sa_type=enum_type(MessageKind, 24))
    channel: MessageChannel = Field(sa_type=enum_type(MessageChannel, 8))
    language: str = Field(max_length=8)
    subject: str | None = Field(default=None, max_length=200)
    body: str = Field(max_length=5000)
    updated_by: UUID | None = None


class LoggedMessage(Identified, SchoolScoped, table=True):
    """What would have been sent, when messages are delivered to the log
    (THRESHOLD_MESSAGES_DELIVERY=log: development, tests, demos; refused in production). Read
    through the API so a developer or a tester sees exactly what a family would have received."""

    __tablename__ = "logged_message"

    message_id: UUID = Field(foreign_key="message.id", index=True, ondelete="CASCADE")
    logged_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    channel: MessageChannel = Field(sa_type=enum_type(MessageChannel, 8))
    to: str = Field(max_length=254)
    language: str = Field(max_length=8)
    subject: str | None = Field(default=None, max_length=200)
    body: str = Field(max_length=5000)
