from typing import Annotated
from uuid import UUID

from fastapi import APIRouter

from app.core.auth import require
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.principal import Principal
from app.scheduling import service
from app.scheduling.schemas import ScheduleRunCreate, ScheduleRunRead

programmes = APIRouter(prefix="/programmes", tags=["scheduling"], route_class=IdempotentRoute)
runs = APIRouter(prefix="/schedule-runs", tags=["scheduling"], route_class=IdempotentRoute)


@programmes.post(
    "/{programme_id}/schedule-runs",
    status_code=202,
    summary="Plan every visit: a background run proposes visits (202; follow the run)",
)
async def start_run(
    programme_id: UUID,
    session: SessionDep,
    who: Annotated[Principal, require(P.PROGRAMMES_MANAGE)],
    body: ScheduleRunCreate | None = None,
) -> ScheduleRunRead:
    """Only while the programme is `scheduling`, and one run at a time. A worker solves it in
    the background: poll `GET /api/v1/schedule-runs/{run_id}` until it has finished, then read
    the proposed visits. Visits locked by hand stay where they are."""
    return await service.start_run(session, who, programme_id, body or ScheduleRunCreate())


@programmes.get(
    "/{programme_id}/schedule-runs",
    summary="The programme's schedule runs, the newest first",
)
async def list_runs(
    programme_id: UUID,
    session: SessionDep,
    page: PageDep,
    who: Annotated[Principal, require(P.PROGRAMMES_READ)],
) -> Page[ScheduleRunRead]:
    items, cursor = await service.list_runs(session, who, programme_id, page)
    return Page(items=items, next_cursor=cursor)


@runs.get(
    "/{run_id}",
    summary="A schedule run: status, elapsed time, objective, proven bound and gap, and why "
    "any household could not be placed",
)
async def get_run(
    run_id: UUID, session: SessionDep, who: Annotated[Principal, require(P.PROGRAMMES_READ)]
) -> ScheduleRunRead:
    return await service.get_run(session, who, run_id)
