from datetime import datetime
from typing import Any
from uuid import UUID

from app.core.schemas import Output


class AuditEventRead(Output):
    id: UUID
    at: datetime
    trust_id: UUID | None
    school_id: UUID | None
    actor_kind: str | None
    actor_id: UUID | None
    action: str
    subject_type: str | None
    subject_id: UUID | None
    request_id: str | None
    ip_address: str | None
    details: dict[str, Any]
