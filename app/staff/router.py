from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from app.core.auth import authenticate, require
from app.core.concurrency import IfMatch, set_etag
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.permissions import Role
from app.core.principal import Principal
from app.core.requestctx import client_address
from app.staff import service, signin, unavailability
from app.staff.models import StaffMember
from app.staff.schemas import (
    InvitationAccept,
    Me,
    OwnAccountUpdate,
    RolesReplace,
    StaffCreate,
    StaffCreated,
    StaffInvitation,
    StaffRead,
    StaffUpdate,
    UnavailabilityCreate,
    UnavailabilityRead,
)

auth = APIRouter(prefix="/auth", tags=["auth"], route_class=IdempotentRoute)
staff = APIRouter(prefix="/staff", tags=["staff"], route_class=IdempotentRoute)
me = APIRouter(tags=["me"], route_class=IdempotentRoute)

Signed = Annotated[Principal, require()]
Reader = Annotated[Principal, require(P.STAFF_READ)]
Manager = Annotated[Principal, require(P.STAFF_MANAGE)]
OwnAvailability = Annotated[Principal, require(P.AVAILABILITY_OWN)]


@auth.post("/logout", status_code=204, summary="End this sign-in session")
async def logout(session: SessionDep, who: Signed) -> Response:
    await signin.sign_out(session, who)
    return Response(status_code=204)


@auth.post(
    "/invitations/accept", status_code=204, summary="Set your first password from an invitation"
)
async def accept_invitation(
    request: Request, body: InvitationAccept, session: SessionDep
) -> Response:
    await signin.accept_invitation(
        session, token=body.token, password=body.password, ip_address=client_address(request)
    )
    return Response(status_code=204)


@me.get("/me", summary="Who you are, your roles and your permissions")
async def get_me(session: SessionDep, response: Response, who: Signed) -> Me:
    member = await service.get_staff(session, who, who.id)
    set_etag(response, member)
    return await _me(session, who, member)


async def _me(session: SessionDep, who: Principal, member: StaffMember) -> Me:
    (described,) = await service.describe(session, who, [member])
    permissions = {
        str(school_id) if school_id else "trust": sorted(who.permissions_at(school_id))
        for school_id in {None, *who.school_ids}
    }
    return Me.model_validate(described, update={"permissions": permissions})


@me.patch(
    "/me",
    summary="Change your own account: your work mobile",
    description="Your work mobile takes texts that cannot wait for email (a safeguarding alert "
    "when you are a DSL). A UK number unless it starts with +; kept in E.164; null removes it. "
    "Only you and the admins who manage your account read it.",
)
async def update_me(
    body: OwnAccountUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Signed,
) -> Me:
    member = await service.update_own_account(session, who, body, if_match)
    set_etag(response, member)
    return await _me(session, who, member)


@me.get("/me/unavailability", summary="Periods you cannot visit, in time order")
async def list_my_unavailability(
    session: SessionDep, page: PageDep, who: OwnAvailability
) -> Page[UnavailabilityRead]:
    items, cursor = await unavailability.list_own(session, who, page)
    return Page(items=items, next_cursor=cursor)


@me.post(
    "/me/unavailability",
    status_code=201,
    summary="Record a period you cannot visit (at most 31 days; overlaps allowed)",
)
async def record_my_unavailability(
    body: UnavailabilityCreate, session: SessionDep, who: OwnAvailability
) -> UnavailabilityRead:
    return await unavailability.record_own(session, who, body)


@me.delete(
    "/me/unavailability/{period_id}", status_code=204, summary="Remove a period you recorded"
)
async def remove_my_unavailability(
    period_id: UUID, session: SessionDep, who: OwnAvailability
) -> Response:
    await unavailability.remove_own(session, who, period_id)
    return Response(status_code=204)


@staff.get("", summary="List staff members")
async def list_staff(
    session: SessionDep,
    page: PageDep,
    who: Reader,
    school_id: Annotated[UUID | None, Query()] = None,
    role: Annotated[Role | None, Query()] = None,
    active: Annotated[bool | None, Query()] = None,
) -> Page[StaffRead]:
    rows, cursor = await service.list_staff(
        session, who, page, school_id=school_id, role=role, active=active
    )
    return Page(items=await service.describe(session, who, rows), next_cursor=cursor)


@staff.post(
    "",
    status_code=201,
    response_model=StaffCreated,
    summary="Invite a staff member",
    description="Creates the account and returns its invitation. An email address is unique "
    "within the trust (409 `email-taken` for one already used here; addresses used by other "
    "trusts are no obstacle). With an `Idempotency-Key`, a retry answers the first request's "
    "status and body with `Idempotent-Replayed: true`, but with `invitation.token` null: the "
    "token is never stored. A client that lost the first answer issues a new invitation "
    "(`POST /staff/{staff_id}/invitation`), which replaces the lost one.",
)
async def create_staff(body: StaffCreate, session: SessionDep, who: Manager) -> StaffCreated:
    member, invitation = await service.create_staff(session, who, body)
    (described,) = await service.describe(session, who, [member])
    return StaffCreated.model_validate(described, update={"invitation": invitation})


@staff.get("/{staff_id}", summary="Get a staff member")
async def get_staff(
    staff_id: UUID, session: SessionDep, response: Response, who: Reader
) -> StaffRead:
    member = await service.get_staff(session, who, staff_id)
    set_etag(response, member)
    (described,) = await service.describe(session, who, [member])
    return described


@staff.patch(
    "/{staff_id}",
    summary="Change a staff member's name, visit training or work mobile",
    description="Someone else's account needs power over every role it holds (403 "
    "`grant-not-permitted` otherwise).",
)
async def update_staff(
    staff_id: UUID,
    body: StaffUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Manager,
) -> StaffRead:
    member = await service.update_staff(session, who, staff_id, body, if_match)
    set_etag(response, member)
    (described,) = await service.describe(session, who, [member])
    return described


@staff.put("/{staff_id}/roles", summary="Set a staff member's roles (within your powers)")
async def replace_roles(
    staff_id: UUID,
    body: RolesReplace,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Manager,
) -> StaffRead:
    member = await service.replace_roles(session, who, staff_id, body, if_match)
    set_etag(response, member)
    (described,) = await service.describe(session, who, [member])
    return described


@staff.post(
    "/{staff_id}/deactivate", summary="Deactivate a staff member; their sessions end at once"
)
async def deactivate_staff(staff_id: UUID, session: SessionDep, who: Manager) -> StaffRead:
    member = await service.set_active(session, who, staff_id, active=False)
    (described,) = await service.describe(session, who, [member])
    return described


@staff.post("/{staff_id}/reactivate", summary="Reactivate a staff member")
async def reactivate_staff(staff_id: UUID, session: SessionDep, who: Manager) -> StaffRead:
    member = await service.set_active(session, who, staff_id, active=True)
    (described,) = await service.describe(session, who, [member])
    return described


@staff.post(
    "/{staff_id}/invitation",
    summary="Issue a new invitation (the old one stops working)",
    description="Only for an account that has not set its password yet: an account in use is "
    "its holder's (409 `account-already-active`; deactivate it instead). Needs power over "
    "every role the account holds (403 `grant-not-permitted` otherwise).",
)
async def reissue_invitation(staff_id: UUID, session: SessionDep, who: Manager) -> StaffInvitation:
    return await service.reissue_invitation(session, who, staff_id)


@staff.get("/{staff_id}/unavailability", summary="Periods a colleague cannot visit, in time order")
async def list_staff_unavailability(
    staff_id: UUID, session: SessionDep, page: PageDep, who: Manager
) -> Page[UnavailabilityRead]:
    items, cursor = await unavailability.list_for_colleague(session, who, staff_id, page)
    return Page(items=items, next_cursor=cursor)


@staff.post(
    "/{staff_id}/unavailability",
    status_code=201,
    summary="Record a period a colleague cannot visit, on their behalf",
)
async def record_staff_unavailability(
    staff_id: UUID, body: UnavailabilityCreate, session: SessionDep, who: Manager
) -> UnavailabilityRead:
    return await unavailability.record_for_colleague(session, who, staff_id, body)


@staff.delete(
    "/{staff_id}/unavailability/{period_id}",
    status_code=204,
    summary="Remove a period a colleague cannot visit",
)
async def remove_staff_unavailability(
    staff_id: UUID, period_id: UUID, session: SessionDep, who: Manager
) -> Response:
    await unavailability.remove_for_colleague(session, who, staff_id, period_id)
    return Response(status_code=204)


__all__ = ["auth", "authenticate", "me", "staff"]
