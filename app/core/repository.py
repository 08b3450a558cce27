"""The base every domain repository derives from: reads start from an already-scoped statement."""

from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, select

from app.core.errors import NotFound
from app.core.models import SchoolScoped
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
