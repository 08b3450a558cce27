from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response

from app.core.auth import require
from app.core.concurrency import set_etag
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute, idempotency
from app.core.permissions import Permission as P
from app.core.principal import Principal, PrincipalKind
from app.core.requestctx import client_address
from app.parents import invitations, portal, sessions
from app.parents.answers_schemas import AnswerRead, AnswerWrite
from app.parents.schemas import (
    InvitationCode,
    InvitationResent,
    InvitationsIssued,
    ParentSession,
    ParentWhoAmI,
    PortalHousehold,
    PortalProgramme,
    SessionRequest,
)

# The parent portal's own API; a parent token works here and nowhere else.
parent = APIRouter(prefix="/parent", tags=["parents"], route_class=IdempotentRoute)
# The school's side: issuing, reading and revoking households' invitation codes.
staff_side = APIRouter(prefix="/programmes", tags=["invitations"], route_class=IdempotentRoute)

Parent = Annotated[Principal, require(P.PARENT_PORTAL, kinds=frozenset({PrincipalKind.PARENT}))]
Chaser = Annotated[Principal, require(P.FAMILIES_CHASE)]


@parent.post(
    "/sessions",
    status_code=201,
    summary="Exchange an invitation code for a parent token (one household, one programme)",
    responses={
        400: {"description": "The code is not recognised, revoked or expired"},
        429: {"description": "Too many codes that did not work from this address"},
    },
)
@idempotency(
    False,
    why="a sign-in, not a creation: a retry signs in again, and the anonymous "
    "caller has no key space of its own",
)
async def start_session(
    body: SessionRequest, request: Request, session: SessionDep
) -> ParentSession:
    """`code` is what the school's message gave the family: the code (any case, with or
    without spaces and dashes) or the whole invitation link. The token lasts an hour (unless
    the service is set otherwise) and stops working at once if the school re-issues or revokes
    the code. Codes that do not work are counted per address, then refused (429)."""
    return await sessions.start(session, code=body.code, ip_address=client_address(request))


@parent.get("/session", summary="Which household and programme this token reaches")
async def whoami(session: SessionDep, who: Parent) -> ParentWhoAmI:
    return await portal.whoami(session, who)


@parent.get(
    "/programmes/{programme_id}",
    summary="The programme's visit days and the slots to choose from",
)
async def programme(programme_id: UUID, session: SessionDep, who: Parent) -> PortalProgramme:
    return await portal.programme_view(session, who, programme_id)


@parent.get(
    "/households/{household_id}",
    summary="The household's children in the programme (first names and classes only)",
)
async def household(household_id: UUID, session: SessionDep, who: Parent) -> PortalHousehold:
    return await portal.household_view(session, who, household_id)


@parent.get(
    "/programmes/{programme_id}/households/{household_id}/answer",
    summary="The household's current answer (status `not_answered` before the first)",
)
async def read_answer(
    programme_id: UUID, household_id: UUID, session: SessionDep, response: Response, who: Parent
) -> AnswerRead:
    answer = await portal.read_answer(session, who, programme_id, household_id)
    set_etag(response, answer, identity=household_id)
    return answer


@parent.put(
    "/programmes/{programme_id}/households/{household_id}/answer",
    summary="Give or change the household's answer while the window is open (replaces it whole)",
    responses={409: {"description": "The window has closed: contact the school"}},
)
async def save_answer(
    programme_id: UUID,
    household_id: UUID,
    body: AnswerWrite,
    session: SessionDep,
    response: Response,
    who: Parent,
) -> AnswerRead:
    answer = await portal.save_answer(session, who, programme_id, household_id, body)
    set_etag(response, answer, identity=household_id)
    return answer


@staff_side.post(
    "/{programme_id}/invitations",
    summary="Invite every household in scope that has no live invitation (exempt ones excepted)",
)
async def issue_invitations(
    programme_id: UUID, session: SessionDep, who: Chaser
) -> InvitationsIssued:
    return await invitations.issue_all(session, who, programme_id)


@staff_side.get(
    "/{programme_id}/households/{household_id}/invitation",
    summary="A household's live invitation code, to read to the family (audited)",
)
async def read_invitation(
    programme_id: UUID, household_id: UUID, response: Response, session: SessionDep, who: Chaser
) -> InvitationCode:
    code = await invitations.read_code(session, who, programme_id, household_id)
    set_etag(response, code, identity=code.invitation_id)
    return code


@staff_side.post(
    "/{programme_id}/households/{household_id}/invitation",
    status_code=201,
    summary="Issue a household a new code; the old one stops working at once",
)
async def reissue_invitation(
    programme_id: UUID, household_id: UUID, response: Response, session: SessionDep, who: Chaser
) -> InvitationCode:
    code = await invitations.reissue(session, who, programme_id, household_id)
    set_etag(response, code, identity=code.invitation_id)
    return code


@staff_side.post(
    "/{programme_id}/households/{household_id}/invitation/resend",
    status_code=201,
    summary="Send a household its live code again, as a new message (the code stays the same)",
    responses={404: {"description": "The household has no live invitation"}},
)
async def resend_invitation(
    programme_id: UUID, household_id: UUID, session: SessionDep, who: Chaser
) -> InvitationResent:
    """Each request is a new message (a family that lost the text twice gets it twice); send
    an Idempotency-Key so that a retried request sends once. The daily cap applies (429)."""
    return await invitations.resend(session, who, programme_id, household_id)


@staff_side.delete(
    "/{programme_id}/households/{household_id}/invitation",
    status_code=204,
    summary="Revoke a household's code; portal sessions made with it end at once",
)
async def revoke_invitation(
    programme_id: UUID, household_id: UUID, session: SessionDep, who: Chaser
) -> Response:
    await invitations.revoke(session, who, programme_id, household_id)
    return Response(status_code=204)
