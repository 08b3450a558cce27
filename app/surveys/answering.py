"""Answering a survey: a member of staff answers the surveys issued to them, a parent their
household's in the portal. Answers may be saved as a draft, checked as they are saved, until
submitted once; submitting checks them in full against the version issued (types, required,
skip logic).

An anonymous survey's response is written apart from its invitation: no invitation, staff
member or household on it, and only the week it came in. The invitation records only that it
was answered, and its draft is cleared. Raises NotFound (404: not the caller's survey, answered
exactly like a missing one), SurveyAlreadyAnswered (409), PreconditionFailed (412) and
Unprocessable (422).
"""

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.concurrency import ensure_matches, etag_of, save_versioned
from app.core.london import local_time
from app.core.principal import Principal
from app.core.types import utcnow
from app.notifications.wording import ENGLISH
from app.surveys import questions, repository
from app.surveys.exceptions import SurveyAlreadyAnswered
from app.surveys.models import SurveyInvitation, SurveyResponse, SurveyTemplate
from app.surveys.repository import InvitationRepository
from app.surveys.schemas import (
    SurveyAnswers,
    SurveyForm,
    SurveyInvitationSummary,
    SurveyQuestion,
    SurveySubmitted,
)


async def list_mine(session: AsyncSession, who: Principal) -> list[SurveyInvitationSummary]:
    """The caller's surveys, newest first."""
    invitations = await InvitationRepository(session, who).mine()
    titles: dict[UUID, str] = {}
    for invitation in invitations:
        if invitation.template_id not in titles:
            titles[invitation.template_id] = (await _template(session, invitation)).title
    return [
        SurveyInvitationSummary(
            id=i.id,
            audience=i.audience,
            programme_id=i.programme_id,
            title=titles[i.template_id],
            anonymous=i.anonymous,
            issued_at=i.issued_at,
            responded=i.responded,
        )
        for i in invitations
    ]


async def get_form(
    session: AsyncSession, who: Principal, invitation_id: UUID, language: str = ENGLISH
) -> tuple[SurveyForm, str]:
    invitation = await InvitationRepository(session, who).get(invitation_id)
    return await _form(session, invitation, language), etag_of(invitation)


async def save_draft(
    session: AsyncSession,
    who: Principal,
    invitation_id: UUID,
    body: SurveyAnswers,
    if_match: str | None,
    language: str = ENGLISH,
) -> tuple[SurveyForm, str]:
    """Keep the answers so far (replacing the last draft), each checked against its question."""
    invitation = await InvitationRepository(session, who).get_for_update(invitation_id)
    _ensure_open(invitation)
    ensure_matches(etag_of(invitation), if_match)
    template = await _template(session, invitation)
    questions.check_answers(template.questions, body.answers, complete=False)
    await save_versioned(session, invitation, {"draft": body.answers}, etag_of(invitation))
    return await _form(session, invitation, language), etag_of(invitation)


async def submit(
    session: AsyncSession,
    who: Principal,
    invitation_id: UUID,
    body: SurveyAnswers | None,
    if_match: str | None,
) -> SurveySubmitted:
    """Send the answers given (or, without a body, the draft) as the one response."""
    repository_ = InvitationRepository(session, who)
    invitation = await repository_.get_for_update(invitation_id)
    _ensure_open(invitation)
    ensure_matches(etag_of(invitation), if_match)
    template = await _template(session, invitation)
    answers: dict[str, Any] = body.answers if body is not None else dict(invitation.draft or {})
    questions.check_answers(template.questions, answers, complete=True)
    if not await repository_.mark_responded(invitation):
        raise _answered()
    week = week_of(local_time(utcnow()).date())
    repository.add_response(
        session,
        SurveyResponse(
            trust_id=invitation.trust_id,
            school_id=invitation.school_id,
            template_id=invitation.template_id,
            programme_id=invitation.programme_id,
            audience=invitation.audience,
            anonymous=invitation.anonymous,
            invitation_id=None if invitation.anonymous else invitation.id,
            week_date=week,
            answers=answers,
        ),
    )
    await session.flush()
    return SurveySubmitted(
        invitation_id=invitation.id,
        responded=True,
        anonymous=invitation.anonymous,
        week_date=week.isoformat(),
    )


def week_of(day: date) -> date:
    """The Monday of the week: all an anonymous response records of when it came in."""
    return day - timedelta(days=day.weekday())


def _ensure_open(invitation: SurveyInvitation) -> None:
    if invitation.responded:
        raise _answered()


def _answered() -> SurveyAlreadyAnswered:
    return SurveyAlreadyAnswered(
        "This survey has already been answered; a survey is answered once, and its answers "
        "cannot be changed after they are sent."
    )


async def _template(session: AsyncSession, invitation: SurveyInvitation) -> SurveyTemplate:
    template = await repository.template_by_id(session, invitation.template_id)
    assert template is not None, "an invitation's template is kept"
    return template


async def _form(session: AsyncSession, invitation: SurveyInvitation, language: str) -> SurveyForm:
    template = await _template(session, invitation)
    words: dict[str, Any] = template.translations.get(language) or {}
    return SurveyForm(
        id=invitation.id,
        audience=invitation.audience,
        anonymous=invitation.anonymous,
        title=words.get("title") or template.title,
        introduction=words.get("introduction") or template.introduction,
        language=language if words else ENGLISH,
        questions=[_translated(q, words.get("questions", {})) for q in template.questions],
        issued_at=invitation.issued_at,
        responded=invitation.responded,
        draft=invitation.draft or {},
    )


def _translated(question: dict[str, Any], translated: dict[str, Any]) -> SurveyQuestion:
    shown = SurveyQuestion.model_validate(question)
    words = translated.get(shown.id)
    if not words:
        return shown
    labels = words.get("options", {})
    options = [o.model_copy(update={"label": labels.get(o.value, o.label)}) for o in shown.options]
    return shown.model_copy(update={"text": words["text"], "options": options})
