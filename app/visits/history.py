"""A visit's history: every change to it, with who and when, read as `GET /visits/{id}/changes`.
The one way any part of the visits area records one."""

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.visits.models import Visit, VisitChange


def entry(
    session: AsyncSession,
    visit: Visit,
    kind: str,
    by: UUID | None,
    note: str | None = None,
    was: datetime | None = None,
) -> VisitChange:
    """An entry of `kind` by `by` (None: the family, or the system); `was`: where the visit
    stood before a move (default: where it stands)."""
    record = VisitChange(
        trust_id=visit.trust_id,
        school_id=visit.school_id,
        visit_id=visit.id,
        changed_by=by,
        kind=kind,
        from_starts_at=was or visit.starts_at,
        to_starts_at=visit.starts_at,
        note=note,
    )
    session.add(record)
    return record
