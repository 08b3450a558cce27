"""A re-plan of a visit day when adults are away, as proposed and as accepted."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import JSON
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped, Timestamped
from app.core.types import UTCDateTime, enum_type


class ReplanStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"


class Replan(Identified, Timestamped, SchoolScoped, table=True):
    """A proposal to mend one visit day when adults are away: the fewest families moved, SLT's
    to accept. Families hear of it only once it is accepted."""

    __tablename__ = "replan"

    programme_id: UUID = Field(foreign_key="visit_programme.id", index=True, ondelete="CASCADE")
    day: date
    absent_staff_ids: list[str] = Field(default_factory=list, sa_type=JSON)
    status: ReplanStatus = Field(default=ReplanStatus.PROPOSED, sa_type=enum_type(ReplanStatus, 10))
    note: str | None = Field(default=None, max_length=500)
    proposed_by: UUID | None = None
    accepted_by: UUID | None = None
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    moved: int = 0
    restaffed: int = 0
    unplaced: int = 0
    # [{"visit_id", "household_id", "family", "kind", "reason", "version", "before", "after"}]
    # with before/after {"slot_id", "starts_at", "adult_ids"} (after None when unplaced).
    changes: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
