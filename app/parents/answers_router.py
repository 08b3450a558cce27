from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from app.core.auth import require
from app.core.concurrency import set_etag
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.principal import Principal
from app.parents import answers_service as service
from app.parents.answers_schemas import (
    AnswerRead,
    AnswerWrite,
    ChaseEntry,
    ChaseOrder,
    DemandRead,
    ProgressRead,
)

programmes = APIRouter(prefix="/programmes", tags=["availability"], route_class=IdempotentRoute)

Reader = Annotated[Principal, require(P.PROGRAMMES_READ)]
Chaser = Annotated[Principal, require(P.FAMILIES_CHASE)]
ChaserWithContacts = Annotated[Principal, require(P.FAMILIES_CHASE, P.ROSTER_CONTACTS)]


@programmes.get(
    "/{programme_id}/progress",
    summary="Households in scope, answered, declined, exempt, at a neutral venue and not yet "
    "answered, for the programme and each class",
)
async def progress(programme_id: UUID, session: SessionDep, who: Reader) -> ProgressRead:
    return await service.progress_of(session, who, programme_id)


@programmes.get(
    "/{programme_id}/demand",
    summary="First-preference demand per slot (a heat map in data form), to see crowded times",
)
async def demand(programme_id: UUID, session: SessionDep, who: Reader) -> DemandRead:
    return await service.demand_of(session, who, programme_id)


@programmes.get(
    "/{programme_id}/chase-list",
    summary="Households in scope with no answer yet, with contacts and invitation status",
)
async def chase_list(
    programme_id: UUID,
    session: SessionDep,
    page: PageDep,
    who: ChaserWithContacts,
    order: Annotated[ChaseOrder, Query(description=ChaseOrder.__doc__)] = ChaseOrder.HOUSEHOLD,
) -> Page[ChaseEntry]:
    items, cursor = await service.chase_list(session, who, programme_id, page, order)
    return Page(items=items, next_cursor=cursor)


@programmes.get(
    "/{programme_id}/households/{household_id}/answer",
    summary="A household's answer, as the family or the office gave it",
)
async def read_answer(
    programme_id: UUID, household_id: UUID, session: SessionDep, response: Response, who: Chaser
) -> AnswerRead:
    answer = await service.read_answer(session, who, programme_id, household_id)
    set_etag(response, answer, identity=household_id)
    return answer


@programmes.put(
    "/{programme_id}/households/{household_id}/answer",
    summary="Enter a household's answer on the family's behalf (recorded as entered by staff)",
)
async def enter_answer(
    programme_id: UUID,
    household_id: UUID,
    body: AnswerWrite,
    session: SessionDep,
    response: Response,
    who: Chaser,
) -> AnswerRead:
    answer = await service.enter_answer(session, who, programme_id, household_id, body)
    set_etag(response, answer, identity=household_id)
    return answer
