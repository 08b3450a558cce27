"""The base every domain repository derives from: reads start from an already-scoped statement.

It is also the one home of object-level permission checks: `get_permitted` loads an object
through the caller's scope (a missing or out-of-scope object is not found, 404) and then requires
permissions at that object's school (403). Services ask it, not `Principal.ensure`, directly.
"""

from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, select

from app.core.errors import NotFound
from app.core.models import SchoolScoped
from app.core.permissions import Permission
from app.core.principal import Principal

ModelT = TypeVar("ModelT", bound=SQLModel)


def in_schools(statement: Any, model: Any, schools: frozenset[UUID] | None) -> Select[Any]:
    """`statement` limited to `model`'s rows at `schools` (None: every school of the trust)."""
    if schools is None or not issubclass(model, SchoolScoped):
        return statement  # type: ignore[no-any-return]
    return statement.where(model.school_id.in_(schools))  # type: ignore[no-any-return]


class ScopedRepository(Generic[ModelT]):
    """Subclasses set `model` and `label`, and narrow `base_statement` to what the caller may see.

    The trust floor already applies (see core/tenancy.py); `base_statement` narrows further to the
    caller's schools, classes or household. Anything outside it is "not found".
    """

    model: ClassVar[type[Any]]
    label: ClassVar[str]

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def base_statement(self) -> Select[Any]:
        """Rows of one school are narrowed to the caller's schools here, once for every area."""
        return in_schools(select(self.model), self.model, self.principal.scope.school_ids)

    async def find(self, object_id: UUID) -> ModelT | None:
        statement = self.base_statement().where(self.model.id == object_id)
        return (await self.session.scalars(statement)).one_or_none()

    def not_found(self, object_id: UUID) -> NotFound:
        """The one answer for an object that is missing or outside the caller's scope."""
        return NotFound(f"There is no {self.label} {object_id} that you can see.")

    async def get(self, object_id: UUID) -> ModelT:
        found = await self.find(object_id)
        if found is None:
            raise self.not_found(object_id)
        return found

    async def get_for_update(self, object_id: UUID) -> ModelT:
        statement = self.base_statement().where(self.model.id == object_id).with_for_update()
        found = (await self.session.scalars(statement)).one_or_none()
        if found is None:
            raise self.not_found(object_id)
        return found  # type: ignore[no-any-return]

    async def get_permitted(
        self, object_id: UUID, *needs: Permission, for_update: bool = False
    ) -> ModelT:
        """The object, seen through the caller's scope (404 otherwise), once the caller holds
        every one of `needs` at its school (403 otherwise): never 403 before 404, so a refusal
        does not tell a stranger that the object exists."""
        found = await (self.get_for_update(object_id) if for_update else self.get(object_id))
        self.permit(found, *needs)
        return found

    def permit(self, found: ModelT, *needs: Permission) -> None:
        """403 unless the caller holds `needs` at the school of `found`, already loaded here."""
        self.permit_at(self.school_of(found), *needs)

    def permit_at(self, school_id: UUID | None, *needs: Permission) -> None:
        """403 unless the caller holds `needs` at `school_id` (None: a trust-level object): for
        rows read on the lean path and for objects that span schools, after the scoped read."""
        for permission in needs:
            self.principal.ensure(permission, school_id)

    def school_of(self, found: ModelT) -> UUID | None:
        """The school whose permissions govern `found`; None for an object of the whole trust."""
        return found.school_id if isinstance(found, SchoolScoped) else None
