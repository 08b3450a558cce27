"""Subject access requests over HTTP. Recording and exporting are SLT's; the release of
safeguarding records is the DSLs', and to anyone else it answers 404, exactly as a concern does
(a 403 would tell them the release exists to be made)."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from app.core.auth import require
from app.core.concurrency import set_etag
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.permissions import Permission as P
from app.core.principal import Principal, PrincipalKind
from app.core.requestctx import client_address
from app.subject_access import service
from app.subject_access.schemas import (
    SafeguardingRelease,
    SubjectAccessExport,
    SubjectAccessRequestCreate,
    SubjectAccessRequestRead,
)

pupils = APIRouter(prefix="/pupils", tags=["subject_access"], route_class=IdempotentRoute)
requests = APIRouter(
    prefix="/subject-access-requests", tags=["subject_access"], route_class=IdempotentRoute
)

Manager = Annotated[Principal, require(P.SUBJECT_ACCESS)]
Staff = Annotated[Principal, require()]
# Need-to-know is decided by the request's repository (404), not at the gate (403).
Anyone = Annotated[Principal, require(kinds=frozenset(PrincipalKind))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "There is no such request, or releasing is not yours to do"}
}


@pupils.post(
    "/{pupil_id}/subject-access-requests",
    status_code=201,
    summary="Record a subject access request made by a pupil or a parent (SLT)",
)
async def record_request(
    pupil_id: UUID, body: SubjectAccessRequestCreate, session: SessionDep, who: Manager
) -> SubjectAccessRequestRead:
    """The export leaves the pupil's safeguarding records out unless one of the school's DSLs
    releases them for this request."""
    return await service.record_request(session, who, pupil_id, body)


@requests.get(
    "/{subject_access_request_id}",
    summary="A subject access request, and whether a DSL released safeguarding records into it",
)
async def get_request(
    subject_access_request_id: UUID, session: SessionDep, response: Response, who: Staff
) -> SubjectAccessRequestRead:
    request = await service.get_request(session, who, subject_access_request_id)
    set_etag(response, request)
    return SubjectAccessRequestRead.model_validate(request)


@requests.post(
    "/{subject_access_request_id}/safeguarding-release",
    summary="Release the pupil's safeguarding records into this request's export (DSLs)",
    responses={
        **NOT_FOUND,
        409: {"description": "Already released for this request"},
    },
)
async def release_safeguarding_records(
    subject_access_request_id: UUID, body: SafeguardingRelease, session: SessionDep, who: Anyone
) -> SubjectAccessRequestRead:
    """Recorded once, with who released them, when and why, and audited. The answer is the same
    whether or not the pupil has any safeguarding records."""
    return await service.release_safeguarding(session, who, subject_access_request_id, body)


@requests.get(
    "/{subject_access_request_id}/export",
    summary="The pupil's data for the request, as JSON (SLT; audited and rate-limited)",
    responses={429: {"description": "Too many exports in a short time"}},
)
async def export_request(
    subject_access_request_id: UUID, request: Request, session: SessionDep, who: Manager
) -> SubjectAccessExport:
    return await service.export(session, who, subject_access_request_id, client_address(request))
