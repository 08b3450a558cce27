"""A concern, the pupils it is about, and its chronology: every row is written once and never
changed or deleted (KCSIE: a child protection record is a chronology; a correction is a new
entry). On PostgreSQL a trigger refuses UPDATE and DELETE on these tables (see the migration
2026_12_04_safeguarding); the status of a concern is read from its entries, not kept in place."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped
from app.core.types import UTCDateTime, enum_type, utcnow

ACCOUNT_MAX = 10000
TEXT_MAX = 5000


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
