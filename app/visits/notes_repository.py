"""Reads and writes of notes after the visit, narrowed to the caller's schools (the trust floor
applies as to every table)."""

from collections.abc import Collection
from uuid import UUID

from sqlmodel import col, select

from app.core.repository import ScopedRepository
from app.roster.models import ClassStaff, Pupil
from app.visits.notes_models import VisitNote, VisitNoteVersion


class VisitNoteRepository(ScopedRepository[VisitNote]):
    model, label = VisitNote, "note"

    async def own_for_update(
        self, visit_id: UUID, pupil_id: UUID, author_id: UUID
    ) -> VisitNote | None:
        statement = (
            self.base_statement()
            .where(col(VisitNote.visit_id) == visit_id)
            .where(col(VisitNote.pupil_id) == pupil_id)
            .where(col(VisitNote.author_id) == author_id)
            .with_for_update()
        )
        found: VisitNote | None = (await self.session.scalars(statement)).one_or_none()
        return found

    async def of_visit(self, visit_id: UUID) -> list[VisitNote]:
        statement = (
            self.base_statement()
            .where(col(VisitNote.visit_id) == visit_id)
            .order_by(col(VisitNote.pupil_id), col(VisitNote.created_at), col(VisitNote.id))
        )
        return list(await self.session.scalars(statement))

    async def of_pupil(self, pupil_id: UUID) -> list[VisitNote]:
        statement = (
            self.base_statement()
            .where(col(VisitNote.pupil_id) == pupil_id)
            .order_by(col(VisitNote.created_at).desc(), col(VisitNote.id))
        )
        return list(await self.session.scalars(statement))

    async def versions(self, note_ids: Collection[UUID]) -> dict[UUID, list[VisitNoteVersion]]:
        found: dict[UUID, list[VisitNoteVersion]] = {n: [] for n in note_ids}
        if not note_ids:
            return found
        rows = await self.session.scalars(
            select(VisitNoteVersion)
            .where(col(VisitNoteVersion.note_id).in_(list(note_ids)))
            .order_by(col(VisitNoteVersion.version))
        )
        for row in rows:
            found[row.note_id].append(row)
        return found

    async def taught_by(self, staff_id: UUID, pupil_ids: Collection[UUID]) -> set[UUID]:
        """Which of the pupils are in a class the staff member teaches or supports."""
        if not pupil_ids:
            return set()
        rows = await self.session.scalars(
            select(Pupil.id)
            .join(ClassStaff, col(ClassStaff.class_id) == col(Pupil.class_id))
            .where(col(ClassStaff.staff_id) == staff_id)
            .where(col(Pupil.id).in_(list(pupil_ids)))
        )
        return set(rows)
