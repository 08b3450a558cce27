"""Re-planning a visit day when adults are away: SLT propose, read and accept."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response

from app.core.auth import require
from app.core.concurrency import IfMatch, etag
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.permissions import Permission as P
from app.core.principal import Principal
from app.visits import replans
from app.visits.replans_schemas import ReplanCreate, ReplanRead

programmes = APIRouter(prefix="/programmes", tags=["visits"], route_class=IdempotentRoute)
proposals = APIRouter(prefix="/replans", tags=["visits"], route_class=IdempotentRoute)

Manager = Annotated[Principal, require(P.PROGRAMMES_MANAGE)]


@programmes.post(
    "/{programme_id}/replans",
    status_code=201,
    summary="Propose a new plan for a visit day when adults are away (SLT)",
    responses={409: {"description": "The programme is not published or in progress"}},
)
async def propose_replan(
    programme_id: UUID, body: ReplanCreate, session: SessionDep, who: Manager
) -> ReplanRead:
    """Keeps every visit that the absence does not touch, and locked visits and earlier days
    exactly as they are. A visit whose second adult is away keeps its time with another free
    adult; one whose teacher is away moves to the cheapest time that fits on that day or later,
    moving one or two other families out of its way only where nothing else fits. Each change
    says why; `moved` is how many families get another time. Nothing changes, and nobody is
    told, until SLT accept it."""
    return await replans.propose(session, who, programme_id, body)


@proposals.get("/{replan_id}", summary="A proposed or accepted re-plan, with every change")
async def get_replan(
    replan_id: UUID, session: SessionDep, response: Response, who: Manager
) -> ReplanRead:
    found = await replans.get(session, who, replan_id)
    response.headers["ETag"] = etag(found.id, found.status)
    return found


@proposals.post(
    "/{replan_id}/acceptance",
    summary="Accept a re-plan: visits change, the absence is recorded, families are told",
    responses={
        409: {
            "description": "Already accepted, the visits changed since (propose again), or a "
            "change now breaks a scheduling rule"
        }
    },
)
async def accept_replan(
    replan_id: UUID, session: SessionDep, response: Response, who: Manager, if_match: IfMatch
) -> ReplanRead:
    """Each change is checked again against every hard rule; the adults' absence is recorded
    as unavailability for the day; each visit's history records the re-plan; the families whose
    time or visitors changed are sent a change confirmation, and those no time fitted are told
    the school will call. `If-Match` (optional) with the ETag read: 412 if it was accepted since."""
    accepted = await replans.accept(session, who, replan_id, if_match)
    response.headers["ETag"] = etag(accepted.id, accepted.status)
    return accepted
