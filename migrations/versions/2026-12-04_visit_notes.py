"""Notes after the visit, per child and author, and every version of each

Revision ID: 2026_12_04_visit_notes
Revises: 2026_12_03_finish_at_last_visit
Create Date: 2026-12-04 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "2026_12_04_visit_notes"
down_revision: str | None = "2026_12_03_finish_at_last_visit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, app.core.types.UTCDateTime(timezone=True), nullable=nullable)


def _text(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=2000), nullable=True)


def upgrade() -> None:
    op.create_table(
        "visit_note",
        sa.Column("id", sa.Uuid(), nullable=False),
        _when("created_at", False),
        _when("updated_at", False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("pupil_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        _text("enjoys"),
        _text("learns_well_with"),
        _text("focus_areas"),
        _text("family_questions"),
        _text("follow_ups"),
        sa.Column("interpreter_used", sa.Boolean(), nullable=False),
        sa.Column("interpreter_language", sa.String(length=60), nullable=True),
        _when("editable_until", False),
        sa.ForeignKeyConstraint(["trust_id"], ["trust.id"], name="fk_visit_note_trust_id_trust"),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name="fk_visit_note_school_id_school"
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visit.id"], name="fk_visit_note_visit_id_visit", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["pupil_id"], ["pupil.id"], name="fk_visit_note_pupil_id_pupil"),
        sa.ForeignKeyConstraint(
            ["author_id"], ["staff_member.id"], name="fk_visit_note_author_id_staff_member"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_visit_note"),
        sa.UniqueConstraint("visit_id", "pupil_id", "author_id", name="uq_visit_note_visit_id"),
    )
    op.create_index("ix_visit_note_trust_id", "visit_note", ["trust_id"])
    op.create_index("ix_visit_note_school_id", "visit_note", ["school_id"])
    op.create_index("ix_visit_note_visit_id", "visit_note", ["visit_id"])
    op.create_index("ix_visit_note_pupil_id", "visit_note", ["pupil_id"])

    op.create_table(
        "visit_note_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("note_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _when("saved_at", False),
        sa.Column("saved_by", sa.Uuid(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name="fk_visit_note_version_trust_id_trust"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name="fk_visit_note_version_school_id_school"
        ),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["visit_note.id"],
            name="fk_visit_note_version_note_id_visit_note",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_visit_note_version"),
        sa.UniqueConstraint("note_id", "version", name="uq_visit_note_version_note_id"),
    )
    op.create_index("ix_visit_note_version_trust_id", "visit_note_version", ["trust_id"])
    op.create_index("ix_visit_note_version_school_id", "visit_note_version", ["school_id"])
    op.create_index("ix_visit_note_version_note_id", "visit_note_version", ["note_id"])


def downgrade() -> None:
    op.drop_table("visit_note_version")
    op.drop_table("visit_note")
