"""Safeguarding: concerns, the pupils they name and their chronology, append-only (on PostgreSQL a
trigger refuses UPDATE and DELETE on all three tables)

Revision ID: 2026_12_04_safeguarding
Revises: 2026_12_04_replans
Create Date: 2026-12-04 16:22:57.138550
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "2026_12_04_safeguarding"
down_revision: str | None = "2026_12_04_replans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Child protection records are a chronology: nothing in them is changed or deleted, whoever asks
# (KCSIE). The API never does; on PostgreSQL the database refuses it too. A superuser's
# `session_replication_role = replica` (which the tests' table resets use) skips ordinary
# triggers, as it skips foreign keys: no application role can take it.
APPEND_ONLY = ("concern", "concern_pupil", "chronology_entry")
REFUSE = """
CREATE FUNCTION threshold_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: safeguarding records are append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def _append_only() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(REFUSE)
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION threshold_refuse_change()"
        )


def upgrade() -> None:
    op.create_table(
        "concern",
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("raised_by", sa.Uuid(), nullable=False),
        sa.Column("raised_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=True),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "physical",
                "emotional",
                "sexual_abuse",
                "neglect",
                "domestic_abuse",
                "exploitation",
                "online",
                "other",
                name="category",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "urgency",
            sa.Enum(
                "immediate_danger",
                "urgent",
                "routine",
                name="urgency",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(length=10000), nullable=False),
        sa.Column("occurred_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("said", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column("action_taken", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.ForeignKeyConstraint(
            ["raised_by"], ["staff_member.id"], name=op.f("fk_concern_raised_by_staff_member")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_concern_school_id_school")
        ),
        sa.ForeignKeyConstraint(["trust_id"], ["trust.id"], name=op.f("fk_concern_trust_id_trust")),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_concern_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concern")),
    )
    with op.batch_alter_table("concern", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_concern_raised_by"), ["raised_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_concern_school_id"), ["school_id"], unique=False)
        batch_op.create_index("ix_concern_school_raised", ["school_id", "raised_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_concern_trust_id"), ["trust_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_concern_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "chronology_entry",
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("concern_id", sa.Uuid(), nullable=False),
        sa.Column("at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "status",
                "note",
                "decision",
                "action",
                "contact",
                name="entrykind",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "raised",
                "acknowledged",
                "action_taken",
                "closed",
                "reopened",
                name="concernstatus",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column(
            "decision",
            sa.Enum(
                "no_further_action",
                "no_referral",
                "referral",
                "early_help",
                "monitor",
                "other",
                name="decision",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column(
            "action",
            sa.Enum(
                "referral_childrens_social_care",
                "referral_mash",
                "early_help",
                "police",
                "monitor",
                "other",
                name="actionkind",
                native_enum=False,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column("corrects_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["by"], ["staff_member.id"], name=op.f("fk_chronology_entry_by_staff_member")
        ),
        sa.ForeignKeyConstraint(
            ["concern_id"], ["concern.id"], name=op.f("fk_chronology_entry_concern_id_concern")
        ),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["chronology_entry.id"],
            name=op.f("fk_chronology_entry_corrects_id_chronology_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_chronology_entry_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name=op.f("fk_chronology_entry_trust_id_trust")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chronology_entry")),
    )
    with op.batch_alter_table("chronology_entry", schema=None) as batch_op:
        batch_op.create_index("ix_chronology_entry_concern_at", ["concern_id", "at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_chronology_entry_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chronology_entry_trust_id"), ["trust_id"], unique=False
        )

    op.create_table(
        "concern_pupil",
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("concern_id", sa.Uuid(), nullable=False),
        sa.Column("pupil_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("subject", "sibling", "other", name="pupilrole", native_enum=False, length=10),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["concern_id"], ["concern.id"], name=op.f("fk_concern_pupil_concern_id_concern")
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupil.id"], name=op.f("fk_concern_pupil_pupil_id_pupil")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_concern_pupil_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name=op.f("fk_concern_pupil_trust_id_trust")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concern_pupil")),
        sa.UniqueConstraint("concern_id", "pupil_id", name=op.f("uq_concern_pupil_concern_id")),
    )
    with op.batch_alter_table("concern_pupil", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_concern_pupil_concern_id"), ["concern_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_concern_pupil_pupil_id"), ["pupil_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_concern_pupil_school_id"), ["school_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_concern_pupil_trust_id"), ["trust_id"], unique=False)

    _append_only()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION threshold_refuse_change()")
    with op.batch_alter_table("concern_pupil", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_concern_pupil_trust_id"))
        batch_op.drop_index(batch_op.f("ix_concern_pupil_school_id"))
        batch_op.drop_index(batch_op.f("ix_concern_pupil_pupil_id"))
        batch_op.drop_index(batch_op.f("ix_concern_pupil_concern_id"))

    op.drop_table("concern_pupil")
    with op.batch_alter_table("chronology_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chronology_entry_trust_id"))
        batch_op.drop_index(batch_op.f("ix_chronology_entry_school_id"))
        batch_op.drop_index("ix_chronology_entry_concern_at")

    op.drop_table("chronology_entry")
    with op.batch_alter_table("concern", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_concern_visit_id"))
        batch_op.drop_index(batch_op.f("ix_concern_trust_id"))
        batch_op.drop_index("ix_concern_school_raised")
        batch_op.drop_index(batch_op.f("ix_concern_school_id"))
        batch_op.drop_index(batch_op.f("ix_concern_raised_by"))

    op.drop_table("concern")
