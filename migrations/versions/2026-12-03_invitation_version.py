"""A parent invitation's row version, the source of its ETag

Revision ID: 2026_12_03_invitation_version
Revises: 2026_12_03_client_version
Create Date: 2026-12-03 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_03_invitation_version"
down_revision: str | None = "2026_12_03_client_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("parent_invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    # Nothing references parent_invitation, so SQLite's table rebuild loses no rows elsewhere.
    with op.batch_alter_table("parent_invitation", schema=None) as batch_op:
        batch_op.drop_column("version")
