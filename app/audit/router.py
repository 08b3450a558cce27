from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from app.audit import service
from app.audit.schemas import AuditEventRead
from app.core.auth import require
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.principal import Principal
from app.core.types import IsoDateTime

router = APIRouter(prefix="/audit-events", tags=["audit"], route_class=IdempotentRoute)


@router.get("", summary="List your trust's audit events, newest first")
async def list_audit_events(
    session: SessionDep,
    page: PageDep,
    who: Annotated[Principal, require(P.AUDIT_READ)],
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: Annotated[UUID | None, Query()] = None,
    subject_id: Annotated[UUID | None, Query()] = None,
    since: Annotated[
        IsoDateTime | None, Query(description="Inclusive, ISO 8601 with offset")
    ] = None,
    until: Annotated[
        IsoDateTime | None, Query(description="Exclusive, ISO 8601 with offset")
    ] = None,
) -> Page[AuditEventRead]:
    rows, cursor = await service.list_events(
        session,
        who,
        page,
        action=action,
        actor_id=actor_id,
        subject_id=subject_id,
        since=since,
        until=until,
    )
    return Page(items=[AuditEventRead.model_validate(r) for r in rows], next_cursor=cursor)
