"""Survey results: SLT read their school's, the trust's admins every school's and the trust's,
small numbers suppressed (null). Under /reports, beside the programme reports."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from app.core.auth import require
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.permissions import Permission as P
from app.core.principal import Principal
from app.surveys import results
from app.surveys.models import SurveyAudience
from app.surveys.schemas import SurveyFreeText, SurveyResults

router = APIRouter(prefix="/reports", tags=["surveys"], route_class=IdempotentRoute)

Reader = Annotated[Principal, require(P.SURVEYS_RESULTS)]
AcademicYear = Annotated[
    str | None,
    Query(pattern=r"^\d{4}/\d{2}$", examples=["2026/27"], description="Only this year's."),
]


@router.get(
    "/programmes/{programme_id}/surveys",
    summary="A programme's survey results, by audience; null where suppressed",
)
async def get_programme_survey_results(
    programme_id: UUID, session: SessionDep, who: Reader
) -> SurveyResults:
    return await results.for_programme(session, who, programme_id)


@router.get(
    "/schools/{school_id}/surveys",
    summary="A school's survey results across its programmes; null where suppressed",
)
async def get_school_survey_results(
    school_id: UUID, session: SessionDep, who: Reader, academic_year: AcademicYear = None
) -> SurveyResults:
    return await results.for_school(session, who, school_id, academic_year)


@router.get(
    "/trusts/{trust_id}/surveys",
    summary="The trust's survey results with a row per school; null where suppressed",
)
async def get_trust_survey_results(
    trust_id: UUID, session: SessionDep, who: Reader, academic_year: AcademicYear = None
) -> SurveyResults:
    return await results.for_trust(session, who, trust_id, academic_year)


@router.get(
    "/programmes/{programme_id}/surveys/{audience}/free-text",
    summary="A closed survey's free-text answers, the words alone (SLT)",
)
async def list_survey_free_text(
    programme_id: UUID, audience: SurveyAudience, session: SessionDep, who: Reader
) -> SurveyFreeText:
    return await results.free_text(session, who, programme_id, audience)
