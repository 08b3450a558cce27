from typing import Any

from sqlalchemy import Select
from sqlmodel import select

from app.core.audit import AuditEntry
from app.core.repository import ScopedRepository


class AuditRepository(ScopedRepository[AuditEntry]):
    """The trust floor limits entries to the caller's trust; operators see platform events too."""

    model, label = AuditEntry, "audit event"

    def base_statement(self) -> Select[Any]:
        return select(AuditEntry)
