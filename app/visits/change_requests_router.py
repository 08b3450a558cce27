"""Families' changes of plan: the family's side in the portal, the office's list and answer."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from app.core.auth import require
from app.core.concurrency import IfMatch, set_etag
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.principal import Principal, PrincipalKind
from app.visits import change_requests
from app.visits.change_requests_models import RequestStatus
from app.visits.change_requests_schemas import (
    ChangeRequestClose,
    ChangeRequestCreate,
    ChangeRequestForOffice,
    ChangeRequestRead,
    PortalVisit,
)

family = APIRouter(prefix="/parent/programmes", tags=["parents"], route_class=IdempotentRoute)
office = APIRouter(prefix="/programmes", tags=["visits"], route_class=IdempotentRoute)
requests = APIRouter(prefix="/change-requests", tags=["visits"], route_class=IdempotentRoute)

Parent = Annotated[Principal, require(P.PARENT_PORTAL, kinds=frozenset({PrincipalKind.PARENT}))]
Arranger = Annotated[Principal, require(P.VISITS_ARRANGE)]


@family.get(
    "/{programme_id}/households/{household_id}/visit",
    summary="The family's booked visit: day, time, place and who is coming (first names)",
    responses={404: {"description": "No visit has been arranged and sent to the family yet"}},
)
async def read_family_visit(
    programme_id: UUID, household_id: UUID, session: SessionDep, who: Parent
) -> PortalVisit:
    return await change_requests.family_visit(session, who, programme_id, household_id)


@family.post(
    "/{programme_id}/households/{household_id}/visit/change-requests",
    status_code=201,
    summary="Say the visit no longer works (and which times would), or ask to cancel it",
    responses={409: {"description": "The family has asked already, or the visit has begun"}},
)
async def ask_for_a_change(
    programme_id: UUID,
    household_id: UUID,
    body: ChangeRequestCreate,
    session: SessionDep,
    who: Parent,
) -> ChangeRequestRead:
    return await change_requests.ask(session, who, programme_id, household_id, body)


@office.get(
    "/{programme_id}/change-requests",
    summary="Families' change requests, oldest first (open ones by default)",
)
async def list_change_requests(
    programme_id: UUID,
    session: SessionDep,
    page: PageDep,
    who: Arranger,
    status: Annotated[RequestStatus | None, Query()] = RequestStatus.OPEN,
) -> Page[ChangeRequestForOffice]:
    items, cursor = await change_requests.list_for_office(session, who, programme_id, status, page)
    return Page(items=items, next_cursor=cursor)


@requests.post(
    "/{request_id}/close",
    summary="Close a family's request, saying what was done: moved, cancelled or kept",
)
async def close_change_request(
    request_id: UUID,
    body: ChangeRequestClose,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Arranger,
) -> ChangeRequestRead:
    """Move the visit first (PATCH /visits/{id}: the family is sent the new time), then close
    the request; If-Match is optional."""
    closed = await change_requests.close(session, who, request_id, body, if_match)
    set_etag(response, closed)
    return closed
