"""A staff member's work mobile, for safeguarding alerts by text

Revision ID: 2026_12_04_staff_work_mobile
Revises: 2026_12_04_protection_files
Create Date: 2026-12-04 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_04_staff_work_mobile"
down_revision: str | None = "2026_12_04_protection_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_mobile", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.drop_column("work_mobile")
