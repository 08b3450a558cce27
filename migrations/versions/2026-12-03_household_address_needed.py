"""Households: a row version, and the address may be missing ("address needed") until the office gives it

Revision ID: 2026_12_03_address_needed
Revises: 2026_12_03_secret_version
Create Date: 2026-12-03 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_03_address_needed"
down_revision: str | None = "2026_12_03_secret_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("address_line1", 200), ("postcode", 8), ("match_key", 64))


def upgrade() -> None:
    with op.batch_alter_table("household", schema=None) as batch_op:
        # A row version: PATCH of the address takes If-Match like every other PATCH.
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        for name, length in COLUMNS:
            batch_op.alter_column(
                name, existing_type=sa.String(length=length), existing_nullable=False, nullable=True
            )


def downgrade() -> None:
    # Households still waiting for an address cannot be kept under the old schema.
    op.execute("DELETE FROM household WHERE address_line1 IS NULL OR postcode IS NULL")
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_column("version")
        for name, length in COLUMNS:
            batch_op.alter_column(
                name, existing_type=sa.String(length=length), existing_nullable=True, nullable=False
            )
