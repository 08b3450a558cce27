"""Survey invitations and responses for a programme, as its staff and families would leave them:
complete answers that pass the survey's own checks (skip logic included), Likert answers leaning
positive as real ones do, and a short sentence for some free-text questions."""

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from app.core.london import local_time
from app.core.models import FIRST_VERSION
from app.surveys import questions as rules
from app.surveys.models import (
    QuestionType,
    SurveyInvitation,
    SurveyResponse,
    SurveyTemplate,
)
from app.surveys.schemas import SurveyQuestion

LIKERT_WEIGHTS = (1, 2, 4, 8, 6)  # points 1 to 5
REMARKS = (
    "It was lovely to meet the teacher at home.",
    "My child talked about it all week.",
    "Could the visit be a little longer?",
    "We felt listened to.",
    "The children were excited to show their pets.",
    "It helped to see where each child does their reading.",
)


@dataclass(frozen=True)
class SurveyRows:
    invitations: list[SurveyInvitation]
    responses: list[SurveyResponse]


def answers(
    template: SurveyTemplate, rng: random.Random, likert: int | None = None
) -> dict[str, Any]:
    """One complete response to the template: each Likert answer `likert` when given."""
    asked = [SurveyQuestion.model_validate(q) for q in template.questions]
    given: dict[str, Any] = {}
    for question in asked:
        if question.id not in rules.shown(asked, given):
            continue
        value = _answer(question, rng, likert)
        if value is not None:
            given[question.id] = value
    rules.check_answers(template.questions, given, complete=True)
    return given


def _answer(question: SurveyQuestion, rng: random.Random, likert: int | None) -> Any:
    options = [option.value for option in question.options]
    kind = question.type
    if kind is QuestionType.LIKERT:
        return likert or rng.choices(range(1, 6), weights=LIKERT_WEIGHTS)[0]
    if kind is QuestionType.YES_NO:
        return rng.random() < 0.75
    if kind is QuestionType.SINGLE_CHOICE:
        return rng.choice(options)
    if kind is QuestionType.MULTIPLE_CHOICE:
        return rng.sample(options, rng.randint(0, len(options)))
    return rng.choice(REMARKS) if rng.random() < 0.6 else None


def survey_rows(
    template: SurveyTemplate,
    *,
    school_id: UUID,
    programme_id: UUID,
    invited: int,
    likert: Sequence[int | None],
    issued_at: datetime,
    seed: int = 1,
) -> SurveyRows:
    """`invited` invitations of the template at the programme, issued at `issued_at`; the first
    len(likert) answered a day later (each Likert answer of the i-th response `likert[i]`, or
    drawn when None), stored apart from their invitations as answering stores them."""
    rng = random.Random(seed)
    invitations = [
        _invitation(template, school_id, programme_id, issued_at, rng) for _ in range(invited)
    ]
    responses = []
    for invitation, point in zip(invitations, likert, strict=False):
        invitation.responded = True
        invitation.updated_at = issued_at + timedelta(days=1)
        responses.append(_response(invitation, answers(template, rng, point)))
    return SurveyRows(invitations, responses)


def _invitation(
    template: SurveyTemplate,
    school_id: UUID,
    programme_id: UUID,
    issued_at: datetime,
    rng: random.Random,
) -> SurveyInvitation:
    # Names nobody: the results read only whether it was answered.
    cause = uuid.UUID(int=rng.getrandbits(128), version=4)
    return SurveyInvitation(
        trust_id=template.trust_id,
        school_id=school_id,
        template_id=template.id,
        programme_id=programme_id,
        audience=template.audience,
        issue_key=f"{template.audience.value}:{programme_id}:{cause}",
        anonymous=template.anonymous,
        issued_at=issued_at,
        created_at=issued_at,
        updated_at=issued_at,
        version=FIRST_VERSION,
    )


def _response(invitation: SurveyInvitation, given: dict[str, Any]) -> SurveyResponse:
    answered_on = local_time(invitation.updated_at).date()
    return SurveyResponse(
        trust_id=invitation.trust_id,
        school_id=invitation.school_id,
        template_id=invitation.template_id,
        programme_id=invitation.programme_id,
        audience=invitation.audience,
        anonymous=invitation.anonymous,
        invitation_id=None if invitation.anonymous else invitation.id,
        week_date=answered_on - timedelta(days=answered_on.weekday()),
        answers=given,
    )
