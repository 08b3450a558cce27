"""Notes after the visit.

Written by the adults on the visit, per child, once the visit is over (they have checked out,
or its planned end has passed): never during it, so that a visit does not feel like an inspection. Its author may change
a note for `THRESHOLD_VISIT_NOTES_EDIT_DAYS` after first writing it; then it is locked. Every save
is kept as a version.

Read by the staff who teach the child (its class's teachers and support staff), by the school's
SLT and by the note's own author; to anyone else a note, and the notes of a visit or a child,
answer 404 as if missing. The office and the DSLs see visits, not notes: a note is no place for
safeguarding, which has its own route to the DSL.
"""

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.concurrency import ensure_current
from app.core.errors import Forbidden, InvalidState
from app.core.lean import trust_of
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.settings import get_settings
from app.core.types import utcnow
from app.roster.repository import PupilRepository
from app.visits.models import VisitStatus
from app.visits.notes_models import NOTE_FIELDS, VisitNote, VisitNoteVersion
from app.visits.notes_repository import VisitNoteRepository
from app.visits.notes_schemas import VisitNoteRead, VisitNoteVersionRead, VisitNoteWrite
from app.visits.repository import VisitRepository, VisitRow
from app.visits.schemas import concern_path

# Visits whose notes may be written: the family was visited (or the visit is not recorded yet).
WRITABLE = frozenset({VisitStatus.SCHEDULED, VisitStatus.COMPLETED})


class NotYetOver(InvalidState):
    type, title = "visit-not-over", "The visit is not over yet"


class NoteLocked(InvalidState):
    type, title = "note-locked", "The note can no longer be changed"


async def save(
    session: AsyncSession,
    who: Principal,
    visit_id: UUID,
    pupil_id: UUID,
    body: VisitNoteWrite,
    if_match: str | None,
) -> VisitNoteRead:
    """The caller's note on one child of the visit, written or replaced whole. If-Match is
    needed to change a note already written (its ETag), not to write the first."""
    visits = VisitRepository(session, who)
    rows = await _visit_on_it(visits, visit_id)
    first = rows[0]
    if pupil_id not in {r.pupil_id for r in rows}:
        raise visits.not_found(visit_id)
    checked_out = None
    if utcnow() < first.ends_at:  # over early only if its adults have left
        checked_out = (await visits.get(visit_id)).checked_out_at
    _ensure_writable(first, checked_out is not None)
    notes = VisitNoteRepository(session, who)
    note = await notes.own_for_update(visit_id, pupil_id, who.id)
    now = utcnow()
    content = body.model_dump()
    if note is None:
        days = get_settings().visit_notes_edit_days
        note = VisitNote(
            trust_id=trust_of(session),
            school_id=first.school_id,
            visit_id=visit_id,
            pupil_id=pupil_id,
            author_id=who.id,
            editable_until=now + timedelta(days=days),
            **content,
        )
        session.add(note)
        action = "visit_note.written"
    else:
        if now >= note.editable_until:
            raise NoteLocked(
                "Notes can be changed for "
                f"{get_settings().visit_notes_edit_days} days after they are written; this "
                "one is locked. Write to the child's teacher instead."
            )
        ensure_current(note, if_match)
        for name, value in content.items():
            setattr(note, name, value)
        action = "visit_note.edited"
    await session.flush()
    session.add(
        VisitNoteVersion(
            trust_id=note.trust_id,
            school_id=note.school_id,
            note_id=note.id,
            version=note.version,
            saved_by=who.id,
            content=_content(note),
        )
    )
    await audit.record(
        session,
        who,
        action,
        subject_type="visit_note",
        subject_id=note.id,
        school_id=note.school_id,
        details={"visit_id": str(visit_id), "pupil_id": str(pupil_id)},  # ids, never the words
    )
    return (await _read(notes, [note]))[0]


async def of_visit(session: AsyncSession, who: Principal, visit_id: UUID) -> list[VisitNoteRead]:
    """The visit's notes the caller may read; 404 to whoever may read none of its children's."""
    visits = VisitRepository(session, who)
    rows = await visits.one_described(visit_id)
    if not rows:
        raise visits.not_found(visit_id)
    school_id = rows[0].school_id
    visits.permit_at(school_id, Permission.VISITS_READ)
    pupils = {r.pupil_id for r in rows if r.pupil_id is not None}
    adults = {r.staff_id for r in rows if r.staff_id is not None}
    notes = VisitNoteRepository(session, who)
    if who.can(Permission.VISIT_NOTES_READ_ALL, school_id):
        taught = pupils
    else:
        taught = await notes.taught_by(who.id, pupils)
        if not taught and who.id not in adults:
            raise visits.not_found(visit_id)
    found = [n for n in await notes.of_visit(visit_id) if n.pupil_id in taught or _own(who, n)]
    return await _read(notes, found)


async def of_pupil(session: AsyncSession, who: Principal, pupil_id: UUID) -> list[VisitNoteRead]:
    """Every note on the child, newest first, for its teachers and SLT; 404 to anyone else."""
    notes = VisitNoteRepository(session, who)
    pupil = await PupilRepository(session, who).get(pupil_id)
    notes.permit_at(pupil.school_id, Permission.VISITS_READ)
    if not who.can(Permission.VISIT_NOTES_READ_ALL, pupil.school_id) and not (
        await notes.taught_by(who.id, [pupil_id])
    ):
        raise notes.not_found(pupil_id)
    return await _read(notes, await notes.of_pupil(pupil_id))


async def _visit_on_it(visits: VisitRepository, visit_id: UUID) -> list[VisitRow]:
    """The visit's rows (see ONE_VISIT), if the caller is one of its adults: 403 to staff who
    may see it but were not on it, 404 to everyone else."""
    rows = await visits.one_described(visit_id)
    if not rows:
        raise visits.not_found(visit_id)
    first = rows[0]
    visits.permit_at(first.school_id, Permission.VISITS_READ)
    adults = {r.staff_id for r in rows if r.staff_id is not None}
    if visits.principal.id in adults:
        return rows
    if await visits.needs_to_know(visit_id, first.school_id, adults):
        raise Forbidden("Notes after a visit are written by the adults who made it.")
    raise visits.not_found(visit_id)


def _ensure_writable(visit: VisitRow, checked_out: bool) -> None:
    status = VisitStatus(visit.status)
    if status not in WRITABLE:
        raise InvalidState(f"This visit is {status}: there is nothing to write a note about.")
    if utcnow() < visit.ends_at and not checked_out:
        raise NotYetOver(
            "Notes are written after the visit, never during it: check out of it first, or wait "
            f"for its planned end ({visit.ends_at.isoformat()})."
        )


def _own(who: Principal, note: VisitNote) -> bool:
    return note.author_id == who.id


def _content(note: VisitNote) -> dict[str, Any]:
    fields = (*NOTE_FIELDS, "interpreter_used", "interpreter_language")
    return {name: getattr(note, name) for name in fields}


async def _read(notes: VisitNoteRepository, found: list[VisitNote]) -> list[VisitNoteRead]:
    versions = await notes.versions([n.id for n in found])
    now = utcnow()
    return [
        VisitNoteRead(
            **n.model_dump(exclude={"trust_id", "school_id"}),
            locked=now >= n.editable_until,
            versions=[VisitNoteVersionRead.model_validate(v) for v in versions[n.id]],
            raise_concern=concern_path(n.school_id),
        )
        for n in found
    ]
