"""Re-plans of a visit day when adults are away

Revision ID: 2026_12_04_replans
Revises: 2026_12_04_day_duties
Create Date: 2026-12-04 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "2026_12_04_replans"
down_revision: str | None = "2026_12_04_day_duties"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "replan",
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("absent_staff_ids", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("proposed", "accepted", name="replanstatus", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("proposed_by", sa.Uuid(), nullable=True),
        sa.Column("accepted_by", sa.Uuid(), nullable=True),
        sa.Column("accepted_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("moved", sa.Integer(), nullable=False),
        sa.Column("restaffed", sa.Integer(), nullable=False),
        sa.Column("unplaced", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["visit_programme.id"],
            name=op.f("fk_replan_programme_id_visit_programme"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"], name=op.f("fk_replan_school_id_school")),
        sa.ForeignKeyConstraint(["trust_id"], ["trust.id"], name=op.f("fk_replan_trust_id_trust")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replan")),
    )
    with op.batch_alter_table("replan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_replan_programme_id"), ["programme_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_replan_school_id"), ["school_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_replan_trust_id"), ["trust_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("replan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replan_trust_id"))
        batch_op.drop_index(batch_op.f("ix_replan_school_id"))
        batch_op.drop_index(batch_op.f("ix_replan_programme_id"))
    op.drop_table("replan")
