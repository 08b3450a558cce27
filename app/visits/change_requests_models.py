"""A family's change of plan: their booked visit no longer works (with the times that would), or
they cancel it; the office handles each request, oldest first."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import JSON, Index
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped, Timestamped, Versioned
from app.core.types import UTCDateTime, enum_type


class ChangeKind(StrEnum):
    NEW_TIME = "new_time"  # the time no longer works: these would
    CANCEL = "cancel"  # please cancel the visit


class RequestStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Resolution(StrEnum):
    MOVED = "moved"  # the office moved the visit (the family was sent the new time)
    CANCELLED = "cancelled"
    KEPT = "kept"  # spoken to the family: the visit stays as it is


class VisitChangeRequest(Identified, Timestamped, Versioned, SchoolScoped, table=True):
    __tablename__ = "visit_change_request"
    __table_args__ = (
        Index("ix_visit_change_request_open", "programme_id", "status", "created_at"),
    )

    programme_id: UUID = Field(foreign_key="visit_programme.id", ondelete="CASCADE")
    household_id: UUID = Field(foreign_key="household.id", index=True)
    visit_id: UUID = Field(foreign_key="visit.id", index=True, ondelete="CASCADE")
    kind: ChangeKind = Field(sa_type=enum_type(ChangeKind, 10))
    reason: str = Field(max_length=500)
    workable_times: str | None = Field(default=None, max_length=500)
    preferred_slot_ids: list[str] = Field(default_factory=list, sa_type=JSON)
    status: RequestStatus = Field(default=RequestStatus.OPEN, sa_type=enum_type(RequestStatus, 8))
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: UUID | None = None
    resolution: Resolution | None = Field(default=None, sa_type=enum_type(Resolution, 10))
    resolution_note: str | None = Field(default=None, max_length=500)
