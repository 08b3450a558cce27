from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import Select
from sqlmodel import col, select

from app.core.permissions import Permission
from app.core.repository import ScopedRepository
from app.core.tenancy import scoped, system_scope
from app.integrations.models import IntegrationClient, IntegrationClientSchool


class IntegrationClientRepository(ScopedRepository[IntegrationClient]):
    """A client is visible to staff who manage integrations at every school it reaches (seeing
    a school is not enough: a teacher there who is an admin elsewhere does not see its feeds)."""

    model, label = IntegrationClient, "integration client"

    def base_statement(self) -> Select[Any]:
        statement = select(IntegrationClient)
        schools = self.principal.schools_with(Permission.INTEGRATIONS_MANAGE)
        if schools is not None:
            beyond = select(IntegrationClientSchool.client_id).where(
                col(IntegrationClientSchool.school_id).not_in(schools)
            )
            statement = statement.where(col(IntegrationClient.id).not_in(beyond))
        return statement

    async def schools_of(self, client_ids: Iterable[UUID]) -> dict[UUID, list[UUID]]:
        ids = list(client_ids)
        found: dict[UUID, list[UUID]] = defaultdict(list)
        if not ids:
            return found
        rows = await self.session.execute(
            select(IntegrationClientSchool.client_id, IntegrationClientSchool.school_id)
            .where(col(IntegrationClientSchool.client_id).in_(ids))
            .order_by(col(IntegrationClientSchool.school_id))
        )
        for client_id, school_id in rows:
            found[client_id].append(school_id)
        return found


class ClientCredentialsRepository:
    """Reads for the token endpoint and the principal loader, before any scope exists."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def by_client_id(self, client_id: str) -> IntegrationClient | None:
        with scoped(self.session, system_scope("authenticate an integration client")):
            found: IntegrationClient | None = await self.session.scalar(
                select(IntegrationClient).where(col(IntegrationClient.client_id) == client_id)
            )
        return found

    async def active(self, client_uuid: UUID) -> tuple[IntegrationClient, frozenset[UUID]] | None:
        with scoped(self.session, system_scope("load an integration client's principal")):
            client: IntegrationClient | None = await self.session.get(
                IntegrationClient, client_uuid
            )
            if client is None or client.revoked_at is not None:
                return None
            schools = await self.session.scalars(
                select(IntegrationClientSchool.school_id).where(
                    col(IntegrationClientSchool.client_id) == client_uuid
                )
            )
            return client, frozenset(schools)
