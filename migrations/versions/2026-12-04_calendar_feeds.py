"""Staff members' private calendar feeds (the token's digest only)

Revision ID: 2026_12_04_calendar_feeds
Revises: 2026_12_04_change_requests
Create Date: 2026-12-04 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "2026_12_04_calendar_feeds"
down_revision: str | None = "2026_12_04_change_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feed",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["trust_id"], ["trust.id"], name="fk_calendar_feed_trust_id_trust"),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_member.id"], name="fk_calendar_feed_staff_id_staff_member"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_calendar_feed"),
        sa.UniqueConstraint("staff_id", name="uq_calendar_feed_staff_id"),
        sa.UniqueConstraint("token_digest", name="uq_calendar_feed_token_digest"),
    )
    op.create_index("ix_calendar_feed_trust_id", "calendar_feed", ["trust_id"])


def downgrade() -> None:
    op.drop_table("calendar_feed")
