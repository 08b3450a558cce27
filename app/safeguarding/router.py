"""Safeguarding concerns over HTTP. Raising is any staff member's; reading and moving a concern on
are its school's DSLs' and the trust's DSLs'. The reads admit every kind of caller past the gate
so that, to anyone outside need-to-know (staff, parents, clients alike), a concern answers 404 as
if it did not exist, never 403, which would say there is one."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from app.core.auth import require
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.principal import Principal, PrincipalKind
from app.safeguarding import service
from app.safeguarding.schemas import (
    ChronologyEntryRead,
    ChronologyEntryWrite,
    ConcernCount,
    ConcernRaise,
    ConcernRead,
    ConcernReaderRead,
    ConcernReceipt,
    ConcernSummary,
)

schools = APIRouter(prefix="/schools", tags=["safeguarding"], route_class=IdempotentRoute)
pupils = APIRouter(prefix="/pupils", tags=["safeguarding"], route_class=IdempotentRoute)
trusts = APIRouter(prefix="/trusts", tags=["safeguarding"], route_class=IdempotentRoute)
concerns = APIRouter(prefix="/concerns", tags=["safeguarding"], route_class=IdempotentRoute)

Raiser = Annotated[Principal, require(P.SAFEGUARDING_RAISE)]
Counter = Annotated[Principal, require(P.SAFEGUARDING_COUNTS)]
# Need-to-know is decided by the concern's repository (404), not at the gate (403).
Anyone = Annotated[Principal, require(kinds=frozenset(PrincipalKind))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "There is no such concern, or it is not yours to know"}
}
# An old closed concern is opened only just after signing in.
ELEVATED: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    403: {"description": "An old closed concern: sign in again to open it"},
}


@schools.post(
    "/{school_id}/concerns",
    status_code=201,
    summary="Raise a safeguarding concern: the school's on-call DSLs are told one awaits, at once",
)
async def raise_concern(
    school_id: UUID, body: ConcernRaise, session: SessionDep, who: Raiser
) -> ConcernReceipt:
    """Any member of the school's staff, on a visit or not. The answer is your receipt; you can
    read it again, with the concern's status, at `/concerns/{concern_id}/receipt`."""
    return await service.raise_concern(session, who, school_id, body)


@schools.get(
    "/{school_id}/concerns",
    summary="The school's concerns, newest first (its DSLs and the trust's)",
    responses=NOT_FOUND,
)
async def list_concerns(
    school_id: UUID, session: SessionDep, page: PageDep, who: Anyone
) -> Page[ConcernSummary]:
    items, cursor = await service.list_for_school(session, who, school_id, page)
    return Page(items=items, next_cursor=cursor)


@concerns.get(
    "/{concern_id}/receipt",
    summary="A concern you raised: what you wrote, its status and when a DSL first read it",
    responses=NOT_FOUND,
)
async def get_concern_receipt(concern_id: UUID, session: SessionDep, who: Anyone) -> ConcernReceipt:
    return await service.receipt(session, who, concern_id)


@concerns.get(
    "/{concern_id}",
    summary="A concern, as raised, and where it stands (its school's DSLs and the trust's)",
    responses=ELEVATED,
)
async def get_concern(concern_id: UUID, session: SessionDep, who: Anyone) -> ConcernRead:
    """Every read is written to the audit log."""
    return await service.read(session, who, concern_id)


@concerns.get(
    "/{concern_id}/chronology",
    summary="A concern's chronology, oldest first (its school's DSLs and the trust's)",
    responses=ELEVATED,
)
async def list_chronology(
    concern_id: UUID, session: SessionDep, who: Anyone
) -> list[ChronologyEntryRead]:
    return await service.chronology(session, who, concern_id)


@concerns.post(
    "/{concern_id}/chronology",
    status_code=201,
    summary="Add to a concern's chronology: a status, a note, a decision, an action or a contact",
    responses={
        **NOT_FOUND,
        409: {"description": "The status cannot follow the current one, or not acknowledged"},
    },
)
async def add_chronology_entry(
    concern_id: UUID, body: ChronologyEntryWrite, session: SessionDep, who: Anyone
) -> ChronologyEntryRead:
    """Nothing is ever changed or deleted: a correction is a new entry naming, in
    `corrects_id`, the entry it corrects."""
    return await service.add_entry(session, who, concern_id, body)


@concerns.get(
    "/{concern_id}/readers",
    summary="Who has read a concern's file, and when (its school's DSLs and the trust's)",
    responses=NOT_FOUND,
)
async def list_concern_readers(
    concern_id: UUID, session: SessionDep, who: Anyone
) -> list[ConcernReaderRead]:
    return await service.readers(session, who, concern_id)


@pupils.get(
    "/{pupil_id}/concerns",
    summary="A pupil's child protection file: the concerns naming them, oldest first (DSLs)",
    responses=NOT_FOUND,
)
async def list_pupil_concerns(
    pupil_id: UUID, session: SessionDep, who: Anyone
) -> list[ConcernSummary]:
    """Kept apart from the pupil's record: nothing about it appears on the pupil."""
    return await service.file_of_pupil(session, who, pupil_id)


@trusts.get(
    "/{trust_id}/concern-counts",
    summary="How many concerns each school raised during each programme, suppressed when small",
)
async def list_concern_counts(
    trust_id: UUID,
    session: SessionDep,
    who: Counter,
    academic_year: Annotated[
        str | None, Query(pattern=r"^\d{4}/\d{2}$", examples=["2026/27"])
    ] = None,
) -> list[ConcernCount]:
    return await service.counts(session, who, trust_id, academic_year)
