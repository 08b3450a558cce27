"""A subject access request as recorded, and the pupil's data as exported for it."""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlmodel import Field

from app.core.schemas import Input, Output
from app.roster.models import SendStatus, Sex
from app.safeguarding.schemas import ConcernExport
from app.subject_access.models import REASON_MAX, Requester
from app.visits.models import VisitLocation, VisitOutcome, VisitStatus


class SubjectAccessRequestCreate(Input):
    """Who asked for the pupil's data, and when the school received the request."""

    requester: Requester
    requester_name: str = Field(min_length=1, max_length=200)
    received_date: date = Field(description="When the school received the request.")


class SafeguardingRelease(Input):
    """A DSL's decision to include the pupil's safeguarding records in this export, and why."""

    reason: str = Field(min_length=1, max_length=REASON_MAX)


class SubjectAccessRequestRead(Output):
    id: UUID
    school_id: UUID
    pupil_id: UUID
    requester: Requester
    requester_name: str
    received_date: date
    recorded_by: UUID
    created_at: datetime
    safeguarding_released_at: datetime | None = Field(
        description="When a DSL released the safeguarding records into the export; null: they "
        "are left out."
    )
    safeguarding_released_by: UUID | None
    safeguarding_release_reason: str | None
    version: int


class ExportedPupil(Output):
    id: UUID
    mis_id: str
    upn: str | None
    legal_first_name: str
    legal_last_name: str
    preferred_first_name: str | None
    preferred_last_name: str | None
    date_of_birth: date
    sex: Sex | None
    class_id: UUID | None
    household_id: UUID | None
    on_roll: bool
    left_on: date | None
    free_school_meals: bool
    pupil_premium: bool
    send: SendStatus
    eal: bool
    home_language: str | None
    looked_after: bool
    created_at: datetime
    updated_at: datetime


class ExportedContact(Output):
    id: UUID
    name: str
    relationship: str | None
    priority: int
    parental_responsibility: bool
    mobile: str | None
    landline: str | None
    email: str | None
    preferred_language: str | None
    interpreter_needed: bool
    sms_consent: bool


class ExportedHousehold(Output):
    id: UUID
    address_line1: str | None
    address_line2: str | None
    town: str | None
    postcode: str | None
    contacts: list[ExportedContact]


class ExportedVisit(Output):
    id: UUID
    programme_id: UUID
    starts_at: datetime
    ends_at: datetime
    location: VisitLocation
    status: VisitStatus
    pupil_outcome: VisitOutcome | None = Field(
        description="The pupil's own outcome where it differs from the visit's status."
    )
    arrived_at: datetime | None
    departed_at: datetime | None
    outcome_at: datetime | None
    outcome_reason: str | None
    closed_at: datetime | None
    closed_reason: str | None


class ExportedVisitNote(Output):
    id: UUID
    visit_id: UUID
    author_id: UUID
    enjoys: str | None
    learns_well_with: str | None
    focus_areas: str | None
    family_questions: str | None
    follow_ups: str | None
    interpreter_used: bool
    interpreter_language: str | None
    created_at: datetime
    updated_at: datetime


class ExportedAnswer(Output):
    """The household's answer through the parent portal (or given to the office)."""

    id: UUID
    programme_id: UUID
    kind: str
    preferred_slot_ids: list[str]
    unavailable: list[dict[str, Any]]
    interpreter_language: str | None
    accessibility: str | None
    notes_for_visitors: str | None
    neutral_venue_requested: bool
    neutral_venue_reason: str | None
    decline_reason: str | None
    answered_by: str
    submitted_at: datetime


class SubjectAccessExport(Output):
    """Everything the school holds about the pupil in Threshold, for the request."""

    request: SubjectAccessRequestRead
    exported_at: datetime
    pupil: ExportedPupil
    class_name: str | None
    household: ExportedHousehold | None
    visits: list[ExportedVisit]
    visit_notes: list[ExportedVisitNote]
    portal_answers: list[ExportedAnswer]
    safeguarding_released: bool = Field(
        description="False: the pupil's safeguarding records, if any, are left out."
    )
    concerns: list[ConcernExport] = Field(
        description="Only when a DSL released them for this request: the concerns naming the "
        "pupil, each with its chronology. Empty otherwise, whether or not there are any."
    )
