from typing import Any

from sqlalchemy import Select
from sqlmodel import col, select

from app.core.audit import NEED_TO_KNOW_ACTIONS, AuditEntry
from app.core.repository import ScopedRepository


class AuditRepository(ScopedRepository[AuditEntry]):
    """The trust floor limits entries to the caller's trust; operators see platform events too.
    Safeguarding's entries are not among them: who raised or read a concern is need-to-know."""

    model, label = AuditEntry, "audit event"

    def base_statement(self) -> Select[Any]:
        return select(AuditEntry).where(col(AuditEntry.action).not_like(f"{NEED_TO_KNOW_ACTIONS}%"))
