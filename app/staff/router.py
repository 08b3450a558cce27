from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request, Response

from app.core.auth import authenticate, require
from app.core.concurrency import IfMatch, set_etag
from app.core.db import SessionDep
from app.core.errors import BadRequest
from app.core.idempotency import IdempotentRoute
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.permissions import Role
from app.core.principal import Principal
from app.core.requestctx import client_address
from app.core.security import get_keyring
from app.integrations import service as integrations
from app.staff import service, signin, unavailability
from app.staff.schemas import (
    InvitationAccept,
    Me,
    RolesReplace,
    StaffCreate,
    StaffCreated,
    StaffInvitation,
    StaffRead,
    StaffUpdate,
    TokenPair,
    UnavailabilityCreate,
    UnavailabilityRead,
)

auth = APIRouter(prefix="/auth", tags=["auth"], route_class=IdempotentRoute)
staff = APIRouter(prefix="/staff", tags=["staff"], route_class=IdempotentRoute)
me = APIRouter(tags=["me"], route_class=IdempotentRoute)
well_known = APIRouter(tags=["auth"], route_class=IdempotentRoute)

Signed = Annotated[Principal, require()]
Reader = Annotated[Principal, require(P.STAFF_READ)]
Manager = Annotated[Principal, require(P.STAFF_MANAGE)]
OwnAvailability = Annotated[Principal, require(P.AVAILABILITY_OWN)]


@auth.post(
    "/token",
    summary="Sign in (password grant), refresh tokens (refresh_token grant), or authenticate "
    "an integration client (client_credentials grant)",
    responses={
        401: {"description": "Client authentication failed (client_credentials grant)"},
        429: {"description": "Too many failed attempts"},
    },
)
async def issue_token(
    request: Request,
    session: SessionDep,
    grant_type: Annotated[Literal["password", "refresh_token", "client_credentials"], Form()],
    username: Annotated[str | None, Form(max_length=254)] = None,
    password: Annotated[str | None, Form(max_length=128)] = None,
    refresh_token: Annotated[str | None, Form(max_length=200)] = None,
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=128)] = None,
    scope: Annotated[str, Form(max_length=200)] = "",
) -> TokenPair:
    """A form-encoded OAuth 2.0 token request (`application/x-www-form-urlencoded`).

    - `grant_type=password` with `username` (the email address) and `password`: staff sign in.
    - `grant_type=refresh_token` with `refresh_token`: a new pair. Refresh tokens rotate on
      every use; presenting one already used ends the whole sign-in session.
    - `grant_type=client_credentials` with `client_id` and `client_secret`: an integration
      client (see `integrations`), with the scopes it was given.

    A refused sign-in answers the same whether or not the account exists. Failed attempts are
    throttled per account and per address (429 with `Retry-After`).
    """
    if grant_type == "client_credentials":
        if not client_id or not client_secret:
            raise BadRequest(
                "The client_credentials grant needs client_id and client_secret.",
                extra={"error": "invalid_request"},
            )
        return await integrations.issue_token(
            session,
            client_id=client_id,
            client_secret=client_secret,
            ip_address=client_address(request),
        )
    if grant_type == "password":
        if not username or not password:
            raise BadRequest(
                "The password grant needs username and password.",
                extra={"error": "invalid_request"},
            )
        return await signin.sign_in(
            session, email=username, password=password, ip_address=client_address(request)
        )
    if not refresh_token:
        raise BadRequest(
            "The refresh_token grant needs refresh_token.", extra={"error": "invalid_request"}
        )
    return await signin.refresh(session, refresh_token=refresh_token)


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


@well_known.get("/.well-known/jwks.json", summary="Public keys that verify access tokens")
async def jwks() -> dict[str, Any]:
    return get_keyring().jwks()


@me.get("/me", summary="Who you are, your roles and your permissions")
async def get_me(session: SessionDep, who: Signed) -> Me:
    member = await service.get_staff(session, who, who.id)
    (described,) = await service.describe(session, who, [member])
    permissions = {
        str(school_id) if school_id else "trust": sorted(who.permissions_at(school_id))
        for school_id in {None, *who.school_ids}
    }
    return Me.model_validate(described, update={"permissions": permissions})


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
    summary="Change a staff member's name or visit training",
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


__all__ = ["auth", "authenticate", "me", "staff", "well_known"]
