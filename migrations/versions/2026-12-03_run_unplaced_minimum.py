"""Schedule runs: the proven minimum of families no schedule can place

Revision ID: 2026_12_03_run_unplaced_minimum
Revises: 2026_12_03_staff_email
Create Date: 2026-12-03 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_03_run_unplaced_minimum"
down_revision: str | None = "2026_12_03_staff_email"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("schedule_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unplaced_minimum", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedule_run", schema=None) as batch_op:
        batch_op.drop_column("unplaced_minimum")
