from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response

from app.core.auth import require
from app.core.concurrency import set_etag
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.principal import Principal
from app.integrations import service
from app.integrations.schemas import (
    IntegrationClientCreate,
    IntegrationClientCredentials,
    IntegrationClientRead,
)

router = APIRouter(
    prefix="/integration-clients", tags=["integrations"], route_class=IdempotentRoute
)

Manager = Annotated[Principal, require(P.INTEGRATIONS_MANAGE)]


@router.post(
    "",
    status_code=201,
    response_model=IntegrationClientCredentials,
    summary="Create a machine client for an MIS feed; its secret is shown once",
)
async def create_client(
    body: IntegrationClientCreate, session: SessionDep, who: Manager
) -> IntegrationClientCredentials:
    """The client authenticates with the `client_credentials` grant of
    `POST /api/v1/auth/token`, and reaches only `school_ids` within its `scopes`. Keep the
    secret now: it is stored as a digest and never shown again (rotate it if it is lost), not
    even to a retry with the same `Idempotency-Key`."""
    return await service.create(session, who, body)


@router.get("", summary="List integration clients")
async def list_clients(
    session: SessionDep, page: PageDep, who: Manager
) -> Page[IntegrationClientRead]:
    items, cursor = await service.list_clients(session, who, page)
    return Page(items=items, next_cursor=cursor)


@router.get("/{client_id}", summary="Get an integration client")
async def get_client(
    client_id: UUID, session: SessionDep, response: Response, who: Manager
) -> IntegrationClientRead:
    client, read = await service.get(session, who, client_id)
    set_etag(response, client)
    return read


@router.post(
    "/{client_id}/rotate-secret",
    summary="Issue a new secret; the old one stops working at once",
)
async def rotate_secret(
    client_id: UUID, session: SessionDep, who: Manager
) -> IntegrationClientCredentials:
    return await service.rotate_secret(session, who, client_id)


@router.post("/{client_id}/revoke", summary="Revoke a client; its tokens stop working at once")
async def revoke_client(
    client_id: UUID, session: SessionDep, who: Manager
) -> IntegrationClientRead:
    return await service.revoke(session, who, client_id)
