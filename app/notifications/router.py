"""Notify's delivery receipts, and the log of what would have been sent."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Response

from app.core.auth import require
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute, idempotency
from app.core.pagination import Page, PageDep
from app.core.principal import Principal
from app.notifications import message_log, receipts
from app.notifications.schemas import DeliveryReceipt, LoggedMessageRead

notify = APIRouter(prefix="/notify", tags=["messages"], route_class=IdempotentRoute)
messages = APIRouter(prefix="/messages", tags=["messages"], route_class=IdempotentRoute)


async def _from_notify(
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    """Checked before the body is read: a caller without the token learns nothing from it."""
    receipts.authenticate(authorization)


@notify.post(
    "/delivery-receipts",
    status_code=204,
    summary="Notify's delivery receipt for one message (Notify's callback; its bearer token)",
    responses={401: {"description": "The callback token is missing or wrong, or none is set"}},
)
@idempotency(False, why="Notify sends no key; a repeated receipt changes nothing by itself")
async def delivery_receipt(
    body: DeliveryReceipt, session: SessionDep, _: Annotated[None, Depends(_from_notify)]
) -> Response:
    """Authenticated by `Authorization: Bearer <THRESHOLD_NOTIFY_CALLBACK_TOKEN>`, the token
    set in Notify's callback settings. A message's status only moves on (a final one stays);
    a receipt for a message Threshold does not know is answered 204 too, so that Notify does
    not retry it."""
    await receipts.apply(session, body)
    return Response(status_code=204)


@messages.get(
    "/log",
    summary="What would have been sent (the log delivery mode), newest first; not in production",
    responses={404: {"description": "In production, where messages go through Notify"}},
)
async def read_log(
    session: SessionDep,
    page: PageDep,
    who: Annotated[Principal, require(message_log.READ_LOG)],
    programme_id: Annotated[UUID | None, Query()] = None,
    household_id: Annotated[UUID | None, Query()] = None,
    message_id: Annotated[UUID | None, Query()] = None,
) -> Page[LoggedMessageRead]:
    rows, cursor = await message_log.page(
        session,
        who,
        page,
        programme_id=programme_id,
        household_id=household_id,
        message_id=message_id,
    )
    return Page(items=[LoggedMessageRead.model_validate(r) for r in rows], next_cursor=cursor)
