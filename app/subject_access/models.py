"""A subject access request, and the DSL's release of safeguarding records into its export.

The export leaves the pupil's child protection records out unless a DSL releases them for this
request (KCSIE: those records are shared on a need-to-know basis, and disclosure can put a child
at risk, an exemption the DSL weighs). The release is recorded on the request, who, when and why,
once: it is never withdrawn or changed in place."""

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from sqlmodel import Field

from app.core.models import Identified, SchoolScoped, Timestamped, Versioned
from app.core.types import UTCDateTime, enum_type

REASON_MAX = 2000


class Requester(StrEnum):
    PARENT = "parent"  # or carer with parental responsibility
    PUPIL = "pupil"
    REPRESENTATIVE = "representative"  # acting for either, with their authority


class SubjectAccessRequest(Identified, Timestamped, Versioned, SchoolScoped, table=True):
    __tablename__ = "subject_access_request"

    pupil_id: UUID = Field(foreign_key="pupil.id", index=True)
    requester: Requester = Field(sa_type=enum_type(Requester, 14))
    requester_name: str = Field(max_length=200)
    received_date: date  # the statutory month runs from here
    recorded_by: UUID = Field(foreign_key="staff_member.id")
    safeguarding_released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    safeguarding_released_by: UUID | None = Field(default=None, foreign_key="staff_member.id")
    safeguarding_release_reason: str | None = Field(default=None, max_length=REASON_MAX)
