from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit.repository import AuditRepository
from app.core.audit import AuditEntry
from app.core.pagination import PageParams, SortKey, paginate
from app.core.principal import Principal


async def list_events(
    session: AsyncSession,
    who: Principal,
    page: PageParams,
    *,
    action: str | None = None,
    actor_id: UUID | None = None,
    subject_id: UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditEntry], str | None]:
    statement = AuditRepository(session, who).base_statement()
    if action is not None:
        statement = statement.where(col(AuditEntry.action) == action)
    if actor_id is not None:
        statement = statement.where(col(AuditEntry.actor_id) == actor_id)
    if subject_id is not None:
        statement = statement.where(col(AuditEntry.subject_id) == subject_id)
    if since is not None:
        statement = statement.where(col(AuditEntry.at) >= since)
    if until is not None:
        statement = statement.where(col(AuditEntry.at) < until)
    keys = [SortKey(AuditEntry.at, descending=True), SortKey(AuditEntry.id, descending=True)]
    return await paginate(session, statement, page, keys)
