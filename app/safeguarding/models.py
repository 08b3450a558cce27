"""A concern, the pupils it is about, and its chronology: every row is written once and never
changed or deleted (KCSIE: a child protection record is a chronology; a correction is a new
entry). On PostgreSQL a trigger refuses UPDATE and DELETE on these tables (see the migration
2026_12_04_safeguarding); the status of a concern is read from its entries, not kept in place."""

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped
from app.core.types import UTCDateTime, enum_type, utcnow

ACCOUNT_MAX = 10000
TEXT_MAX = 5000
HOLD_REASON_MAX = 1000


class ConcernCategory(StrEnum):
    PHYSICAL = "physical"
    EMOTIONAL = "emotional"
    SEXUAL_ABUSE = "sexual_abuse"
    NEGLECT = "neglect"
    DOMESTIC_ABUSE = "domestic_abuse"
    EXPLOITATION = "exploitation"
    ONLINE = "online"
    OTHER = "other"


class ConcernUrgency(StrEnum):
    IMMEDIATE_DANGER = "immediate_danger"
    URGENT = "urgent"
    ROUTINE = "routine"


# A concern of these urgencies escalates until a DSL acknowledges it.
ESCALATING = frozenset({ConcernUrgency.IMMEDIATE_DANGER, ConcernUrgency.URGENT})


class ConcernPupilRole(StrEnum):
    SUBJECT = "subject"  # the child the concern is about
    SIBLING = "sibling"
    OTHER = "other"


class ConcernStatus(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    ACTION_TAKEN = "action_taken"
    CLOSED = "closed"
    REOPENED = "reopened"


class ChronologyEntryKind(StrEnum):
    STATUS = "status"  # the concern moved on: acknowledged, action taken, closed, reopened
    NOTE = "note"
    DECISION = "decision"  # with its reason, "no referral" included
    ACTION = "action"
    CONTACT = "contact"  # a contact with an agency
    # A second DSL's sign-off on closing (optional): not the DSL who closed it.
    SIGN_OFF = "sign_off"


class ChronologyDecision(StrEnum):
    NO_FURTHER_ACTION = "no_further_action"
    NO_REFERRAL = "no_referral"
    REFERRAL = "referral"
    EARLY_HELP = "early_help"
    MONITOR = "monitor"
    OTHER = "other"


class ChronologyAction(StrEnum):
    REFERRAL_CHILDRENS_SOCIAL_CARE = "referral_childrens_social_care"
    REFERRAL_MASH = "referral_mash"
    EARLY_HELP = "early_help"
    POLICE = "police"
    MONITOR = "monitor"
    OTHER = "other"


class Concern(Identified, SchoolScoped, table=True):
    """A concern as its raiser gave it, in their own words. Never changed after it is written."""

    __tablename__ = "concern"
    __table_args__ = (Index("ix_concern_school_raised", "school_id", "raised_at"),)

    raised_by: UUID = Field(foreign_key="staff_member.id", index=True)
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    visit_id: UUID | None = Field(default=None, foreign_key="visit.id", index=True)
    # No foreign key: a household merged into another is deleted, and this record must outlive
    # that as it was written.
    household_id: UUID | None = None
    category: ConcernCategory = Field(sa_type=enum_type(ConcernCategory, 20))
    urgency: ConcernUrgency = Field(sa_type=enum_type(ConcernUrgency, 20))
    account: str = Field(max_length=ACCOUNT_MAX)  # what was seen or heard
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    place: str | None = Field(default=None, max_length=300)
    said: str | None = Field(default=None, max_length=TEXT_MAX)  # what was said, and by whom
    action_taken: str | None = Field(default=None, max_length=TEXT_MAX)  # e.g. 999 called


class ConcernPupil(Identified, SchoolScoped, table=True):
    """A pupil a concern names, with their part in it."""

    __tablename__ = "concern_pupil"
    __table_args__ = (UniqueConstraint("concern_id", "pupil_id"),)

    concern_id: UUID = Field(foreign_key="concern.id", index=True)
    pupil_id: UUID = Field(foreign_key="pupil.id", index=True)
    role: ConcernPupilRole = Field(sa_type=enum_type(ConcernPupilRole, 10))


class ChronologyEntry(Identified, SchoolScoped, table=True):
    """One timed, attributed entry of a concern's chronology."""

    __tablename__ = "chronology_entry"
    __table_args__ = (Index("ix_chronology_entry_concern_at", "concern_id", "at"),)

    concern_id: UUID = Field(foreign_key="concern.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    by: UUID = Field(foreign_key="staff_member.id")
    kind: ChronologyEntryKind = Field(sa_type=enum_type(ChronologyEntryKind, 10))
    status: ConcernStatus | None = Field(default=None, sa_type=enum_type(ConcernStatus, 20))
    decision: ChronologyDecision | None = Field(
        default=None, sa_type=enum_type(ChronologyDecision, 20)
    )
    action: ChronologyAction | None = Field(default=None, sa_type=enum_type(ChronologyAction, 40))
    agency: str | None = Field(default=None, max_length=200)
    text: str | None = Field(default=None, max_length=TEXT_MAX)
    # A correction points at the entry it corrects; the corrected entry stays as it was.
    corrects_id: UUID | None = Field(default=None, foreign_key="chronology_entry.id")


class ProtectionFile(Identified, SchoolScoped, table=True):
    """The state a pupil's child protection file carries beyond its concerns: the legal hold.
    Written the first time a DSL sets or lifts a hold (a pupil with concerns and no row has a
    file that is not on hold). Its review date is not kept: it follows the pupil's date of birth
    and the trust's `safeguarding_review_years`, whichever they are when it is read."""

    __tablename__ = "protection_file"

    pupil_id: UUID = Field(foreign_key="pupil.id", unique=True)
    on_hold: bool = False
    hold_reason: str | None = Field(default=None, max_length=HOLD_REASON_MAX)
    hold_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    hold_changed_by: UUID | None = Field(default=None, foreign_key="staff_member.id")


class TransferRoute(StrEnum):
    """How the file went (KCSIE: securely, separately from the pupil's main record)."""

    SECURE_ELECTRONIC = "secure_electronic"  # CPOMS or MyConcern school-to-school transfer
    SECURE_EMAIL = "secure_email"
    HAND_DELIVERY = "hand_delivery"
    RECORDED_POST = "recorded_post"


class ProtectionFileTransfer(Identified, SchoolScoped, table=True):
    """A pupil's file sent to the school they moved to (`school_id` is the sending school).
    Within the trust `to_school_id` names the receiving school, whose DSLs give a receipt;
    to an outside school the sending DSL records the receiving school's confirmation."""

    __tablename__ = "protection_file_transfer"
    __table_args__ = (
        Index("ix_protection_file_transfer_to_school", "to_school_id"),
        Index("ix_protection_file_transfer_open", "received_at", "confirmed_date"),
    )

    pupil_id: UUID = Field(foreign_key="pupil.id", index=True)
    sent_date: date
    sent_by: UUID = Field(foreign_key="staff_member.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    route: TransferRoute = Field(sa_type=enum_type(TransferRoute, 20))
    to_school_id: UUID | None = Field(default=None, foreign_key="school.id")
    to_school_name: str | None = Field(default=None, max_length=200)
    to_school_urn: str | None = Field(default=None, max_length=6)
    # The same child on the receiving school's roll, matched by UPN (null until they are).
    to_pupil_id: UUID | None = Field(default=None, foreign_key="pupil.id", index=True)
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_by: UUID | None = Field(default=None, foreign_key="staff_member.id")
    confirmed_date: date | None = None
    confirmed_by_name: str | None = Field(default=None, max_length=200)
    confirmation_recorded_by: UUID | None = Field(default=None, foreign_key="staff_member.id")


class TransferredConcern(Identified, SchoolScoped, table=True):
    """A concern a transfer carried: the file as it was sent. Once the receiving school's DSLs
    give their receipt, need-to-know widens to them for exactly these concerns."""

    __tablename__ = "transferred_concern"
    __table_args__ = (UniqueConstraint("transfer_id", "concern_id"),)

    transfer_id: UUID = Field(foreign_key="protection_file_transfer.id", index=True)
    concern_id: UUID = Field(foreign_key="concern.id", index=True)
