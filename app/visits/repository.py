from collections import defaultdict
from typing import Any
from uuid import UUID

from sqlalchemy import Select
from sqlmodel import col, delete, select

from app.core.repository import ScopedRepository
from app.programmes.models import Slot
from app.visits.models import Visit, VisitAdult, VisitPupil, VisitRole, VisitStatus


class VisitRepository(ScopedRepository[Visit]):
    model, label = Visit, "visit"

    def base_statement(self) -> Select[Any]:
        statement = select(Visit)
        schools = self.principal.scope.school_ids
        if schools is not None:
            statement = statement.where(col(Visit.school_id).in_(schools))
        return statement

    def of_programme(self, programme_id: UUID) -> Select[Any]:
        return self.base_statement().where(col(Visit.programme_id) == programme_id)

    async def open_visits(self, programme_id: UUID) -> list[Visit]:
        rows = await self.session.scalars(
            self.of_programme(programme_id).where(
                col(Visit.status).in_([VisitStatus.PROPOSED, VisitStatus.SCHEDULED])
            )
        )
        return list(rows)

    async def slot(self, programme_id: UUID, slot_id: UUID) -> Slot | None:
        return await self.session.scalar(
            select(Slot).where(col(Slot.programme_id) == programme_id, col(Slot.id) == slot_id)
        )

    async def replace_second_adult(self, visit: Visit, staff_id: UUID) -> None:
        await self.session.execute(
            delete(VisitAdult).where(
                col(VisitAdult.visit_id) == visit.id,
                col(VisitAdult.role) == VisitRole.SECOND_ADULT,
            )
        )
        self.session.add(
            VisitAdult(
                trust_id=visit.trust_id,
                school_id=visit.school_id,
                visit_id=visit.id,
                staff_id=staff_id,
                role=VisitRole.SECOND_ADULT,
            )
        )

    async def adults(self, visit_ids: list[UUID]) -> dict[UUID, list[tuple[UUID, VisitRole]]]:
        found: dict[UUID, list[tuple[UUID, VisitRole]]] = defaultdict(list)
        rows = await self.session.execute(
            select(VisitAdult.visit_id, VisitAdult.staff_id, VisitAdult.role)
            .where(col(VisitAdult.visit_id).in_(visit_ids))
            .order_by(col(VisitAdult.role), col(VisitAdult.staff_id))
        )
        for visit_id, staff_id, role in rows.all():
            found[visit_id].append((staff_id, VisitRole(role)))
        return found

    async def pupils(self, visit_ids: list[UUID]) -> dict[UUID, list[UUID]]:
        found: dict[UUID, list[UUID]] = defaultdict(list)
        rows = await self.session.execute(
            select(VisitPupil.visit_id, VisitPupil.pupil_id)
            .where(col(VisitPupil.visit_id).in_(visit_ids))
            .order_by(col(VisitPupil.pupil_id))
        )
        for visit_id, pupil_id in rows.all():
            found[visit_id].append(pupil_id)
        return found
