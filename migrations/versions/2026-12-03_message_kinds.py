"""Messages of every kind: a school's office phone (families are told to ring it) and the days
before preferences close that a programme reminds families who have not answered

Revision ID: 2026_12_03_message_kinds
Revises: 2026_12_03_message_outbox
Create Date: 2026-12-03 22:00:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_03_message_kinds"
down_revision: str | None = "2026_12_03_message_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("school") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
    with op.batch_alter_table("visit_programme") as batch:
        batch.add_column(
            sa.Column("answer_reminder_days", sa.Integer(), nullable=False, server_default="3")
        )


def downgrade() -> None:
    with _sqlite_foreign_keys_off():
        with op.batch_alter_table("visit_programme") as batch:
            batch.drop_column("answer_reminder_days")
        with op.batch_alter_table("school") as batch:
            batch.drop_column("phone")


@contextmanager
def _sqlite_foreign_keys_off() -> Iterator[None]:
    """Dropping a column rebuilds the table on SQLite; with foreign keys on, dropping the old
    school or programme table would delete (ON DELETE CASCADE) or refuse what refers to it. The
    pragma only changes outside a transaction, hence the autocommit blocks."""
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
