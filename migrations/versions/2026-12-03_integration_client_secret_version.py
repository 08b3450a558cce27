"""Integration clients count their secret rotations; tokens of an earlier secret stop working

Revision ID: 2026_12_03_secret_version
Revises: 2026_11_23_visits
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '2026_12_03_secret_version'
down_revision: str | None = '2026_11_23_visits'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('integration_client', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('secret_version', sa.Integer(), server_default='1', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('integration_client', schema=None) as batch_op:
        batch_op.drop_column('secret_version')
