"""Authentication and the one way a route gets a principal: `require(*permissions)`.

`require` authenticates the bearer token, loads the principal fresh from the database (so logout,
deactivation and role changes apply on the next request), refuses with 403 when the principal
holds none of the permissions anywhere, and scopes the request's session to the principal. Object-
level checks then happen in services, through `ScopedRepository.get_permitted`: the object loads
through the scope (404), then the permission is required at its school (403).
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import SessionDep
from app.core.errors import Forbidden, Unauthorized
from app.core.permissions import Permission
from app.core.principal import Principal, PrincipalKind
from app.core.security import TokenError, decode_access_token
from app.core.tenancy import set_scope

TOKEN_URL = "/api/v1/auth/token"

AUDIENCES: dict[PrincipalKind, str] = {
    PrincipalKind.STAFF: "threshold:staff",
    PrincipalKind.PARENT: "threshold:parent",
    PrincipalKind.INTEGRATION: "threshold:integration",
}

PrincipalLoader = Callable[[AsyncSession, dict[str, Any]], Awaitable[Principal | None]]
_loaders: dict[PrincipalKind, PrincipalLoader] = {}


def register_principal_loader(kind: PrincipalKind, loader: PrincipalLoader) -> None:
    """Each principal kind's domain says how to load it from verified token claims (wired by
    app/registry.py). Only a registered kind's audience is accepted; a second loader for a kind
    is refused."""
    if _loaders.setdefault(kind, loader) is not loader:
        raise ValueError(f"principals of kind {kind} already have a loader")


def principal_loaders() -> dict[PrincipalKind, PrincipalLoader]:
    """The registered loaders by principal kind (a copy)."""
    return dict(_loaders)


_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


async def authenticate(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(_bearer)]
) -> Principal:
    if not token:
        raise Unauthorized("Send a bearer access token.", error="invalid_request")
    claims = _verify(token)
    kind = PrincipalKind(claims["kind"])
    principal = await _loaders[kind](session, claims)
    if principal is None:
        raise Unauthorized("The session has ended or the account is no longer active.")
    set_scope(session, principal.scope)
    request.state.principal = principal
    return principal


def _verify(token: str) -> dict[str, Any]:
    """Verified once, against every audience a principal kind is registered for; the token's
    one audience must then be the one of the kind it claims to be."""
    audiences = {AUDIENCES[kind]: kind for kind in _loaders}
    try:
        claims = decode_access_token(token, audience=audiences.keys())
    except TokenError as exc:
        raise Unauthorized(str(exc)) from None
    if claims.get("kind") != audiences[claims["aud"]].value:
        raise Unauthorized("The access token is not valid.")
    return claims


def require(
    *permissions: Permission, kinds: frozenset[PrincipalKind] = frozenset({PrincipalKind.STAFF})
) -> Any:
    """A dependency giving the principal once it holds every permission somewhere."""

    async def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.kind not in kinds:
            raise Forbidden("This endpoint is not available to your kind of account.")
        missing = [p for p in permissions if p not in principal.all_permissions]
        if missing:
            raise Forbidden(f"Your roles do not allow '{missing[0]}'.")
        return principal

    dependency.required_permissions = permissions  # type: ignore[attr-defined]  # read by the route matrix
    return Depends(dependency)
