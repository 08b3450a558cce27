"""An integration client's row version, the source of its ETag

Revision ID: 2026_12_03_client_version
Revises: 2026_12_03_contact_landline
Create Date: 2026-12-03 18:20:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_03_client_version"
down_revision: str | None = "2026_12_03_contact_landline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("integration_client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with _foreign_keys_off_on_sqlite(), op.batch_alter_table("integration_client") as batch_op:
        batch_op.drop_column("version")


@contextmanager
def _foreign_keys_off_on_sqlite() -> Iterator[None]:
    """SQLite rebuilds the table to drop a column; with foreign keys on, dropping the old table
    would delete every client's schools (ON DELETE CASCADE). The pragma changes only outside a
    transaction, hence the autocommit blocks."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    with op.get_context().autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=ON")
