from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from app.core.auth import require
from app.core.concurrency import IfMatch, set_etag
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.principal import Principal
from app.trusts import service
from app.trusts.models import Participation, Phase
from app.trusts.schemas import (
    SchoolCreate,
    SchoolRead,
    SchoolUpdate,
    TrustCreate,
    TrustCreated,
    TrustRead,
    TrustUpdate,
)

trusts = APIRouter(prefix="/trusts", tags=["trusts"], route_class=IdempotentRoute)
schools = APIRouter(prefix="/schools", tags=["schools"], route_class=IdempotentRoute)


@trusts.get("", summary="List trusts you can see")
async def list_trusts(
    session: SessionDep, page: PageDep, who: Annotated[Principal, require(P.TRUSTS_READ)]
) -> Page[TrustRead]:
    rows, cursor = await service.list_trusts(session, who, page)
    return Page(items=[TrustRead.model_validate(r) for r in rows], next_cursor=cursor)


@trusts.post(
    "",
    status_code=201,
    response_model=TrustCreated,
    summary="Create a trust",
    description="With an `Idempotency-Key`, a retry answers the first request's status and body "
    "with `Idempotent-Replayed: true`, but with `first_admin_invitation.token` null: the token "
    "is never stored. A client that lost the first answer issues a new invitation to the first "
    "admin (`POST /staff/{staff_id}/invitation`).",
)
async def create_trust(
    body: TrustCreate,
    session: SessionDep,
    who: Annotated[Principal, require(P.TRUSTS_CREATE)],
) -> TrustCreated:
    trust, invitation = await service.create_trust(session, who, body)
    return TrustCreated.model_validate(trust, update={"first_admin_invitation": invitation})


@trusts.get("/{trust_id}", summary="Get a trust")
async def get_trust(
    trust_id: UUID,
    session: SessionDep,
    response: Response,
    who: Annotated[Principal, require(P.TRUSTS_READ)],
) -> TrustRead:
    trust = await service.get_trust(session, who, trust_id)
    set_etag(response, trust)
    return TrustRead.model_validate(trust)


@trusts.patch("/{trust_id}", summary="Change a trust's name or defaults")
async def update_trust(
    trust_id: UUID,
    body: TrustUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Annotated[Principal, require(P.TRUSTS_UPDATE)],
) -> TrustRead:
    trust = await service.update_trust(session, who, trust_id, body, if_match)
    set_etag(response, trust)
    return TrustRead.model_validate(trust)


@schools.get("", summary="List schools you can see")
async def list_schools(
    session: SessionDep,
    page: PageDep,
    who: Annotated[Principal, require(P.SCHOOLS_READ)],
    participation: Annotated[Participation | None, Query()] = None,
    phase: Annotated[Phase | None, Query()] = None,
) -> Page[SchoolRead]:
    rows, cursor = await service.list_schools(
        session, who, page, participation=participation, phase=phase
    )
    return Page(items=[SchoolRead.model_validate(r) for r in rows], next_cursor=cursor)


@schools.post("", status_code=201, response_model=SchoolRead, summary="Add a school to your trust")
async def create_school(
    body: SchoolCreate,
    session: SessionDep,
    who: Annotated[Principal, require(P.SCHOOLS_CREATE)],
) -> SchoolRead:
    return SchoolRead.model_validate(await service.create_school(session, who, body))


@schools.get("/{school_id}", summary="Get a school")
async def get_school(
    school_id: UUID,
    session: SessionDep,
    response: Response,
    who: Annotated[Principal, require(P.SCHOOLS_READ)],
) -> SchoolRead:
    school = await service.get_school(session, who, school_id)
    set_etag(response, school)
    return SchoolRead.model_validate(school)


@schools.patch("/{school_id}", summary="Change a school's details or participation")
async def update_school(
    school_id: UUID,
    body: SchoolUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Annotated[Principal, require(P.SCHOOLS_UPDATE)],
) -> SchoolRead:
    school = await service.update_school(session, who, school_id, body, if_match)
    set_etag(response, school)
    return SchoolRead.model_validate(school)
