"""Subject access requests, with a DSL's release of safeguarding records into the export

Revision ID: 2026_12_04_subject_access
Revises: 2026_12_04_staff_work_mobile
Create Date: 2026-12-04 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.types import UTCDateTime

revision: str = "2026_12_04_subject_access"
down_revision: str | None = "2026_12_04_staff_work_mobile"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "subject_access_request"


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        _when("created_at", False),
        _when("updated_at", False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("pupil_id", sa.Uuid(), nullable=False),
        sa.Column(
            "requester",
            sa.Enum(
                "parent",
                "pupil",
                "representative",
                name="requester",
                native_enum=False,
                length=14,
            ),
            nullable=False,
        ),
        sa.Column("requester_name", sa.String(length=200), nullable=False),
        sa.Column("received_date", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        _when("safeguarding_released_at"),
        sa.Column("safeguarding_released_by", sa.Uuid(), nullable=True),
        sa.Column("safeguarding_release_reason", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["trust_id"], ["trust.id"], name=f"fk_{TABLE}_trust_id_trust"),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"], name=f"fk_{TABLE}_school_id_school"),
        sa.ForeignKeyConstraint(["pupil_id"], ["pupil.id"], name=f"fk_{TABLE}_pupil_id_pupil"),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["staff_member.id"], name=f"fk_{TABLE}_recorded_by_staff_member"
        ),
        sa.ForeignKeyConstraint(
            ["safeguarding_released_by"],
            ["staff_member.id"],
            name=f"fk_{TABLE}_safeguarding_released_by_staff_member",
        ),
        sa.PrimaryKeyConstraint("id", name=f"pk_{TABLE}"),
    )
    op.create_index(f"ix_{TABLE}_trust_id", TABLE, ["trust_id"])
    op.create_index(f"ix_{TABLE}_school_id", TABLE, ["school_id"])
    op.create_index(f"ix_{TABLE}_pupil_id", TABLE, ["pupil_id"])


def downgrade() -> None:
    op.drop_table(TABLE)
