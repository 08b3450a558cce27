"""The outbox: messages, their attempts, a trust's wording of each kind, and the log of what
would have been sent outside production

Revision ID: 2026_12_03_message_outbox
Revises: 2026_12_03_invitation_version
Create Date: 2026-12-03 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "2026_12_03_message_outbox"
down_revision: str | None = "2026_12_03_invitation_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, app.core.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "message",
        sa.Column("id", sa.Uuid(), nullable=False),
        _when("created_at", False),
        _when("updated_at", False),
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=True),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("recipient_type", sa.String(length=10), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("cause_kind", sa.String(length=40), nullable=False),
        sa.Column("cause_id", sa.Uuid(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _when("send_after", False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        _when("locked_until"),
        sa.Column("ambiguous", sa.Boolean(), nullable=False),
        sa.Column("notify_id", sa.String(length=64), nullable=True),
        _when("sent_at"),
        _when("delivered_at"),
        _when("failed_at"),
        sa.Column("status_reason", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["trust_id"], ["trust.id"], name="fk_message_trust_id_trust"),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"], name="fk_message_school_id_school"),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["visit_programme.id"],
            name="fk_message_programme_id_visit_programme",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name="fk_message_household_id_household"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_message"),
        sa.UniqueConstraint(
            "cause_kind", "cause_id", "recipient_id", "channel", name="uq_message_cause_recipient"
        ),
    )
    op.create_index("ix_message_trust_id", "message", ["trust_id"])
    op.create_index("ix_message_school_id", "message", ["school_id"])
    op.create_index("ix_message_due", "message", ["status", "send_after"])
    op.create_index("ix_message_programme_created", "message", ["programme_id", "created_at"])
    op.create_index("ix_message_household", "message", ["household_id"])
    op.create_index("ix_message_notify_id", "message", ["notify_id"])

    op.create_table(
        "message_attempt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        _when("attempted_at", False),
        sa.Column("worker", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name="fk_message_attempt_trust_id_trust"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name="fk_message_attempt_school_id_school"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name="fk_message_attempt_message_id_message",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_message_attempt"),
    )
    op.create_index("ix_message_attempt_trust_id", "message_attempt", ["trust_id"])
    op.create_index("ix_message_attempt_school_id", "message_attempt", ["school_id"])
    op.create_index("ix_message_attempt_message_id", "message_attempt", ["message_id"])

    op.create_table(
        "message_template",
        sa.Column("id", sa.Uuid(), nullable=False),
        _when("created_at", False),
        _when("updated_at", False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.String(length=5000), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name="fk_message_template_trust_id_trust"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_message_template"),
        sa.UniqueConstraint("trust_id", "kind", "channel", "language", name="uq_message_template"),
    )
    op.create_index("ix_message_template_trust_id", "message_template", ["trust_id"])

    op.create_table(
        "logged_message",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        _when("logged_at", False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("to", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.String(length=5000), nullable=False),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name="fk_logged_message_trust_id_trust"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name="fk_logged_message_school_id_school"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name="fk_logged_message_message_id_message",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_logged_message"),
    )
    op.create_index("ix_logged_message_trust_id", "logged_message", ["trust_id"])
    op.create_index("ix_logged_message_school_id", "logged_message", ["school_id"])
    op.create_index("ix_logged_message_message_id", "logged_message", ["message_id"])


def downgrade() -> None:
    op.drop_table("logged_message")
    op.drop_table("message_template")
    op.drop_table("message_attempt")
    op.drop_table("message")
