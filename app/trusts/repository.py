from typing import Any
from uuid import UUID

from sqlalchemy import Select
from sqlmodel import select

from app.core.repository import ScopedRepository
from app.core.tenancy import scoped, system_scope
from app.trusts.models import School, Trust


class TrustRepository(ScopedRepository[Trust]):
    model, label = Trust, "trust"

    def base_statement(self) -> Select[Any]:
        # The trust table is the tenant itself: callers see their own trust, operators all.
        scope = self.principal.scope
        if scope.all_trusts:
            return select(Trust)
        return select(Trust).where(Trust.id == scope.trust_id)


class SchoolRepository(ScopedRepository[School]):
    model, label = School, "school"

    def base_statement(self) -> Select[Any]:
        scope = self.principal.scope
        statement = select(School)
        if scope.school_ids is not None:
            statement = statement.where(School.id.in_(scope.school_ids))  # type: ignore[attr-defined]
        return statement

    def school_of(self, found: School) -> UUID:
        """A school's permissions are those held at itself."""
        return found.id

    async def urn_taken(self, urn: str) -> bool:
        # URNs are unique nationally, so this looks across trusts; it returns only a yes/no.
        with scoped(self.session, system_scope("URNs are unique across every trust")):
            found = await self.session.scalar(select(School.id).where(School.urn == urn))
        return found is not None
