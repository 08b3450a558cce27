"""Surveys: the trust's templates (versioned once issued), the invitations issued from them, and
the responses, kept apart from the invitations so that an anonymous one cannot be traced back."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped, Timestamped, TrustScoped, Versioned
from app.core.types import UTCDateTime, enum_type, utcnow


class SurveyAudience(StrEnum):
    """Who answers, and when. Each audience has one template per trust (its key)."""

    TEACHER_IMMEDIATE = "teacher_immediate"  # a teacher, once their last visit is recorded
    TEACHER_FOLLOW_UP = "teacher_follow_up"  # the same teacher, a month later
    PARENT = "parent"  # a family, after their visit


STAFF_AUDIENCES = frozenset({SurveyAudience.TEACHER_IMMEDIATE, SurveyAudience.TEACHER_FOLLOW_UP})


class QuestionType(StrEnum):
    LIKERT = "likert"  # 1 (strongly disagree) to 5 (strongly agree)
    YES_NO = "yes_no"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    FREE_TEXT = "free_text"


class SurveyTemplate(Identified, Timestamped, Versioned, TrustScoped, table=True):
    """One version of a trust's survey. Once issued it is frozen: a change is a new version
    under the same key, and the invitations already out keep the version they were issued."""

    __tablename__ = "survey_template"
    __table_args__ = (
        UniqueConstraint("trust_id", "key", "version_number", name="uq_survey_template_version"),
    )

    key: str = Field(max_length=40)
    version_number: int = 1
    audience: SurveyAudience = Field(sa_type=enum_type(SurveyAudience, 20))
    title: str = Field(max_length=200)
    introduction: str | None = Field(default=None, max_length=2000)
    # Fixed on each invitation when it is issued: editing this later never unmasks anyone.
    anonymous: bool = True
    # The questions as SurveyQuestion dicts (schemas.py), in the order they are asked.
    questions: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    # Language code → {"title", "introduction", "questions": {id: {"text", "options": {…}}}}.
    translations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # The newest version of its key: the one issued from now on.
    current: bool = True
    updated_by: UUID | None = None


class SurveyInvitation(Identified, Timestamped, Versioned, SchoolScoped, table=True):
    """A survey issued to one member of staff or one household. It records whether they have
    answered, never what; their draft answers live here only until they submit."""

    __tablename__ = "survey_invitation"
    __table_args__ = (
        # One invitation for each cause (the programme's survey of this person or household):
        # issuing twice, or on two workers at once, issues once.
        UniqueConstraint("issue_key", name="uq_survey_invitation_issue_key"),
        Index("ix_survey_invitation_staff", "staff_id"),
        Index("ix_survey_invitation_household", "household_id"),
        Index("ix_survey_invitation_open", "responded", "audience"),
    )

    template_id: UUID = Field(foreign_key="survey_template.id")
    programme_id: UUID = Field(foreign_key="visit_programme.id", ondelete="CASCADE")
    audience: SurveyAudience = Field(sa_type=enum_type(SurveyAudience, 20))
    staff_id: UUID | None = Field(default=None, foreign_key="staff_member.id")
    household_id: UUID | None = Field(default=None, foreign_key="household.id")
    issue_key: str = Field(max_length=120)
    anonymous: bool
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Answers saved but not yet sent: the respondent's own, cleared when they submit.
    draft: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    responded: bool = False
    reminders_sent: int = 0
    last_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SurveyResponse(Identified, SchoolScoped, table=True):
    """A submitted response. When anonymous it names no invitation, staff member or household,
    and carries no timestamp: only the week it came in (a Monday), too coarse to match against
    when an invitation was marked answered. Its id is random (uuid4), so it orders nothing."""

    __tablename__ = "survey_response"
    __table_args__ = (Index("ix_survey_response_template", "template_id"),)

    template_id: UUID = Field(foreign_key="survey_template.id")
    programme_id: UUID = Field(foreign_key="visit_programme.id", ondelete="CASCADE")
    audience: SurveyAudience = Field(sa_type=enum_type(SurveyAudience, 20))
    anonymous: bool
    # Only when the survey was issued as named: then, and only then, it may be traced.
    invitation_id: UUID | None = Field(default=None, foreign_key="survey_invitation.id")
    week_date: date
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
