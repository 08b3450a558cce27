"""Integration clients: created by school or trust admins, authenticated by the client-credentials
grant, revoked at once. The secret is shown once and kept only as a digest."""

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, ratelimit
from app.core.auth import AUDIENCES
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import INTEGRATION_SCOPES, Permission
from app.core.principal import Principal, PrincipalKind
from app.core.security import digest, issue_access_token, new_opaque_token, same_digest
from app.core.settings import get_settings
from app.core.types import utcnow
from app.integrations.exceptions import ClientRevoked, InvalidClient
from app.integrations.models import IntegrationClient, IntegrationClientSchool
from app.integrations.repository import ClientCredentialsRepository, IntegrationClientRepository
from app.integrations.schemas import (
    IntegrationClientCreate,
    IntegrationClientCredentials,
    IntegrationClientRead,
)
from app.staff.schemas import TokenPair
from app.trusts.exceptions import UnknownSchool
from app.trusts.repository import SchoolRepository

CLIENT_ID_PREFIX = "thc_"
SECRET_VERSION_CLAIM = "secret_version"


def _read(client: IntegrationClient, school_ids: list[UUID]) -> IntegrationClientRead:
    return IntegrationClientRead.model_validate(client, update={"school_ids": school_ids})


async def create(
    session: AsyncSession, who: Principal, body: IntegrationClientCreate
) -> IntegrationClientCredentials:
    school_ids = sorted(set(body.school_ids))
    schools = SchoolRepository(session, who)
    for school_id in school_ids:
        school = await schools.find(school_id)
        if school is None:
            raise UnknownSchool(f"school_ids: there is no school {school_id} that you can see.")
        schools.permit(school, Permission.INTEGRATIONS_MANAGE)
    secret = new_opaque_token()
    client = IntegrationClient(
        trust_id=schools_trust(who),
        name=body.name,
        client_id=CLIENT_ID_PREFIX + new_opaque_token(12),
        secret_digest=digest(secret),
        scopes=sorted(set(body.scopes)),
        created_by=who.id,
    )
    session.add(client)
    await session.flush()
    for school_id in school_ids:
        session.add(
            IntegrationClientSchool(
                trust_id=client.trust_id, school_id=school_id, client_id=client.id
            )
        )
    await audit.record(
        session,
        who,
        "integration_client.create",
        subject_type="integration_client",
        subject_id=client.id,
        details={"scopes": client.scopes},
    )
    return IntegrationClientCredentials.model_validate(
        client, update={"school_ids": school_ids, "client_secret": secret}
    )


def schools_trust(who: Principal) -> UUID:
    assert who.trust_id is not None  # platform operators do not hold INTEGRATIONS_MANAGE
    return who.trust_id


async def list_clients(
    session: AsyncSession, who: Principal, page: PageParams
) -> tuple[list[IntegrationClientRead], str | None]:
    repository = IntegrationClientRepository(session, who)
    rows, cursor = await paginate(
        session,
        repository.base_statement(),
        page,
        [SortKey(IntegrationClient.created_at), SortKey(IntegrationClient.id)],
    )
    schools = await repository.schools_of(c.id for c in rows)
    return [_read(c, schools[c.id]) for c in rows], cursor


async def get(
    session: AsyncSession, who: Principal, client_id: UUID
) -> tuple[IntegrationClient, IntegrationClientRead]:
    """The client, for its ETag, and how it reads."""
    repository = IntegrationClientRepository(session, who)
    client = await repository.get(client_id)
    return client, _read(client, (await repository.schools_of([client.id]))[client.id])


async def rotate_secret(
    session: AsyncSession, who: Principal, client_id: UUID
) -> IntegrationClientCredentials:
    repository = IntegrationClientRepository(session, who)
    client, school_ids = await _managed(repository, client_id)
    if client.revoked_at is not None:
        raise ClientRevoked("A revoked client cannot be given a new secret; create a new one.")
    secret = new_opaque_token()
    client.secret_digest = digest(secret)
    client.secret_rotated_at = utcnow()
    client.secret_version += 1
    await audit.record(
        session,
        who,
        "integration_client.rotate_secret",
        subject_type="integration_client",
        subject_id=client.id,
    )
    return IntegrationClientCredentials.model_validate(
        client, update={"school_ids": school_ids, "client_secret": secret}
    )


async def revoke(session: AsyncSession, who: Principal, client_id: UUID) -> IntegrationClientRead:
    repository = IntegrationClientRepository(session, who)
    client, school_ids = await _managed(repository, client_id)
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        await audit.record(
            session,
            who,
            "integration_client.revoke",
            subject_type="integration_client",
            subject_id=client.id,
        )
    return _read(client, school_ids)


async def _managed(
    repository: IntegrationClientRepository, client_id: UUID
) -> tuple[IntegrationClient, list[UUID]]:
    """The client, locked, and its schools, once the caller may manage it at every one."""
    client = await repository.get_for_update(client_id)
    school_ids = (await repository.schools_of([client.id]))[client.id]
    for school_id in school_ids:
        repository.permit_at(school_id, Permission.INTEGRATIONS_MANAGE)
    return client, school_ids


def _limit() -> ratelimit.Limit:
    settings = get_settings()
    return ratelimit.Limit(
        "client_credentials",
        settings.login_max_failures * 4,
        settings.login_failure_window_seconds,
        "Too many failed client authentications; wait before trying again.",
    )


async def issue_token(
    session: AsyncSession, *, client_id: str, client_secret: str, ip_address: str
) -> TokenPair:
    """The client-credentials grant: an access token, no refresh token.

    Counted per client id and per address before the secret is checked (so a burst gets no more
    checks than the limit), and given back when it succeeds: only failures stay counted.
    """
    limit = _limit()
    reserved = await ratelimit.spend([(limit, client_id), (limit, ip_address)])
    client = await ClientCredentialsRepository(session).by_client_id(client_id)
    if (
        client is None
        or client.revoked_at is not None
        or not same_digest(client.secret_digest, digest(client_secret))
    ):
        raise InvalidClient()
    await ratelimit.give_back(session, reserved)
    client.last_used_at = utcnow()
    ttl = timedelta(minutes=get_settings().access_token_minutes)
    token, _ = issue_access_token(
        subject=str(client.id),
        audience=AUDIENCES[PrincipalKind.INTEGRATION],
        ttl=ttl,
        claims={
            "kind": PrincipalKind.INTEGRATION.value,
            "scope": " ".join(client.scopes),
            SECRET_VERSION_CLAIM: client.secret_version,
        },
    )
    return TokenPair(access_token=token, expires_in=int(ttl.total_seconds()))


async def load_integration_principal(
    session: AsyncSession, claims: dict[str, Any]
) -> Principal | None:
    """Every request reloads the client, so revocation and secret changes apply at once: a
    token issued under an earlier secret (or before tokens carried the version) is refused."""
    try:
        client_uuid = UUID(claims["sub"])
    except (KeyError, ValueError):
        return None
    found = await ClientCredentialsRepository(session).active(client_uuid)
    if found is None:
        return None
    client, schools = found
    if claims.get(SECRET_VERSION_CLAIM) != client.secret_version:
        return None
    permissions = frozenset().union(*(INTEGRATION_SCOPES[s] for s in client.scopes))
    return Principal(
        PrincipalKind.INTEGRATION,
        client.id,
        client.trust_id,
        _extra_permissions=permissions,
        schools=schools,
    )
