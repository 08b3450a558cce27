"""Families' change requests: a booked visit no longer works, or cancel it

Revision ID: 2026_12_04_change_requests
Revises: 2026_12_04_visit_notes
Create Date: 2026-12-04 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "2026_12_04_change_requests"
down_revision: str | None = "2026_12_04_visit_notes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, app.core.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "visit_change_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        _when("created_at", False),
        _when("updated_at", False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("workable_times", sa.String(length=500), nullable=True),
        sa.Column("preferred_slot_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        _when("closed_at"),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.Column("resolution", sa.String(length=10), nullable=True),
        sa.Column("resolution_note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name="fk_visit_change_request_trust_id_trust"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name="fk_visit_change_request_school_id_school"
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["visit_programme.id"],
            name="fk_visit_change_request_programme_id_visit_programme",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name="fk_visit_change_request_household_id_household",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visit.id"],
            name="fk_visit_change_request_visit_id_visit",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_visit_change_request"),
    )
    op.create_index("ix_visit_change_request_trust_id", "visit_change_request", ["trust_id"])
    op.create_index("ix_visit_change_request_school_id", "visit_change_request", ["school_id"])
    op.create_index(
        "ix_visit_change_request_household_id", "visit_change_request", ["household_id"]
    )
    op.create_index("ix_visit_change_request_visit_id", "visit_change_request", ["visit_id"])
    op.create_index(
        "ix_visit_change_request_open",
        "visit_change_request",
        ["programme_id", "status", "created_at"],
    )


def downgrade() -> None:
    op.drop_table("visit_change_request")
