"""A programme's day ends back at school (the drive back fits the daily window) unless it says
adults finish at their last visit

Revision ID: 2026_12_03_finish_at_last_visit
Revises: 2026_12_03_message_kinds
Create Date: 2026-12-03 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_03_finish_at_last_visit"
down_revision: str | None = "2026_12_03_message_kinds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visit_programme", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "adults_finish_at_last_visit",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("visit_programme", schema=None) as batch_op:
        batch_op.drop_column("adults_finish_at_last_visit")
