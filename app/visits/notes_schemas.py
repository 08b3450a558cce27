"""Notes after the visit, as written and as read."""

from datetime import datetime
from typing import Any, Self
from uuid import UUID

from pydantic import model_validator
from sqlmodel import Field

from app.core.schemas import Input, Output
from app.visits.notes_models import NOTE_FIELDS, NOTE_TEXT_MAX
from app.visits.schemas import RAISE_CONCERN


class VisitNoteWrite(Input):
    """The whole note, replacing what was there. Write what helps the child's teacher; a worry
    about the child's safety is never a note: raise it with the designated safeguarding lead."""

    enjoys: str | None = Field(
        default=None, max_length=NOTE_TEXT_MAX, description="What the child enjoys."
    )
    learns_well_with: str | None = Field(
        default=None, max_length=NOTE_TEXT_MAX, description="Who the child learns well with."
    )
    focus_areas: str | None = Field(
        default=None, max_length=NOTE_TEXT_MAX, description="Areas to focus on."
    )
    family_questions: str | None = Field(
        default=None,
        max_length=NOTE_TEXT_MAX,
        description="The family's questions and priorities.",
    )
    follow_ups: str | None = Field(
        default=None, max_length=NOTE_TEXT_MAX, description="What the school will follow up."
    )
    interpreter_used: bool = False
    interpreter_language: str | None = Field(
        default=None, max_length=60, description="The language interpreted, if one was used."
    )

    @model_validator(mode="after")
    def _says_something(self) -> Self:
        if not any(getattr(self, name) for name in NOTE_FIELDS):
            raise ValueError(f"write at least one of {', '.join(NOTE_FIELDS)}")
        if self.interpreter_language and not self.interpreter_used:
            raise ValueError("interpreter_language is given only when interpreter_used is true")
        return self


class VisitNoteVersionRead(Output):
    version: int
    saved_at: datetime
    saved_by: UUID
    content: dict[str, Any] = Field(description="The note's fields as saved in this version.")


class VisitNoteRead(Output):
    id: UUID
    visit_id: UUID
    pupil_id: UUID
    author_id: UUID
    enjoys: str | None
    learns_well_with: str | None
    focus_areas: str | None
    family_questions: str | None
    follow_ups: str | None
    interpreter_used: bool
    interpreter_language: str | None
    created_at: datetime
    updated_at: datetime
    editable_until: datetime = Field(description="After this its author can no longer change it.")
    locked: bool
    version: int
    versions: list[VisitNoteVersionRead] = Field(description="Every save, oldest first.")
    raise_concern: str = Field(description=RAISE_CONCERN)
