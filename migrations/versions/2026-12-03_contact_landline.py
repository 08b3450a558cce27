"""A contact's landline: a number kept for calls that is never texted

Revision ID: 2026_12_03_contact_landline
Revises: 2026_12_03_address_needed
Create Date: 2026-12-03 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_03_contact_landline"
down_revision: str | None = "2026_12_03_address_needed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("landline", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("landline")
