"""Survey templates as the trust writes and reads them, and surveys as their respondents see
and answer them."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints
from sqlmodel import SQLModel

from app.core.schemas import Input, Output
from app.surveys.models import QuestionType, SurveyAudience

QuestionId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
OptionValue = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,39}$")]
# A likert point (1-5), yes (true) or no (false), or a choice's value.
AnswerValue = int | bool | str
Answer = AnswerValue | list[str]


class SurveyOption(Input):
    value: OptionValue = Field(description="Stable across versions and languages.")
    label: str = Field(min_length=1, max_length=200)


class ShowIf(Input):
    """Skip logic: ask this question only when an earlier one was answered `equals` (for a
    multiple choice, when `equals` is among the choices)."""

    question: QuestionId
    equals: AnswerValue


class SurveyQuestion(Input):
    id: QuestionId = Field(description="Stable across versions: answers compare by it.")
    type: QuestionType
    text: str = Field(min_length=1, max_length=500)
    required: bool = True
    options: list[SurveyOption] = Field(default_factory=list, max_length=20)
    show_if: ShowIf | None = None


class QuestionTranslation(Input):
    text: str = Field(min_length=1, max_length=500)
    options: dict[OptionValue, str] = Field(default_factory=dict)


class SurveyTranslation(Input):
    title: str = Field(min_length=1, max_length=200)
    introduction: str | None = Field(default=None, max_length=2000)
    questions: dict[QuestionId, QuestionTranslation] = Field(default_factory=dict)


class SurveyTemplateWrite(Input):
    """The whole template. Over a template already issued this makes the next version."""

    title: str = Field(min_length=1, max_length=200)
    introduction: str | None = Field(default=None, max_length=2000)
    anonymous: bool = True
    questions: list[SurveyQuestion] = Field(min_length=1, max_length=40)
    translations: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")], SurveyTranslation
    ] = Field(default_factory=dict, description="By ISO 639 language code (cy, pl, ur).")


class SurveyTemplateRead(Output):
    key: str
    version: int = Field(description="Raised each time an issued template is changed.")
    audience: SurveyAudience
    title: str
    introduction: str | None
    anonymous: bool
    questions: list[SurveyQuestion]
    translations: dict[str, SurveyTranslation]
    current: bool
    frozen: bool = Field(description="Issued: a change makes the next version.")
    updated_at: datetime


class SurveyForm(Output):
    """A survey as its respondent sees it: the questions in their language, and their draft."""

    id: UUID
    audience: SurveyAudience
    anonymous: bool
    title: str
    introduction: str | None
    language: str
    questions: list[SurveyQuestion]
    issued_at: datetime
    responded: bool
    draft: dict[str, Answer] = Field(default_factory=dict)


class SurveyInvitationSummary(Output):
    id: UUID
    audience: SurveyAudience
    programme_id: UUID
    title: str
    anonymous: bool
    issued_at: datetime
    responded: bool


class SurveyAnswers(Input):
    answers: dict[QuestionId, Answer] = Field(
        default_factory=dict, description="By question id; leave out what is not answered."
    )


class SurveySubmitted(SQLModel):
    invitation_id: UUID
    responded: bool
    anonymous: bool
    # The week it is recorded under (a Monday): all a stored anonymous response carries.
    week_date: str
