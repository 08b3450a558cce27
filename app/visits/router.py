from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from app.core.auth import require
from app.core.concurrency import IfMatch, set_etag
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.principal import STAFF_OR_CLIENT, Principal
from app.core.types import IsoDate
from app.visits import (
    alerts,
    board,
    changes,
    checks,
    itineraries,
    outcomes,
    placing,
    progress,
    service,
)
from app.visits.schemas import (
    BoardRead,
    Itinerary,
    VisitAlertRead,
    VisitChangeRead,
    VisitChangeRequest,
    VisitClose,
    VisitOutcomeWrite,
    VisitPlace,
    VisitProgressRead,
    VisitRead,
    VisitSwap,
)

programmes = APIRouter(prefix="/programmes", tags=["visits"], route_class=IdempotentRoute)
visits = APIRouter(prefix="/visits", tags=["visits"], route_class=IdempotentRoute)

Reader = Annotated[Principal, require(P.VISITS_READ, kinds=STAFF_OR_CLIENT)]
# Changing planned visits: SLT, and the office, who take the families' calls.
Planner = Annotated[Principal, require(P.VISITS_ARRANGE)]
# Who records a visit's outcome is decided on the visit: its adults, or the school's SLT.
InTheField = Annotated[Principal, require(P.VISITS_READ)]
FollowUp = Annotated[Principal, require(P.VISITS_FOLLOW_UP)]


@programmes.get("/{programme_id}/visits", summary="The programme's visits, in time order")
async def list_visits(
    programme_id: UUID, session: SessionDep, page: PageDep, who: Reader
) -> Page[VisitRead]:
    items, cursor = await service.list_for_programme(session, who, programme_id, page)
    return Page(items=items, next_cursor=cursor)


@programmes.get(
    "/{programme_id}/visit-progress",
    summary="Children visited, not reached, declined, called off and still to visit, for the "
    "programme and each class",
)
async def get_visit_progress(
    programme_id: UUID,
    session: SessionDep,
    who: Annotated[Principal, require(P.PROGRAMMES_READ)],
) -> VisitProgressRead:
    """Each child counts by their own outcome (a joined sibling's where it differs from the
    visit's), once in the totals and in their own class: siblings joined in one visit count in
    each of their classes. A visit without an outcome yet counts as not yet visited."""
    return await progress.visit_progress(session, who, programme_id)


@programmes.get(
    "/{programme_id}/board",
    summary="The day's board: every team's visits on a day, their status, check-in and "
    "check-out times, and which are overdue (SLT and the office)",
)
async def get_day_board(
    programme_id: UUID,
    session: SessionDep,
    who: FollowUp,
    day: Annotated[
        IsoDate | None, Query(description="A visit day (Europe/London); today when omitted.")
    ] = None,
) -> BoardRead:
    """A visit is overdue for check-in when still scheduled with nobody checked in
    `THRESHOLD_VISITS_OVERDUE_CHECKIN_MINUTES` (20) after its planned start, and for check-out
    when checked in and not out `THRESHOLD_VISITS_OVERDUE_CHECKOUT_MINUTES` (15) after its
    planned end."""
    return await board.board(session, who, programme_id, day)


@visits.get("/{visit_id}", summary="A visit: its household, children, adults, time and place")
async def get_visit(
    visit_id: UUID, session: SessionDep, response: Response, who: Reader
) -> VisitRead:
    found = await service.get(session, who, visit_id)
    set_etag(response, found)
    return found


@visits.get(
    "/{visit_id}/changes",
    summary="A visit's change history, oldest first: moves, swaps, second adults, locks",
)
async def list_visit_changes(
    visit_id: UUID, session: SessionDep, page: PageDep, who: Reader
) -> Page[VisitChangeRead]:
    items, cursor = await service.list_changes(session, who, visit_id, page)
    return Page(items=items, next_cursor=cursor)


@visits.patch(
    "/{visit_id}",
    summary="Move a visit, change its second adult, or lock or unlock it; refused with 409 "
    "naming the rule a change would break",
)
async def change_visit(
    visit_id: UUID,
    body: VisitChangeRequest,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Planner,
) -> VisitRead:
    """Send the visit's `ETag` as `If-Match`. The schedule with the change is checked against
    every hard rule the scheduler keeps, and a change that would break one not already broken
    is refused with 409 naming it; nothing is saved then. A locked visit stays where it is when
    the schedule is run again."""
    changed = await changes.change(session, who, visit_id, body, if_match)
    set_etag(response, changed)
    return changed


@programmes.post(
    "/{programme_id}/visits",
    status_code=201,
    summary="Place a family by hand: a visit at a free time with its class's teachers and a "
    "second adult, checked against every rule (409 naming the one it would break)",
)
async def place_visit(
    programme_id: UUID,
    body: VisitPlace,
    session: SessionDep,
    response: Response,
    who: Annotated[Principal, require(P.VISITS_ARRANGE)],
) -> VisitRead:
    """For a family the schedule could not place, or whose visit a re-run had to cancel (the
    family keeps one visit a programme: that one is given again). Once the programme is
    published the family is sent its confirmation at once."""
    placed = await placing.place(session, who, programme_id, body)
    set_etag(response, placed)
    return placed


@programmes.post(
    "/{programme_id}/visits/swap",
    summary="Swap two visits' times (each keeps its household and adults); checked like a move",
)
async def swap_visits(
    programme_id: UUID, body: VisitSwap, session: SessionDep, who: Planner
) -> list[VisitRead]:
    return await changes.swap(session, who, programme_id, body)


@programmes.get(
    "/{programme_id}/itineraries/{staff_id}",
    summary="An adult's visit days in order: times, addresses, travel legs, the children, the "
    "family's contact and access needs, and the other adults (their own, or any, for SLT)",
)
async def get_itinerary(
    programme_id: UUID,
    staff_id: UUID,
    session: SessionDep,
    who: Annotated[Principal, require(P.VISITS_READ)],
) -> Itinerary:
    return await itineraries.itinerary(session, who, programme_id, staff_id)


@visits.post(
    "/{visit_id}/outcome",
    summary="Record what happened on a scheduled visit: completed, no_access, declined or "
    "cancelled (with a reason), by an adult on it or SLT; once",
)
async def record_visit_outcome(
    visit_id: UUID,
    body: VisitOutcomeWrite,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: InTheField,
) -> VisitRead:
    """Either adult on the visit, or the school's SLT, records its outcome once the programme
    is published: 409 for a visit that is not `scheduled` (a second outcome included), and for
    `completed` before the visit's planned start. `reason` is required unless completed.
    `pupils` names joined siblings whose outcome differs from the visit's. `If-Match` is
    optional (412 when stale)."""
    recorded = await outcomes.record(session, who, visit_id, body, if_match)
    set_etag(response, recorded)
    return recorded


@visits.post(
    "/{visit_id}/close",
    summary="Close a no-access visit as not visited, with a reason (SLT or the office)",
)
async def close_visit(
    visit_id: UUID,
    body: VisitClose,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: FollowUp,
) -> VisitRead:
    """Only a `no_access` visit is closed (409 otherwise, or when already closed); it stays
    `no_access`, its outcome marked closed with who, when and why."""
    closed = await outcomes.close(session, who, visit_id, body, if_match)
    set_etag(response, closed)
    return closed


@visits.post(
    "/{visit_id}/check-in",
    summary="Check in to a visit: an adult on it says they have gone in (idempotent)",
)
async def check_in_to_visit(
    visit_id: UUID, session: SessionDep, response: Response, who: InTheField
) -> VisitRead:
    """By either adult on the visit, from an hour before its planned start. A second check-in
    answers the first's time. Sets `arrived_at` unless already recorded."""
    visit = await checks.check_in(session, who, visit_id)
    set_etag(response, visit)
    return visit


@visits.post(
    "/{visit_id}/check-out",
    summary="Check out of a visit: an adult on it says they have come out (idempotent)",
)
async def check_out_of_visit(
    visit_id: UUID, session: SessionDep, response: Response, who: InTheField
) -> VisitRead:
    """By either adult on the visit, once someone has checked in (409 before). A second
    check-out answers the first's time. Sets `departed_at` unless already recorded."""
    visit = await checks.check_out(session, who, visit_id)
    set_etag(response, visit)
    return visit


alerts_router = APIRouter(prefix="/visit-alerts", tags=["visits"], route_class=IdempotentRoute)


@programmes.get(
    "/{programme_id}/visit-alerts",
    summary="Safety alerts: visits whose adults are overdue checking in or out (open ones by "
    "default), oldest first",
)
async def list_visit_alerts(
    programme_id: UUID,
    session: SessionDep,
    page: PageDep,
    who: FollowUp,
    open_only: Annotated[bool, Query(alias="open")] = True,
) -> Page[VisitAlertRead]:
    items, cursor = await alerts.list_for_programme(session, who, programme_id, open_only, page)
    return Page(items=items, next_cursor=cursor)


@alerts_router.post(
    "/{alert_id}/acknowledgement",
    summary="Acknowledge a safety alert: you have it in hand, so nobody further up is told",
)
async def acknowledge_visit_alert(
    alert_id: UUID, session: SessionDep, who: FollowUp
) -> VisitAlertRead:
    return await alerts.acknowledge(session, who, alert_id)
