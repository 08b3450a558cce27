"""A class's families against the visits its adults can make in the programme's days: told to
the school before parents choose, and as a run's root cause.

Programmes own the figure; the scheduler counts it, on the same instance it solves
(app/scheduling/capacity.py), and registers its counter here (app/registry.py), so programmes
never import the scheduler above them.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.programmes.models import VisitProgramme


@dataclass(frozen=True)
class ClassCapacity:
    class_id: str
    class_name: str
    families: int  # households to visit (in scope, not exempt, not declined) with a child here
    possible: int | None  # None: no teacher to count on yet
    limited_by: str | None  # the binding adult's id (None when it is the pool, or no teacher)
    detail: str | None  # set only when the class has more families than visits possible

    @property
    def over(self) -> bool:
        return self.detail is not None


CapacityCounter = Callable[[AsyncSession, VisitProgramme], Awaitable[list[ClassCapacity]]]

_counter: list[CapacityCounter] = []


def register_capacity_counter(counter: CapacityCounter) -> None:
    """Set the one counter; setting the same again changes nothing, another is refused."""
    if _counter and _counter[0] is not counter:
        raise ValueError("classes' capacity already has a counter")
    _counter[:] = [counter]


def capacity_counter() -> CapacityCounter | None:
    return _counter[0] if _counter else None


async def capacities(session: AsyncSession, programme: VisitProgramme) -> dict[UUID, ClassCapacity]:
    """Each class's capacity, by class id."""
    if not _counter:
        raise RuntimeError("no capacity counter: app.registry.wire() was not called")
    return {UUID(c.class_id): c for c in await _counter[0](session, programme)}
