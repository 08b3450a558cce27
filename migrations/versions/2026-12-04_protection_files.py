"""Child protection files: the legal hold, transfers to the school a pupil moves to and the concerns
each carried; the trust's review period (years after the date of birth)

Revision ID: 2026_12_04_protection_files
Revises: 2026_12_04_safeguarding
Create Date: 2026-12-04 19:10:30.780891
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "2026_12_04_protection_files"
down_revision: str | None = "2026_12_04_safeguarding"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "protection_file",
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pupil_id", sa.Uuid(), nullable=False),
        sa.Column("on_hold", sa.Boolean(), nullable=False),
        sa.Column("hold_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("hold_changed_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hold_changed_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hold_changed_by"],
            ["staff_member.id"],
            name=op.f("fk_protection_file_hold_changed_by_staff_member"),
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupil.id"], name=op.f("fk_protection_file_pupil_id_pupil")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_protection_file_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name=op.f("fk_protection_file_trust_id_trust")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protection_file")),
        sa.UniqueConstraint("pupil_id", name=op.f("uq_protection_file_pupil_id")),
    )
    with op.batch_alter_table("protection_file", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_protection_file_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_protection_file_trust_id"), ["trust_id"], unique=False)

    op.create_table(
        "protection_file_transfer",
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pupil_id", sa.Uuid(), nullable=False),
        sa.Column("sent_date", sa.Date(), nullable=False),
        sa.Column("sent_by", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "route",
            sa.Enum(
                "secure_electronic",
                "secure_email",
                "hand_delivery",
                "recorded_post",
                name="transferroute",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("to_school_id", sa.Uuid(), nullable=True),
        sa.Column("to_school_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("to_school_urn", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True),
        sa.Column("to_pupil_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_by", sa.Uuid(), nullable=True),
        sa.Column("confirmed_date", sa.Date(), nullable=True),
        sa.Column("confirmed_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("confirmation_recorded_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["confirmation_recorded_by"],
            ["staff_member.id"],
            name=op.f("fk_protection_file_transfer_confirmation_recorded_by_staff_member"),
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupil.id"], name=op.f("fk_protection_file_transfer_pupil_id_pupil")
        ),
        sa.ForeignKeyConstraint(
            ["received_by"],
            ["staff_member.id"],
            name=op.f("fk_protection_file_transfer_received_by_staff_member"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_protection_file_transfer_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["sent_by"],
            ["staff_member.id"],
            name=op.f("fk_protection_file_transfer_sent_by_staff_member"),
        ),
        sa.ForeignKeyConstraint(
            ["to_pupil_id"],
            ["pupil.id"],
            name=op.f("fk_protection_file_transfer_to_pupil_id_pupil"),
        ),
        sa.ForeignKeyConstraint(
            ["to_school_id"],
            ["school.id"],
            name=op.f("fk_protection_file_transfer_to_school_id_school"),
        ),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name=op.f("fk_protection_file_transfer_trust_id_trust")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protection_file_transfer")),
    )
    with op.batch_alter_table("protection_file_transfer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_protection_file_transfer_open", ["received_at", "confirmed_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_protection_file_transfer_pupil_id"), ["pupil_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_protection_file_transfer_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_protection_file_transfer_to_pupil_id"), ["to_pupil_id"], unique=False
        )
        batch_op.create_index(
            "ix_protection_file_transfer_to_school", ["to_school_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_protection_file_transfer_trust_id"), ["trust_id"], unique=False
        )

    op.create_table(
        "transferred_concern",
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("concern_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["concern_id"], ["concern.id"], name=op.f("fk_transferred_concern_concern_id_concern")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_transferred_concern_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["protection_file_transfer.id"],
            name=op.f("fk_transferred_concern_transfer_id_protection_file_transfer"),
        ),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name=op.f("fk_transferred_concern_trust_id_trust")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transferred_concern")),
        sa.UniqueConstraint(
            "transfer_id", "concern_id", name=op.f("uq_transferred_concern_transfer_id")
        ),
    )
    with op.batch_alter_table("transferred_concern", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transferred_concern_concern_id"), ["concern_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transferred_concern_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transferred_concern_transfer_id"), ["transfer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transferred_concern_trust_id"), ["trust_id"], unique=False
        )

    # SQLite cannot ALTER a table in place: batch mode rebuilds it. The server default fills the
    # trusts already there.
    with op.batch_alter_table("trust", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "safeguarding_review_years", sa.Integer(), server_default="25", nullable=False
            )
        )


def downgrade() -> None:
    # Dropping a column rebuilds the trust table on SQLite: with foreign keys on, dropping the old
    # table is refused while schools and staff refer to it.
    with _sqlite_foreign_keys_off(), op.batch_alter_table("trust", schema=None) as batch_op:
        batch_op.drop_column("safeguarding_review_years")

    with op.batch_alter_table("transferred_concern", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transferred_concern_trust_id"))
        batch_op.drop_index(batch_op.f("ix_transferred_concern_transfer_id"))
        batch_op.drop_index(batch_op.f("ix_transferred_concern_school_id"))
        batch_op.drop_index(batch_op.f("ix_transferred_concern_concern_id"))

    op.drop_table("transferred_concern")
    with op.batch_alter_table("protection_file_transfer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_protection_file_transfer_trust_id"))
        batch_op.drop_index("ix_protection_file_transfer_to_school")
        batch_op.drop_index(batch_op.f("ix_protection_file_transfer_to_pupil_id"))
        batch_op.drop_index(batch_op.f("ix_protection_file_transfer_school_id"))
        batch_op.drop_index(batch_op.f("ix_protection_file_transfer_pupil_id"))
        batch_op.drop_index("ix_protection_file_transfer_open")

    op.drop_table("protection_file_transfer")
    with op.batch_alter_table("protection_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_protection_file_trust_id"))
        batch_op.drop_index(batch_op.f("ix_protection_file_school_id"))

    op.drop_table("protection_file")


@contextmanager
def _sqlite_foreign_keys_off() -> Iterator[None]:
    """The pragma only changes outside a transaction, hence the autocommit blocks."""
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
