"""Visits in the field: a visit's outcome, its times and reason, a no-access visit closed, and a
joined sibling's own outcome

Revision ID: 2026_12_04_visit_outcomes
Revises: 2026_12_04_calendar_feeds
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.types import UTCDateTime

revision: str = "2026_12_04_visit_outcomes"
down_revision: str | None = "2026_12_04_calendar_feeds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The outcomes are values visit.status already takes (its VARCHAR(10) holds "no_access").
OUTCOMES = ("completed", "no_access", "declined", "cancelled")


def upgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("outcome_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("arrived_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("departed_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("outcome_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("closed_reason", sa.String(length=500), nullable=True))
    with op.batch_alter_table("visit_pupil", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "outcome",
                sa.Enum(*OUTCOMES, name="visitoutcome", native_enum=False, length=10),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("visit_pupil", schema=None) as batch_op:
        batch_op.drop_column("outcome")
    with op.batch_alter_table("visit", schema=None) as batch_op:
        for column in (
            "closed_reason",
            "closed_by",
            "closed_at",
            "outcome_reason",
            "departed_at",
            "arrived_at",
            "outcome_by",
            "outcome_at",
        ):
            batch_op.drop_column(column)
