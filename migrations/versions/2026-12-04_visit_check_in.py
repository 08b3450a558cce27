"""Visits in the field: the adults' safety check-in and check-out

Revision ID: 2026_12_04_visit_check_in
Revises: 2026_12_04_visit_outcomes
Create Date: 2026-12-04 14:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.types import UTCDateTime

revision: str = "2026_12_04_visit_check_in"
down_revision: str | None = "2026_12_04_visit_outcomes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checked_in_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("checked_in_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("checked_out_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("checked_out_by", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        for column in ("checked_out_by", "checked_out_at", "checked_in_by", "checked_in_at"):
            batch_op.drop_column(column)
