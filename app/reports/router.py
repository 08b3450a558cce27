"""Reports: how a programme, a school's year or the trust's year reached its families, as JSON for
clients and CSV for spreadsheets (each CSV export audited)."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from app.core.auth import require
from app.core.csvio import csv_download
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.permissions import Permission as P
from app.core.principal import Principal
from app.reports import service, termly
from app.reports.schemas import Report, ReportScope

reports = APIRouter(prefix="/reports", tags=["reports"], route_class=IdempotentRoute)

Reader = Annotated[Principal, require(P.REPORTS_READ)]
AcademicYear = Annotated[
    str | None,
    Query(
        pattern=r"^\d{4}/\d{2}$",
        examples=["2026/27"],
        description="The academic year; the latest with a programme when not given.",
    ),
]
HTML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}}
}
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


@reports.get(
    "/programmes/{programme_id}",
    summary="A programme's report: reach (by class, year group, pupil group and day), staff "
    "load, preferences met, concerns raised (a count) and survey headlines",
)
async def programme_report(programme_id: UUID, session: SessionDep, who: Reader) -> Report:
    return await service.programme_report(session, who, programme_id)


@reports.get(
    "/programmes/{programme_id}/export.csv",
    summary="A programme's report as CSV (audited)",
    response_class=Response,
    responses=CSV_RESPONSE,
)
async def programme_report_csv(programme_id: UUID, session: SessionDep, who: Reader) -> Response:
    """One row per part, pupil group, day and figure, each with its `section`."""
    _, text = await service.report_csv(session, who, ReportScope.PROGRAMME, programme_id)
    return csv_download(text, f"programme-{programme_id}.csv")


@reports.get(
    "/schools/{school_id}",
    summary="A school's report over its programmes of the year",
)
async def school_report(
    school_id: UUID, session: SessionDep, who: Reader, academic_year: AcademicYear = None
) -> Report:
    return await service.school_report(session, who, school_id, academic_year)


@reports.get(
    "/schools/{school_id}/export.csv",
    summary="A school's report as CSV (audited)",
    response_class=Response,
    responses=CSV_RESPONSE,
)
async def school_report_csv(
    school_id: UUID, session: SessionDep, who: Reader, academic_year: AcademicYear = None
) -> Response:
    _, text = await service.report_csv(session, who, ReportScope.SCHOOL, school_id, academic_year)
    return csv_download(text, f"school-{school_id}.csv")


@reports.get(
    "/trusts/{trust_id}",
    summary="The trust's report over every school's programmes of the year (by school)",
)
async def trust_report(
    trust_id: UUID, session: SessionDep, who: Reader, academic_year: AcademicYear = None
) -> Report:
    return await service.trust_report(session, who, trust_id, academic_year)


@reports.get(
    "/trusts/{trust_id}/export.csv",
    summary="The trust's report as CSV (audited)",
    response_class=Response,
    responses=CSV_RESPONSE,
)
async def trust_report_csv(
    trust_id: UUID, session: SessionDep, who: Reader, academic_year: AcademicYear = None
) -> Response:
    _, text = await service.report_csv(session, who, ReportScope.TRUST, trust_id, academic_year)
    return csv_download(text, f"trust-{trust_id}.csv")


@reports.get(
    "/schools/{school_id}/termly.html",
    summary="A school's termly impact report: a printable page with its charts, each beside "
    "its table (no JavaScript)",
    response_class=Response,
    responses=HTML_RESPONSE,
)
async def school_termly_report(
    school_id: UUID, session: SessionDep, who: Reader, academic_year: AcademicYear = None
) -> Response:
    report = await service.school_report(session, who, school_id, academic_year)
    return termly.html_response(report)


@reports.get(
    "/trusts/{trust_id}/termly.html",
    summary="The trust's termly impact report: a printable page with its charts, each beside "
    "its table, and a row per school (no JavaScript)",
    response_class=Response,
    responses=HTML_RESPONSE,
)
async def trust_termly_report(
    trust_id: UUID, session: SessionDep, who: Reader, academic_year: AcademicYear = None
) -> Response:
    report = await service.trust_report(session, who, trust_id, academic_year)
    return termly.html_response(report)
