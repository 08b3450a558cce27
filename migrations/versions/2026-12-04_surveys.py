"""Surveys: the trust's survey templates (versioned once issued), the invitations issued from
them, and the responses, kept apart from the invitations (an anonymous one names no invitation,
person or household, and only the week it came in)

Revision ID: 2026_12_04_surveys
Revises: 2026_12_04_subject_access
Create Date: 2026-12-04 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "2026_12_04_surveys"
down_revision: str | None = "2026_12_04_subject_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey_template",
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column(
            "audience",
            sa.Enum(
                "teacher_immediate",
                "teacher_follow_up",
                "parent",
                name="surveyaudience",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("introduction", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("translations", sa.JSON(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name=op.f("fk_survey_template_trust_id_trust")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_template")),
        sa.UniqueConstraint("trust_id", "key", "version_number", name="uq_survey_template_version"),
    )
    with op.batch_alter_table("survey_template", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_template_trust_id"), ["trust_id"], unique=False)

    op.create_table(
        "survey_invitation",
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column(
            "audience",
            sa.Enum(
                "teacher_immediate",
                "teacher_follow_up",
                "parent",
                name="surveyaudience",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("issue_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("issued_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=True),
        sa.Column("responded", sa.Boolean(), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("last_reminded_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_survey_invitation_household_id_household"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["visit_programme.id"],
            name=op.f("fk_survey_invitation_programme_id_visit_programme"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_survey_invitation_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_member.id"],
            name=op.f("fk_survey_invitation_staff_id_staff_member"),
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["survey_template.id"],
            name=op.f("fk_survey_invitation_template_id_survey_template"),
        ),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name=op.f("fk_survey_invitation_trust_id_trust")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invitation")),
        sa.UniqueConstraint("issue_key", name="uq_survey_invitation_issue_key"),
    )
    with op.batch_alter_table("survey_invitation", schema=None) as batch_op:
        batch_op.create_index("ix_survey_invitation_household", ["household_id"], unique=False)
        batch_op.create_index("ix_survey_invitation_open", ["responded", "audience"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_survey_invitation_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index("ix_survey_invitation_staff", ["staff_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_survey_invitation_trust_id"), ["trust_id"], unique=False
        )

    op.create_table(
        "survey_response",
        sa.Column("trust_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column(
            "audience",
            sa.Enum(
                "teacher_immediate",
                "teacher_follow_up",
                "parent",
                name="surveyaudience",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("invitation_id", sa.Uuid(), nullable=True),
        sa.Column("week_date", sa.Date(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["survey_invitation.id"],
            name=op.f("fk_survey_response_invitation_id_survey_invitation"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["visit_programme.id"],
            name=op.f("fk_survey_response_programme_id_visit_programme"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_survey_response_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["survey_template.id"],
            name=op.f("fk_survey_response_template_id_survey_template"),
        ),
        sa.ForeignKeyConstraint(
            ["trust_id"], ["trust.id"], name=op.f("fk_survey_response_trust_id_trust")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_response")),
    )
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_response_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index("ix_survey_response_template", ["template_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_response_trust_id"), ["trust_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_response_trust_id"))
        batch_op.drop_index("ix_survey_response_template")
        batch_op.drop_index(batch_op.f("ix_survey_response_school_id"))

    op.drop_table("survey_response")
    with op.batch_alter_table("survey_invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_invitation_trust_id"))
        batch_op.drop_index("ix_survey_invitation_staff")
        batch_op.drop_index(batch_op.f("ix_survey_invitation_school_id"))
        batch_op.drop_index("ix_survey_invitation_open")
        batch_op.drop_index("ix_survey_invitation_household")

    op.drop_table("survey_invitation")
    with op.batch_alter_table("survey_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_template_trust_id"))

    op.drop_table("survey_template")
