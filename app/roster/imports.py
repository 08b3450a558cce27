"""File imports for schools without an API feed: a OneRoster CSV bundle or a pupil-list CSV.

The upload is checked for what can be checked at once (a zip that is a zip, with safe names and
within its caps) and stored; a background job parses it and applies it through the same sync as
the JSON feed, with the same dry-run and on-error semantics. Its progress and outcome are read
at `GET /schools/{id}/roster-imports/{import_id}`.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, jobs
from app.core.csvio import read_csv
from app.core.db import open_session
from app.core.errors import ThresholdError, Unprocessable
from app.core.jobs import Job, JobContext, JobFailed, JobStatus
from app.core.permissions import Permission
from app.core.principal import Principal
from app.roster.importing import oneroster, pupil_csv
from app.roster.importing.errors import ImportRejection, UnreadableCsv
from app.roster.importing.pupil_csv import PupilCsvMapping, parse_pupil_csv
from app.roster.models import ImportFormat, RosterImport
from app.roster.repository import RosterImportRepository
from app.roster.service import apply_snapshot, school_for_roster_write
from app.roster.snapshot import RosterSnapshot
from app.roster.sync import Rejection, SyncReport
from app.trusts.models import School

JOB_KIND = "roster.import"
MAX_ZIP_UNCOMPRESSED = 200_000_000
MAX_ZIP_MEMBERS = 50


class ImportOptions(BaseModel):
    dry_run: bool = False
    skip_rejected: bool = False
    academic_year: str | None = None
    school_urn: str | None = None
    mapping: dict[str, Any] | None = None


class RosterImportRead(BaseModel):
    id: UUID
    school_id: UUID
    format: ImportFormat
    filename: str
    size_bytes: int
    dry_run: bool
    status: JobStatus
    rows_done: int
    rows_total: int | None
    report: SyncReport | None
    error: str | None
    errors: list[Rejection] = []
    created_at: datetime
    finished_at: datetime | None


async def start(
    session: AsyncSession,
    who: Principal,
    school_id: UUID,
    *,
    format: ImportFormat,
    filename: str,
    content: bytes,
    options: ImportOptions,
) -> RosterImportRead:
    school = await school_for_roster_write(session, who, school_id)
    _check_upload(format, content, options)
    job = await jobs.enqueue(session, JOB_KIND, {}, trust_id=school.trust_id, school_id=school.id)
    upload = RosterImport(
        trust_id=school.trust_id,
        school_id=school.id,
        job_id=job.id,
        format=format,
        filename=filename[:255],
        size_bytes=len(content),
        content=content,
        options=options.model_dump(),
        created_by=who.id,
    )
    session.add(upload)
    await session.flush()
    job.payload = {"import_id": str(upload.id)}
    await audit.record(
        session,
        who,
        "roster.import",
        subject_type="roster_import",
        subject_id=upload.id,
        school_id=school.id,
        details={"format": format.value, "bytes": len(content)},
    )
    return _read(upload, job)


def _check_upload(format: ImportFormat, content: bytes, options: ImportOptions) -> None:
    """What can be refused at once, before anything is stored."""
    if not content:
        raise Unprocessable("The uploaded file is empty.")
    if format is ImportFormat.ONEROSTER:
        oneroster.check_bundle(content, MAX_ZIP_UNCOMPRESSED, MAX_ZIP_MEMBERS)
        return
    if b"\x00" in content:
        # A NUL cannot be stored: refused now, naming the cell, rather than by the job.
        try:
            read_csv(content)
        except ValueError as exc:
            raise UnreadableCsv(pupil_csv.FILE, str(exc)) from None
    if options.mapping is not None:
        try:
            PupilCsvMapping.model_validate(options.mapping)
        except ValueError as exc:
            raise Unprocessable(f"mapping: {exc}") from None


async def get(
    session: AsyncSession, who: Principal, school_id: UUID, import_id: UUID
) -> RosterImportRead:
    repository = RosterImportRepository(session, who)
    upload = await repository.get(import_id)
    if upload.school_id != school_id:
        raise repository.not_found(import_id)
    who.ensure(Permission.ROSTER_WRITE, upload.school_id)
    job = await repository.job_of(upload)
    return _read(upload, job)


def _read(upload: RosterImport, job: Job) -> RosterImportRead:
    result = job.result or {}
    return RosterImportRead(
        id=upload.id,
        school_id=upload.school_id,
        format=upload.format,
        filename=upload.filename,
        size_bytes=upload.size_bytes,
        dry_run=bool(upload.options.get("dry_run")),
        status=job.status,
        rows_done=job.progress_done,
        rows_total=job.progress_total,
        report=SyncReport.model_validate(result["report"]) if "report" in result else None,
        error=job.error,
        errors=[Rejection.model_validate(e) for e in result.get("errors", [])],
        created_at=upload.created_at,
        finished_at=job.finished_at,
    )


@jobs.handler(JOB_KIND)
async def run_import(context: JobContext) -> dict[str, Any]:
    async with open_session(context.scope) as session:
        upload = await RosterImportRepository.for_job(session, UUID(context.payload["import_id"]))
        options = ImportOptions.model_validate(upload.options)
        try:
            snapshot, parse_rejections = _parse(upload, options)
        except ThresholdError as refusal:
            raise JobFailed(refusal.detail) from None
        await context.progress(0, len(snapshot.pupils))
        school = await session.get(School, upload.school_id)  # tenancy: the job's own school
        assert school is not None
        report = await _apply(session, school, snapshot, parse_rejections, options)
    await context.progress(len(snapshot.pupils))
    return {"report": report.model_dump(mode="json")}


def _parse(upload: RosterImport, options: ImportOptions) -> tuple[RosterSnapshot, list[Rejection]]:
    if upload.format is ImportFormat.ONEROSTER:
        parsed = oneroster.parse_oneroster(
            upload.content,
            school_urn=options.school_urn,
            academic_year=options.academic_year,
            max_uncompressed_bytes=MAX_ZIP_UNCOMPRESSED,
            max_members=MAX_ZIP_MEMBERS,
        )
        return parsed.snapshot, _rejections(parsed.rejected)
    mapping = PupilCsvMapping.model_validate(options.mapping or {})
    year = options.academic_year or _current_academic_year()
    result = parse_pupil_csv(upload.content, mapping, academic_year=year)
    return result.snapshot, _rejections(result.rejected)


def _rejections(found: list[ImportRejection]) -> list[Rejection]:
    return [Rejection(pointer=r.pointer, reason=r.reason) for r in found]


async def _apply(
    session: AsyncSession,
    school: School,
    snapshot: RosterSnapshot,
    parse_rejections: list[Rejection],
    options: ImportOptions,
) -> SyncReport:
    if parse_rejections and not options.skip_rejected and not options.dry_run:
        raise _rejected(parse_rejections)
    try:
        report = await apply_snapshot(
            session, school, snapshot, dry_run=options.dry_run, skip_rejected=options.skip_rejected
        )
    except ThresholdError as refusal:
        errors = [
            Rejection.model_validate(e | {"reason": e["detail"]})
            for e in refusal.extra.get("errors", [])
        ]
        raise _rejected(parse_rejections + errors) from None
    report.rejected = parse_rejections + report.rejected
    return report


def _rejected(rejections: list[Rejection]) -> JobFailed:
    first = "; ".join(f"{r.pointer}: {r.reason}" for r in rejections[:3])
    return JobFailed(
        f"{len(rejections)} row(s) rejected, nothing was changed: {first}. Fix the file, or "
        "import it with on_error=skip to apply the valid rows.",
        result={"errors": [r.model_dump() for r in rejections]},
    )


def _current_academic_year() -> str:
    from app.core.types import utcnow

    today = utcnow().date()
    start = today.year if today.month >= 8 else today.year - 1
    return f"{start}/{(start + 1) % 100:02d}"
