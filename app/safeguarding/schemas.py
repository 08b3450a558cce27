"""Concerns as raised, as their raiser reads them back, and as the DSLs read them."""

from datetime import date, datetime
from typing import Self
from uuid import UUID

from pydantic import model_validator
from sqlmodel import Field

from app.core.schemas import Input, Output
from app.core.types import IsoDateTime
from app.safeguarding.models import (
    ACCOUNT_MAX,
    TEXT_MAX,
    ChronologyAction,
    ChronologyDecision,
    ChronologyEntryKind,
    ConcernCategory,
    ConcernPupilRole,
    ConcernStatus,
    ConcernUrgency,
)

PUPILS_MAX = 20


class ConcernPupilWrite(Input):
    pupil_id: UUID
    role: ConcernPupilRole = Field(
        description="The pupil's part: the subject, a sibling, or other."
    )


class ConcernRaise(Input):
    """A worry about a child's safety, in your own words. The school's DSLs are told at once
    that a concern awaits; nobody else can read it."""

    pupils: list[ConcernPupilWrite] = Field(default_factory=list, max_length=PUPILS_MAX)
    household_id: UUID | None = Field(default=None, description="The household it is about.")
    visit_id: UUID | None = Field(default=None, description="The visit it arose on, if any.")
    category: ConcernCategory
    urgency: ConcernUrgency
    account: str = Field(
        min_length=1, max_length=ACCOUNT_MAX, description="What you saw or heard, as it was."
    )
    occurred_at: IsoDateTime = Field(description="When it happened.")
    place: str | None = Field(default=None, max_length=300, description="Where it happened.")
    said: str | None = Field(
        default=None, max_length=TEXT_MAX, description="What was said, and by whom."
    )
    action_taken: str | None = Field(
        default=None, max_length=TEXT_MAX, description="What you already did (999 called…)."
    )

    @model_validator(mode="after")
    def _names_someone(self) -> Self:
        if not self.pupils and self.household_id is None and self.visit_id is None:
            raise ValueError("name at least one pupil, or the household, or the visit")
        pupil_ids = [p.pupil_id for p in self.pupils]
        if len(set(pupil_ids)) != len(pupil_ids):
            raise ValueError("each pupil is named once")
        return self


class ConcernPupilRead(Output):
    pupil_id: UUID
    role: ConcernPupilRole


class _Account(Output):
    id: UUID
    school_id: UUID
    raised_by: UUID
    raised_at: datetime
    visit_id: UUID | None
    household_id: UUID | None
    category: ConcernCategory
    urgency: ConcernUrgency
    account: str
    occurred_at: datetime
    place: str | None
    said: str | None
    action_taken: str | None
    pupils: list[ConcernPupilRead]
    status: ConcernStatus
    acknowledged_at: datetime | None


class ConcernReceipt(_Account):
    """What the raiser reads: what they raised, where it stands and when a DSL first read it;
    nothing the DSLs added after."""

    first_read_at: datetime | None = Field(
        description="When a DSL first opened it (null while nobody has)."
    )


class ConcernRead(_Account):
    acknowledged_by: UUID | None
    closed_at: datetime | None
    signed_off_at: datetime | None = Field(
        description="When a second DSL signed off its closing (null if nobody has)."
    )
    signed_off_by: UUID | None


class ConcernSummary(Output):
    id: UUID
    school_id: UUID
    raised_at: datetime
    category: ConcernCategory
    urgency: ConcernUrgency
    status: ConcernStatus


class ChronologyEntryWrite(Input):
    """One chronology entry. `status`: the concern moves on (acknowledged, action_taken, closed,
    reopened); `sign_off`: a second DSL signs off the closing (optional); `note`: text; `decision`: a decision and why (text required, "no referral"
    included); `action`: what was done (referral, early help, police, monitor); `contact`: a
    contact with an agency. A correction names the entry it corrects in `corrects_id`."""

    kind: ChronologyEntryKind
    status: ConcernStatus | None = None
    decision: ChronologyDecision | None = None
    action: ChronologyAction | None = None
    agency: str | None = Field(default=None, min_length=1, max_length=200)
    text: str | None = Field(default=None, min_length=1, max_length=TEXT_MAX)
    corrects_id: UUID | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        needs = {
            ChronologyEntryKind.STATUS: ("status",),
            ChronologyEntryKind.NOTE: ("text",),
            ChronologyEntryKind.DECISION: ("decision", "text"),
            ChronologyEntryKind.ACTION: ("action",),
            ChronologyEntryKind.CONTACT: ("agency", "text"),
            ChronologyEntryKind.SIGN_OFF: (),
        }[self.kind]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.kind} entry needs {' and '.join(missing)}")
        allowed = {*needs, "text", "corrects_id"}
        stray = [
            name
            for name in ("status", "decision", "action", "agency")
            if getattr(self, name) is not None and name not in allowed
        ]
        if stray:
            raise ValueError(f"a {self.kind} entry takes no {', '.join(stray)}")
        if self.kind is ChronologyEntryKind.STATUS and self.status is ConcernStatus.RAISED:
            raise ValueError("a concern is raised once, by raising it")
        if (
            self.kind in {ChronologyEntryKind.STATUS, ChronologyEntryKind.SIGN_OFF}
            and self.corrects_id is not None
        ):
            raise ValueError(f"a {self.kind} is not corrected: move the concern on instead")
        return self


class ChronologyEntryRead(Output):
    id: UUID
    concern_id: UUID
    at: datetime
    by: UUID
    kind: ChronologyEntryKind
    status: ConcernStatus | None
    decision: ChronologyDecision | None
    action: ChronologyAction | None
    agency: str | None
    text: str | None
    corrects_id: UUID | None


class ConcernReaderRead(Output):
    """One read of a concern's file: who, when, and what they opened."""

    actor_id: UUID | None
    actor_kind: str | None
    at: datetime
    part: str


class ConcernCount(Output):
    """How many concerns a programme's school raised between its first and last visit days."""

    programme_id: UUID
    school_id: UUID
    academic_year: str
    first_day: date | None
    last_day: date | None
    concerns: int | None = Field(
        description="Null when fewer than THRESHOLD_SAFEGUARDING_COUNTS_SUPPRESSED_BELOW "
        "(a small number could point at a family)."
    )


class ConcernExport(ConcernRead):
    """A concern as released into a subject access export: as raised, where it stands, and its
    chronology, oldest first."""

    chronology: list[ChronologyEntryRead]
