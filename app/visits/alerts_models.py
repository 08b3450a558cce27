"""A safety alert: two adults in a family's home who have not checked in, or not out, in time."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped
from app.core.types import UTCDateTime, enum_type, utcnow


class OverdueKind(StrEnum):
    NO_CHECK_IN = "no_check_in"  # nobody checked in after the planned start
    NO_CHECK_OUT = "no_check_out"  # still checked in after the planned end


class VisitAlert(Identified, SchoolScoped, table=True):
    __tablename__ = "visit_alert"
    __table_args__ = (UniqueConstraint("visit_id", "kind"),)

    visit_id: UUID = Field(foreign_key="visit.id", index=True, ondelete="CASCADE")
    programme_id: UUID = Field(foreign_key="visit_programme.id", index=True, ondelete="CASCADE")
    kind: OverdueKind = Field(sa_type=enum_type(OverdueKind, 12))
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # How far up the school's chain it has gone: 0 is the first person told.
    level: int = 0
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: UUID | None = None
    # The adults checked in (or out) after all: no one else is told.
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
