"""Families' change requests, narrowed to the caller's schools (a parent's scope is its school)."""

from typing import Any
from uuid import UUID

from sqlalchemy import Select
from sqlmodel import col

from app.core.repository import ScopedRepository
from app.visits.change_requests_models import RequestStatus, VisitChangeRequest


class ChangeRequestRepository(ScopedRepository[VisitChangeRequest]):
    model, label = VisitChangeRequest, "change request"

    async def open_for_visit(self, visit_id: UUID) -> VisitChangeRequest | None:
        found: VisitChangeRequest | None = (
            await self.session.scalars(
                self.base_statement()
                .where(col(VisitChangeRequest.visit_id) == visit_id)
                .where(col(VisitChangeRequest.status) == RequestStatus.OPEN)
            )
        ).first()
        return found

    def of_programme(self, programme_id: UUID, status: RequestStatus | None) -> Select[Any]:
        statement = self.base_statement().where(
            col(VisitChangeRequest.programme_id) == programme_id
        )
        if status is not None:
            statement = statement.where(col(VisitChangeRequest.status) == status)
        return statement
