"""The duty rota: each visit day's safety contact, on-call DSL and deputies

Revision ID: 2026_12_04_day_duties
Revises: 2026_12_04_visit_alerts
Create Date: 2026-12-04 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "2026_12_04_day_duties"
down_revision: str | None = "2026_12_04_visit_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "day_duty",
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "duty",
            sa.Enum(
                "safety_contact",
                "dsl_on_call",
                "dsl_deputy",
                name="duty",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("named_by", sa.Uuid(), nullable=True),
        sa.Column("named_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["visit_programme.id"],
            name=op.f("fk_day_duty_programme_id_visit_programme"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_day_duty_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_member.id"], name=op.f("fk_day_duty_staff_id_staff_member")
        ),
        sa.ForeignKeyConstraint(["trust_id"], ["trust.id"], name=op.f("fk_day_duty_trust_id_trust")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_day_duty")),
        sa.UniqueConstraint(
            "programme_id", "day", "duty", "staff_id", name=op.f("uq_day_duty_programme_id")
        ),
    )
    with op.batch_alter_table("day_duty", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_day_duty_school_id"), ["school_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_day_duty_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_day_duty_trust_id"), ["trust_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("day_duty", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_day_duty_trust_id"))
        batch_op.drop_index(batch_op.f("ix_day_duty_staff_id"))
        batch_op.drop_index(batch_op.f("ix_day_duty_school_id"))
    op.drop_table("day_duty")
