"""Safety alerts: a visit's adults overdue checking in or out, escalated until acknowledged

Revision ID: 2026_12_04_visit_alerts
Revises: 2026_12_04_visit_check_in
Create Date: 2026-12-04 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "2026_12_04_visit_alerts"
down_revision: str | None = "2026_12_04_visit_check_in"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, app.core.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "visit_alert",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        _when("raised_at", False),
        sa.Column("level", sa.Integer(), nullable=False),
        _when("acknowledged_at"),
        sa.Column("acknowledged_by", sa.Uuid(), nullable=True),
        _when("resolved_at"),
        sa.ForeignKeyConstraint(["trust_id"], ["trust.id"], name="fk_visit_alert_trust_id_trust"),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name="fk_visit_alert_school_id_school"
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visit.id"], name="fk_visit_alert_visit_id_visit", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["visit_programme.id"],
            name="fk_visit_alert_programme_id_visit_programme",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_visit_alert"),
        sa.UniqueConstraint("visit_id", "kind", name="uq_visit_alert_visit_id"),
    )
    op.create_index("ix_visit_alert_trust_id", "visit_alert", ["trust_id"])
    op.create_index("ix_visit_alert_school_id", "visit_alert", ["school_id"])
    op.create_index("ix_visit_alert_visit_id", "visit_alert", ["visit_id"])
    op.create_index("ix_visit_alert_programme_id", "visit_alert", ["programme_id"])


def downgrade() -> None:
    op.drop_table("visit_alert")
