"""Survey templates as the trust writes and reads them, surveys as their respondents see and
answer them, and their results as SLT and the trust read them, small numbers suppressed."""

from datetime import date, datetime
from enum import StrEnum
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


# Results: counts are null where suppressed (smaller than THRESHOLD_REPORTS_SUPPRESSED_BELOW,
# other than 0, or a second cell that would let the first be worked out from a total), and
# every count of answers is null while the survey is open.
SUPPRESSED = "Null where suppressed, and while the survey is open."


class ResultsScope(StrEnum):
    PROGRAMME = "programme"
    SCHOOL = "school"
    TRUST = "trust"


class AnswerCount(Output):
    value: str = Field(
        description="The answer: a Likert point ('1'–'5'), 'yes' or 'no', or a choice's value."
    )
    count: int | None = Field(description=f"Responses giving it. {SUPPRESSED}")


class QuestionResult(Output):
    id: str
    type: QuestionType
    text: str
    answered: int | None = Field(description=f"Responses answering it. {SUPPRESSED}")
    distribution: list[AnswerCount] | None = Field(
        description="Each answer's count (a multiple choice's options need not sum to "
        "`answered`); null for free text, whose answers are listed apart, and while open."
    )
    mean: float | None = Field(
        description="Likert only, 1–5: null unless its whole distribution shows (a mean "
        "beside a suppressed cell could give the cell away)."
    )
    median: float | None = Field(description="Likert only; shown exactly when the mean is.")
    change_from_immediate: float | None = Field(
        default=None,
        description="Follow-up Likert questions shared with the immediate survey: this mean "
        "minus the immediate survey's.",
    )


class SchoolSurveyResults(Output):
    """One school's row of a trust's results, suppressed against the trust's totals."""

    school_id: UUID
    school_name: str
    invited: int | None = Field(description="Null where suppressed.")
    responded: int | None = Field(description=SUPPRESSED)
    response_rate: float | None = Field(description="responded / invited, 0 to 1.")
    headline_mean: float | None
    questions: list[QuestionResult]


class SurveyAudienceResults(Output):
    """One audience's survey across the programmes of the scope."""

    audience: SurveyAudience
    template_key: str
    versions: list[int] = Field(description="The template's versions issued in the scope.")
    title: str | None
    open: bool = Field(
        description="Open while an invitation is unanswered and its last issue is less than "
        "THRESHOLD_SURVEYS_OPEN_DAYS old: no counts of responses show."
    )
    closes_on: date | None = Field(
        description="The last issue's date plus THRESHOLD_SURVEYS_OPEN_DAYS, or the day the "
        "last invitation was answered if everyone answered first (Europe/London)."
    )
    invited: int | None = Field(description="Null where suppressed.")
    responded: int | None = Field(description=SUPPRESSED)
    response_rate: float | None = Field(description="responded / invited, 0 to 1.")
    headline_mean: float | None = Field(
        description="Mean of the Likert answers (1–5) to the core questions: for teachers' "
        "surveys those both surveys ask, for parents' every Likert question."
    )
    change_from_immediate: float | None = Field(
        default=None,
        description="Follow-up only: its headline mean minus the immediate survey's.",
    )
    questions: list[QuestionResult]
    schools: list[SchoolSurveyResults] = Field(
        default_factory=list, description="One per school (trust results only)."
    )


class SurveyResults(Output):
    scope: ResultsScope
    scope_id: UUID
    academic_year: str | None
    suppressed_below: int = Field(description="Counts smaller than this (but 0) read null.")
    programme_ids: list[UUID]
    audiences: list[SurveyAudienceResults]


class FreeTextAnswers(Output):
    id: str
    text: str
    answers: list[str] = Field(description="The answers given, in alphabetical order.")


class SurveyFreeText(Output):
    """A programme's free-text answers for its SLT: the words alone, never who wrote them or
    when."""

    audience: SurveyAudience
    open: bool
    withheld: str | None = Field(
        description="Why nothing is listed (the survey is open, or has too few responses)."
    )
    questions: list[FreeTextAnswers]


class SurveyHeadlineFigures(SQLModel):
    """One audience's headline across a set of programmes, for the reports (the same fields as
    their survey headline). Counts are null while open or where suppressed."""

    audience: SurveyAudience
    open: bool
    closes_on: date | None
    invited: int | None
    responded: int | None
    response_rate: float | None
    headline_mean: float | None
    change_from_immediate: float | None = None
