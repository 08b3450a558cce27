"""Notes after the visit: what a visiting adult learnt about one child, written once the visit is
over (never during it: a visit is not an inspection), editable by its author for a while, then
locked. Every edit is kept as a version."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped, Timestamped, Versioned
from app.core.types import UTCDateTime, utcnow

# The structured parts of a note, in the order a teacher reads them.
NOTE_FIELDS = (
    "enjoys",
    "learns_well_with",
    "focus_areas",
    "family_questions",
    "follow_ups",
)
NOTE_TEXT_MAX = 2000


class VisitNote(Identified, Timestamped, Versioned, SchoolScoped, table=True):
    """One adult's note on one child of one visit."""

    __tablename__ = "visit_note"
    __table_args__ = (UniqueConstraint("visit_id", "pupil_id", "author_id"),)

    visit_id: UUID = Field(foreign_key="visit.id", index=True, ondelete="CASCADE")
    pupil_id: UUID = Field(foreign_key="pupil.id", index=True)
    author_id: UUID = Field(foreign_key="staff_member.id")
    enjoys: str | None = Field(default=None, max_length=NOTE_TEXT_MAX)
    learns_well_with: str | None = Field(default=None, max_length=NOTE_TEXT_MAX)
    focus_areas: str | None = Field(default=None, max_length=NOTE_TEXT_MAX)
    family_questions: str | None = Field(default=None, max_length=NOTE_TEXT_MAX)
    follow_ups: str | None = Field(default=None, max_length=NOTE_TEXT_MAX)
    interpreter_used: bool = False
    interpreter_language: str | None = Field(default=None, max_length=60)
    # After this instant the note is locked: its author can no longer change it.
    editable_until: datetime = Field(sa_type=UTCDateTime)


class VisitNoteVersion(Identified, SchoolScoped, table=True):
    """A note as it stood after each save (version 1 is as first written)."""

    __tablename__ = "visit_note_version"
    __table_args__ = (UniqueConstraint("note_id", "version"),)

    note_id: UUID = Field(foreign_key="visit_note.id", index=True, ondelete="CASCADE")
    version: int
    saved_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    saved_by: UUID
    content: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
