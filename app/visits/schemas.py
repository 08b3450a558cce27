from datetime import datetime
from uuid import UUID

from pydantic import Field

from app.core.schemas import Output
from app.visits.models import VisitLocation, VisitRole, VisitStatus


class VisitAdultRead(Output):
    staff_id: UUID
    role: VisitRole


class VisitRead(Output):
    id: UUID
    programme_id: UUID
    household_id: UUID
    pupil_ids: list[UUID] = Field(description="The children in scope; siblings share a visit.")
    slot_id: UUID
    starts_at: datetime
    ends_at: datetime
    local_start: str = Field(description="Europe/London, HH:MM")
    location: VisitLocation
    status: VisitStatus
    locked: bool
    adults: list[VisitAdultRead]
    version: int
