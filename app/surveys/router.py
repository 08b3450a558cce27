"""Surveys: the trust's templates, and answering the surveys issued to the caller (staff here,
parents in the portal)."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from app.core.auth import require
from app.core.concurrency import IfMatch
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.permissions import Permission as P
from app.core.principal import Principal, PrincipalKind
from app.notifications.wording import ENGLISH, LANGUAGE_SHAPE
from app.surveys import answering, service
from app.surveys.models import SurveyAudience
from app.surveys.schemas import (
    SurveyAnswers,
    SurveyForm,
    SurveyInvitationSummary,
    SurveySubmitted,
    SurveyTemplateRead,
    SurveyTemplateWrite,
)

templates = APIRouter(
    prefix="/trusts/{trust_id}/survey-templates", tags=["surveys"], route_class=IdempotentRoute
)
staff_side = APIRouter(prefix="/survey-invitations", tags=["surveys"], route_class=IdempotentRoute)
parent = APIRouter(prefix="/parent/surveys", tags=["surveys"], route_class=IdempotentRoute)

Reader = Annotated[Principal, require(P.SURVEYS_TEMPLATES_READ)]
Writer = Annotated[Principal, require(P.SURVEYS_TEMPLATES)]
Respondent = Annotated[Principal, require(P.SURVEYS_ANSWER)]
Parent = Annotated[Principal, require(P.PARENT_PORTAL, kinds=frozenset({PrincipalKind.PARENT}))]
Language = Annotated[
    str,
    Query(pattern=LANGUAGE_SHAPE, description="The language to show it in, where translated."),
]
ANSWERING: dict[int | str, dict[str, Any]] = {
    409: {"description": "The survey has already been answered"},
    422: {"description": "An answer of the wrong kind, or a required one missing"},
}


@templates.get("", summary="The current version of each of the trust's surveys")
async def list_survey_templates(
    trust_id: UUID, session: SessionDep, who: Reader
) -> list[SurveyTemplateRead]:
    return await service.list_templates(session, who, trust_id)


@templates.get("/{template_key}", summary="One survey, at its current version or another")
async def get_survey_template(
    trust_id: UUID,
    template_key: SurveyAudience,
    session: SessionDep,
    response: Response,
    who: Reader,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> SurveyTemplateRead:
    read, tag = await service.get_template(session, who, trust_id, template_key, version)
    response.headers["ETag"] = tag
    return read


@templates.put(
    "/{template_key}",
    summary="Change the trust's survey (trust admins); once issued, as its next version",
    responses={422: {"description": "A question or a condition that cannot be asked"}},
)
async def save_survey_template(
    trust_id: UUID,
    template_key: SurveyAudience,
    body: SurveyTemplateWrite,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Writer,
) -> SurveyTemplateRead:
    read, tag = await service.save_template(session, who, trust_id, template_key, body, if_match)
    response.headers["ETag"] = tag
    return read


@staff_side.get("", summary="The surveys issued to me, newest first")
async def list_my_surveys(session: SessionDep, who: Respondent) -> list[SurveyInvitationSummary]:
    return await answering.list_mine(session, who)


@staff_side.get("/{invitation_id}", summary="A survey issued to me: its questions and my draft")
async def get_my_survey(
    invitation_id: UUID, session: SessionDep, response: Response, who: Respondent
) -> SurveyForm:
    form, tag = await answering.get_form(session, who, invitation_id)
    response.headers["ETag"] = tag
    return form


@staff_side.put(
    "/{invitation_id}/answers",
    summary="Save my answers so far, as a draft",
    responses=ANSWERING,
)
async def save_my_answers(
    invitation_id: UUID,
    body: SurveyAnswers,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Respondent,
) -> SurveyForm:
    form, tag = await answering.save_draft(session, who, invitation_id, body, if_match)
    response.headers["ETag"] = tag
    return form


@staff_side.post(
    "/{invitation_id}/submit",
    status_code=200,
    summary="Send my answers (those given, or else my draft), once",
    responses=ANSWERING,
)
async def submit_my_answers(
    invitation_id: UUID,
    session: SessionDep,
    if_match: IfMatch,
    who: Respondent,
    body: SurveyAnswers | None = None,
) -> SurveySubmitted:
    return await answering.submit(session, who, invitation_id, body, if_match)


@parent.get("", summary="The household's surveys in this programme")
async def list_family_surveys(session: SessionDep, who: Parent) -> list[SurveyInvitationSummary]:
    return await answering.list_mine(session, who)


@parent.get("/{survey_id}", summary="The household's survey: its questions and the draft")
async def get_family_survey(
    survey_id: UUID,
    session: SessionDep,
    response: Response,
    who: Parent,
    language: Language = ENGLISH,
) -> SurveyForm:
    form, tag = await answering.get_form(session, who, survey_id, language)
    response.headers["ETag"] = tag
    return form


@parent.put(
    "/{survey_id}/answers",
    summary="Save the household's answers so far, as a draft",
    responses=ANSWERING,
)
async def save_family_answers(
    survey_id: UUID,
    body: SurveyAnswers,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Parent,
    language: Language = ENGLISH,
) -> SurveyForm:
    form, tag = await answering.save_draft(session, who, survey_id, body, if_match, language)
    response.headers["ETag"] = tag
    return form


@parent.post(
    "/{survey_id}/submit",
    status_code=200,
    summary="Send the household's answers (those given, or else the draft), once",
    responses=ANSWERING,
)
async def submit_family_answers(
    survey_id: UUID,
    session: SessionDep,
    if_match: IfMatch,
    who: Parent,
    body: SurveyAnswers | None = None,
) -> SurveySubmitted:
    return await answering.submit(session, who, survey_id, body, if_match)
