"""Integration clients count their secret rotations; tokens of an earlier secret stop working

Revision ID: 2026_12_03_secret_version
Revises: 2026_12_03_programme_life
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op


revision: str = '2026_12_03_secret_version'
down_revision: str | None = '2026_12_03_programme_life'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('integration_client', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('secret_version', sa.Integer(), server_default='1', nullable=False)
        )


def downgrade() -> None:
    with _sqlite_foreign_keys_off(), op.batch_alter_table(
        'integration_client', schema=None
    ) as batch_op:
        batch_op.drop_column('secret_version')


@contextmanager
def _sqlite_foreign_keys_off() -> Iterator[None]:
    """Dropping a column rebuilds the table on SQLite, and with foreign keys on, dropping the
    old table would delete every client's schools (ON DELETE CASCADE). The pragma only changes
    outside a transaction, hence the autocommit blocks."""
    if op.get_bind().dialect.name != 'sqlite':
        yield
        return
    with op.get_context().autocommit_block():
        op.execute('PRAGMA foreign_keys=OFF')
    try:
        yield
    finally:
        with op.get_context().autocommit_block():
            op.execute('PRAGMA foreign_keys=ON')
