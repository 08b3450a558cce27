from typing import Annotated
from uuid import UUID

from fastapi import APIRouter

from app.core.auth import require
from app.core.db import SessionDep
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.principal import STAFF_OR_CLIENT, Principal
from app.visits import service
from app.visits.schemas import VisitRead

programmes = APIRouter(prefix="/programmes", tags=["visits"])
visits = APIRouter(prefix="/visits", tags=["visits"])

Reader = Annotated[Principal, require(P.VISITS_READ, kinds=STAFF_OR_CLIENT)]


@programmes.get("/{programme_id}/visits", summary="The programme's visits, in time order")
async def list_visits(
    programme_id: UUID, session: SessionDep, page: PageDep, who: Reader
) -> Page[VisitRead]:
    items, cursor = await service.list_for_programme(session, who, programme_id, page)
    return Page(items=items, next_cursor=cursor)


@visits.get("/{visit_id}", summary="A visit: its household, children, adults, time and place")
async def get_visit(visit_id: UUID, session: SessionDep, who: Reader) -> VisitRead:
    return await service.get(session, who, visit_id)
