"""The token endpoint, for every grant, and the public keys that verify its tokens.

Staff sign in and refresh (app/staff/signin.py) and integration clients authenticate
(app/integrations/service.py) at one OAuth 2.0 endpoint; this package only dispatches each grant
to its domain, so neither domain imports the other. Parents' sessions start from an invitation
code at `POST /parent/sessions` (app/parents/sessions.py), outside OAuth.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request

from app.core.db import SessionDep
from app.core.errors import BadRequest
from app.core.idempotency import IdempotentRoute
from app.core.requestctx import client_address
from app.core.security import get_keyring
from app.integrations import service as integrations
from app.staff import signin
from app.staff.schemas import TokenPair

tokens = APIRouter(prefix="/auth", tags=["auth"], route_class=IdempotentRoute)
well_known = APIRouter(tags=["auth"], route_class=IdempotentRoute)


@tokens.post(
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


@well_known.get("/.well-known/jwks.json", summary="Public keys that verify access tokens")
async def jwks() -> dict[str, Any]:
    return get_keyring().jwks()


__all__ = ["tokens", "well_known"]
