"""Notes after the visit: written per child by the adults who made the visit, read by the staff
who teach the child and the school's SLT."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response

from app.core.auth import require
from app.core.concurrency import IfMatch, set_etag
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.permissions import Permission as P
from app.core.principal import Principal
from app.visits import notes_service
from app.visits.notes_schemas import VisitNoteRead, VisitNoteWrite

visits = APIRouter(prefix="/visits", tags=["visits"], route_class=IdempotentRoute)
pupils = APIRouter(prefix="/pupils", tags=["visits"], route_class=IdempotentRoute)

Staff = Annotated[Principal, require(P.VISITS_READ)]


@visits.put(
    "/{visit_id}/pupils/{pupil_id}/note",
    summary="Write or replace your note on one child of a visit you made, once it is over",
    responses={
        403: {"description": "You can see the visit but were not one of its adults"},
        409: {"description": "The visit is not over, was not made, or the note is locked"},
    },
)
async def write_note(
    visit_id: UUID,
    pupil_id: UUID,
    body: VisitNoteWrite,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Staff,
) -> VisitNoteRead:
    """The first note needs no If-Match; changing it needs its ETag (from this answer or the
    visit's notes), and is possible for its author only, for a few days (then it is locked).
    Every save is kept as a version. A worry about a child's safety never goes in a note."""
    note = await notes_service.save(session, who, visit_id, pupil_id, body, if_match)
    set_etag(response, note)
    return note


@visits.get(
    "/{visit_id}/notes",
    summary="The visit's notes you may read: its children's teachers and SLT, and your own",
)
async def list_visit_notes(visit_id: UUID, session: SessionDep, who: Staff) -> list[VisitNoteRead]:
    return await notes_service.of_visit(session, who, visit_id)


@pupils.get(
    "/{pupil_id}/visit-notes",
    summary="Every note after a visit on one child, newest first (its teachers and SLT)",
)
async def list_pupil_notes(pupil_id: UUID, session: SessionDep, who: Staff) -> list[VisitNoteRead]:
    return await notes_service.of_pupil(session, who, pupil_id)
