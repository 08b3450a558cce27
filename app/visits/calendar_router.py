"""Each staff member's private calendar feed: issue or replace its secret URL, revoke it, and
the feed itself, which calendar apps fetch without a bearer token (the URL is the secret)."""

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from app.core.auth import require
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.permissions import Permission as P
from app.core.principal import Principal
from app.core.schemas import Output, ShownOnce
from app.visits import calendar

mine = APIRouter(prefix="/me", tags=["me"], route_class=IdempotentRoute)
feeds = APIRouter(prefix="/calendar-feeds", tags=["visits"], route_class=IdempotentRoute)

Staff = Annotated[Principal, require(P.VISITS_READ)]


class CalendarFeedIssued(Output):
    url: Annotated[str | None, ShownOnce()] = None
    note: str = (
        "Add this address to Outlook or Google Calendar as a calendar from the internet. It is "
        "a secret: anyone with it sees your visits. Issue a new one if it is ever shared."
    )


@mine.post(
    "/calendar-feed",
    status_code=201,
    summary="Issue your private calendar feed's address (a new one replaces the old at once)",
)
async def issue_calendar_feed(
    request: Request, session: SessionDep, who: Staff
) -> CalendarFeedIssued:
    token = await calendar.issue(session, who)
    base = str(request.base_url).rstrip("/")
    return CalendarFeedIssued(url=base + calendar.feed_path(token))


@mine.delete(
    "/calendar-feed",
    status_code=204,
    summary="Revoke your calendar feed: its address stops",
    responses={404: {"description": "You have no calendar feed"}},
)
async def revoke_calendar_feed(session: SessionDep, who: Staff) -> Response:
    await calendar.revoke(session, who)
    return Response(status_code=204)


@feeds.get(
    "/{token}.ics",
    summary="A staff member's visits as an iCalendar feed (the address is the secret)",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The feed"},
        404: {"description": "No feed has this address (replaced or revoked)"},
    },
    openapi_extra={"x-path-is-secret": True},
)
async def read_calendar_feed(
    token: Annotated[str, Path(min_length=20, max_length=100)], session: SessionDep
) -> Response:
    body = await calendar.feed(session, token)
    return Response(
        content=body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )
