"""Families' changes of plan.

Through the portal a family sees its booked visit (day, time, place, the visitors' first names
and roles) and may say it no longer works, with the times that would, or ask to cancel it, with a
reason: a change request for the office. One request at a time: the school answers it before the
family asks again. The office (or SLT) then moves the visit within every rule (PATCH /visits/{id},
which sends the family its change confirmation), or cancels it, or keeps it after speaking to the
family, and closes the request saying which. Open requests are listed oldest first.
"""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.concurrency import ensure_matches, etag_of
from app.core.errors import InvalidState, NotFound, Unprocessable
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import utcnow
from app.programmes.households import family_labels
from app.programmes.messages import day_of, time_of
from app.programmes.models import VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.visits import history, messages_repository
from app.visits.change_requests_models import RequestStatus, VisitChangeRequest
from app.visits.change_requests_repository import ChangeRequestRepository
from app.visits.change_requests_schemas import (
    ChangeRequestClose,
    ChangeRequestCreate,
    ChangeRequestForOffice,
    ChangeRequestRead,
    PortalVisit,
    PortalVisitor,
)
from app.visits.messages import ROLE_WORDS, first_name, school_words, what_is_said
from app.visits.messages_repository import TOLD
from app.visits.models import Visit, VisitStatus
from app.visits.repository import VisitRepository


class RequestAlreadyOpen(InvalidState):
    type, title = "change-request-open", "The family has already asked"


class RequestClosed(InvalidState):
    type, title = "change-request-closed", "The request has been handled"


async def family_visit(
    session: AsyncSession, who: Principal, programme_id: UUID, household_id: UUID
) -> PortalVisit:
    programme, visit = await _family_visit(session, who, programme_id, household_id)
    (facts,) = await messages_repository.visit_facts(session, programme.id, [visit.id])
    said = what_is_said(facts, await school_words(session, programme))
    open_request = await ChangeRequestRepository(session, who).open_for_visit(visit.id)
    return PortalVisit(
        visit_id=visit.id,
        starts_at=visit.starts_at,
        ends_at=visit.ends_at,
        day=day_of(visit.starts_at),
        time=time_of(visit.starts_at),
        place=said["place"],
        visitors=[
            PortalVisitor(first_name=first_name(a.full_name), role=ROLE_WORDS[a.role])
            for a in facts.adults
        ],
        open_request=_read(open_request) if open_request else None,
    )


async def ask(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    household_id: UUID,
    body: ChangeRequestCreate,
) -> ChangeRequestRead:
    programme, visit = await _family_visit(session, who, programme_id, household_id)
    if visit.starts_at <= utcnow():
        raise InvalidState("This visit has already begun: please phone the school.")
    requests = ChangeRequestRepository(session, who)
    if await requests.open_for_visit(visit.id) is not None:
        raise RequestAlreadyOpen(
            "You have already asked for a change; the school will be in touch. If it is urgent, "
            "please phone the school."
        )
    slots = await VisitRepository(session, who).slot_ids(programme.id)
    unknown = [str(s) for s in body.preferred_slot_ids if s not in slots]
    if unknown:
        raise Unprocessable(f"preferred_slot_ids: not times of this programme: {unknown}")
    request = VisitChangeRequest(
        trust_id=programme.trust_id,
        school_id=programme.school_id,
        programme_id=programme.id,
        household_id=household_id,
        visit_id=visit.id,
        kind=body.kind,
        reason=body.reason,
        workable_times=body.workable_times,
        preferred_slot_ids=[str(s) for s in body.preferred_slot_ids],
    )
    session.add(request)
    await session.flush()
    _history(session, visit, f"change_requested_{body.kind.value}", None)
    await audit.record(
        session,
        who,
        "visit.change_requested",
        subject_type="visit_change_request",
        subject_id=request.id,
        school_id=programme.school_id,
        details={"visit_id": str(visit.id), "kind": body.kind.value},  # never the reason
    )
    return _read(request)


async def list_for_office(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    status: RequestStatus | None,
    page: PageParams,
) -> tuple[list[ChangeRequestForOffice], str | None]:
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.VISITS_ARRANGE
    )
    rows, cursor = await paginate(
        session,
        ChangeRequestRepository(session, who).of_programme(programme.id, status),
        page,
        [SortKey(VisitChangeRequest.created_at), SortKey(VisitChangeRequest.id)],
    )
    labels = await family_labels(session, who, programme, {r.household_id for r in rows})
    starts = await VisitRepository(session, who).starts([r.visit_id for r in rows])
    return [
        ChangeRequestForOffice(
            **_read(r).model_dump(),
            family_name=labels[r.household_id].name,
            reference=labels[r.household_id].reference,
            visit_starts_at=starts[r.visit_id],
        )
        for r in rows
    ], cursor


async def close(
    session: AsyncSession,
    who: Principal,
    request_id: UUID,
    body: ChangeRequestClose,
    if_match: str | None,
) -> ChangeRequestRead:
    requests = ChangeRequestRepository(session, who)
    request = await requests.get_permitted(request_id, Permission.VISITS_ARRANGE, for_update=True)
    ensure_matches(etag_of(request), if_match)
    if request.status is RequestStatus.CLOSED:
        raise RequestClosed(f"This request was already closed as {request.resolution}.")
    request.status = RequestStatus.CLOSED
    request.closed_at, request.closed_by = utcnow(), who.id
    request.resolution, request.resolution_note = body.resolution, body.note
    await session.flush()
    visit = await VisitRepository(session, who).get(request.visit_id)
    _history(session, visit, f"change_request_{body.resolution.value}", who.id, body.note)
    await audit.record(
        session,
        who,
        "visit.change_request_closed",
        subject_type="visit_change_request",
        subject_id=request.id,
        school_id=request.school_id,
        details={"resolution": body.resolution.value},
    )
    return _read(request)


async def _family_visit(
    session: AsyncSession, who: Principal, programme_id: UUID, household_id: UUID
) -> tuple[VisitProgramme, Visit]:
    """The parent's own programme and household (404 for any other id), and its visit once the
    school has told the family of it."""
    programmes = ProgrammeRepository(session, who)
    if programme_id != who.programme_id or household_id != who.household_id:
        raise programmes.not_found(programme_id)
    programme = await programmes.get_permitted(programme_id, Permission.PARENT_PORTAL)
    visit = await VisitRepository(session, who).of_household(programme.id, household_id)
    if programme.status not in TOLD or visit is None or visit.status is not VisitStatus.SCHEDULED:
        raise NotFound("Your visit has not been arranged yet: the school will tell you its time.")
    return programme, visit


def _history(
    session: AsyncSession, visit: Visit, kind: str, by: UUID | None, note: str | None = None
) -> None:
    """The request in the visit's history: raised by the family (no one of staff; never the
    family's words), closed by the office with what was done."""
    history.entry(session, visit, kind, by, note)


def _read(request: VisitChangeRequest) -> ChangeRequestRead:
    return ChangeRequestRead.model_validate(request)
