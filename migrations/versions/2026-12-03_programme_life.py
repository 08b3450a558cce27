"""A programme's reopenings, a run's root causes, a partial school's year groups

Revision ID: 2026_12_03_programme_life
Revises: 2026_12_03_run_unplaced_minimum
Create Date: 2026-12-03 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_03_programme_life"
down_revision: str | None = "2026_12_03_run_unplaced_minimum"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visit_programme", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reopenings", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("schedule_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("root_causes", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("school", schema=None) as batch_op:
        batch_op.add_column(sa.Column("participating_year_groups", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("school", schema=None) as batch_op:
        batch_op.drop_column("participating_year_groups")
    with op.batch_alter_table("schedule_run", schema=None) as batch_op:
        batch_op.drop_column("root_causes")
    with op.batch_alter_table("visit_programme", schema=None) as batch_op:
        batch_op.drop_column("reopenings")
