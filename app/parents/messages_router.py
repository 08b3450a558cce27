"""The office's side of a programme's messages: what went to whom and how it went, the families
not reached, and the letters to post."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from app.core.auth import require
from app.core.csvio import csv_download
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.principal import Principal
from app.core.types import utcnow
from app.notifications.models import MessageChannel, MessageKind, MessageStatus
from app.parents import letters, messages
from app.parents.messages_schemas import (
    LettersPosted,
    LettersPostedRead,
    OfficeMessage,
    UnreachedHousehold,
)

programmes = APIRouter(prefix="/programmes", tags=["messages"], route_class=IdempotentRoute)

Chaser = Annotated[Principal, require(P.FAMILIES_CHASE)]
Letters = Annotated[Principal, require(P.FAMILIES_CHASE, P.ROSTER_CONTACTS)]
LISTED_AT = "Letters-Listed-At"
_LISTED = {LISTED_AT: {"description": "When the list was made: `listed_at` for …/posted"}}
HTML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}, "headers": _LISTED}
}
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "headers": _LISTED}
}


@programmes.get(
    "/{programme_id}/messages",
    summary="The programme's messages, newest first: kind, channel, status and times (no text)",
)
async def list_messages(
    programme_id: UUID,
    session: SessionDep,
    page: PageDep,
    who: Chaser,
    kind: Annotated[MessageKind | None, Query()] = None,
    status: Annotated[MessageStatus | None, Query()] = None,
    channel: Annotated[MessageChannel | None, Query()] = None,
    household_id: Annotated[UUID | None, Query()] = None,
) -> Page[OfficeMessage]:
    items, cursor = await messages.list_messages(
        session,
        who,
        programme_id,
        page,
        kind=kind,
        status=status,
        channel=channel,
        household_id=household_id,
    )
    return Page(items=items, next_cursor=cursor)


@programmes.get(
    "/{programme_id}/unreached-households",
    summary="Families the programme's messages could not reach, to phone, oldest first",
)
async def unreached_households(
    programme_id: UUID, session: SessionDep, who: Chaser
) -> list[UnreachedHousehold]:
    """Households whose latest message failed (a permanent, temporary or technical failure
    reported by Notify), and those only a letter can reach that has not been posted yet. Phone
    numbers are shown to those who may see contact details."""
    return await messages.unreached(session, who, programme_id)


@programmes.get(
    "/{programme_id}/letters",
    summary="Letters to post: a printable page per household with its code (audited)",
    response_class=Response,
    responses=HTML_RESPONSE,
)
async def print_letters(programme_id: UUID, session: SessionDep, who: Letters) -> Response:
    """HTML, one page per household (print it from the browser). Each letter carries the
    family's invitation code: listing them is recorded for every household, as reading one
    code is."""
    listed_at = utcnow()
    _, school_name, found = await letters.letters(
        session, who, programme_id, action="invitation.letter_printed"
    )
    return Response(
        letters.as_html(school_name, found, listed_at),
        media_type="text/html; charset=utf-8",
        headers={LISTED_AT: listed_at.isoformat(), "Cache-Control": "no-store"},
    )


@programmes.get(
    "/{programme_id}/letters.csv",
    summary="Letters to post, as CSV for a mail merge (audited)",
    response_class=Response,
    responses=CSV_RESPONSE,
)
async def letters_csv(programme_id: UUID, session: SessionDep, who: Letters) -> Response:
    """Columns: household_reference, addressee, address_line1, address_line2, town, postcode,
    code, link, language, message_id."""
    listed_at = utcnow()
    _, _, found = await letters.letters(
        session, who, programme_id, action="invitation.letter_exported"
    )
    return csv_download(
        letters.as_csv(found), "letters.csv", headers={LISTED_AT: listed_at.isoformat()}
    )


@programmes.post(
    "/{programme_id}/letters/posted",
    summary="Mark letters posted: they leave the list and read as sent",
)
async def letters_posted(
    programme_id: UUID, body: LettersPosted, session: SessionDep, who: Letters
) -> LettersPostedRead:
    return await letters.mark_posted(session, who, programme_id, body)
