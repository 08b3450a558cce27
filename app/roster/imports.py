"""File imports for schools without an API feed: a OneRoster CSV bundle or a pupil-list CSV.

The upload is checked for what can be checked cheaply (a zip that is a zip, whose directory
keeps within the caps and names safe files; a manifest, orgs.csv naming this school, header rows
with the columns needed), then stored and answered 202. A background job unpacks and parses it
under the same caps and applies it through the same sync as the JSON feed, with the same
dry-run and on-error semantics; a cap hit there fails the import with its reason. Both the
checks and the parsing run in a thread, so that a large or hostile file never holds up the event
loop serving other requests. Progress and outcome are read at
`GET /schools/{id}/roster-imports/{import_id}`.
"""

import asyncio
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, jobs
from app.core.db import open_session
from app.core.errors import ThresholdError, Unprocessable, clean_message, joined
from app.core.jobs import Job, JobContext, JobFailed, JobStatus
from app.core.middleware import JsonDepthGauge
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.storable import refuse_at, unstorable_in
from app.roster.importing import oneroster
from app.roster.importing.archive import ZipLimits
from app.roster.importing.errors import ImportRejection
from app.roster.importing.pupil_csv import PupilCsvMapping, check_pupil_csv, parse_pupil_csv
from app.roster.models import ImportFormat, RosterImport
from app.roster.repository import RosterImportRepository
from app.roster.service import apply_snapshot, school_for_roster_write
from app.roster.snapshot import RosterSnapshot
from app.roster.sync import Rejection, SyncReport
from app.trusts.models import School

JOB_KIND = "roster.import"
# A mapping is an object of fields to column names, its contacts a list of such objects.
MAX_MAPPING_DEPTH = 4
MAX_MAPPING_CHARS = 20_000


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
    await asyncio.to_thread(_check_upload, format, content, options, school.urn)
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


def parse_mapping(text: str | None) -> dict[str, Any] | None:
    """The `mapping` form field: a JSON object, refused (422) past its depth or size limits
    before it is parsed, as a parser would recurse into a deep one until it gave up."""
    if text is None:
        return None
    limits = (
        f"a JSON object of field names to column names, at most {MAX_MAPPING_DEPTH} levels "
        f"deep and {MAX_MAPPING_CHARS:,} characters long"
    )
    if len(text) > MAX_MAPPING_CHARS or not JsonDepthGauge(MAX_MAPPING_DEPTH).feed(text.encode()):
        raise Unprocessable(f"mapping: too deep or too long; a mapping is {limits}.")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Unprocessable(f"mapping: not valid JSON; a mapping is {limits}.") from None
    if not isinstance(value, dict):
        raise Unprocessable(f"mapping: not a JSON object; a mapping is {limits}.")
    # Decoded here, so not seen by the app-wide check: "\u0000" is six storable characters
    # until json.loads makes it a NUL.
    refuse_at(list(unstorable_in(value, ("body", "mapping"))))
    return value


def _check_upload(
    format: ImportFormat, content: bytes, options: ImportOptions, school_urn: str
) -> None:
    """What can be refused at once, before anything is stored: cheap checks only (no more is
    unpacked than the manifest, orgs.csv and header rows)."""
    if not content:
        raise Unprocessable("The uploaded file is empty.")
    if options.school_urn and options.school_urn != school_urn:
        raise Unprocessable(
            f"school_urn {options.school_urn} is not this school's URN ({school_urn}): a school "
            "imports only its own roster. Leave school_urn out; the school's URN is used."
        )
    if format is ImportFormat.ONEROSTER:
        oneroster.check_bundle(content, school_urn=school_urn, limits=ZipLimits.from_settings())
    else:
        check_pupil_csv(content, _mapping_of(options))


def _mapping_of(options: ImportOptions) -> PupilCsvMapping:
    try:
        return PupilCsvMapping.model_validate(options.mapping or {})
    except ValidationError as exc:
        # Named by place and rule only: the message pydantic writes repeats the values given.
        problems = joined(
            [
                f"{'/'.join(str(part) for part in error['loc']) or 'mapping'}: "
                f"{clean_message(error['msg'])}"
                for error in exc.errors()[:5]
            ]
        )
        raise Unprocessable(f"mapping: {problems}") from None


async def get(
    session: AsyncSession, who: Principal, school_id: UUID, import_id: UUID
) -> RosterImportRead:
    repository = RosterImportRepository(session, who)
    upload = await repository.get(import_id)
    if upload.school_id != school_id:
        raise repository.not_found(import_id)
    repository.permit(upload, Permission.ROSTER_WRITE)
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


async def run_import(context: JobContext) -> dict[str, Any]:
    async with open_session(context.scope) as session:
        upload = await RosterImportRepository.for_job(session, UUID(context.payload["import_id"]))
        school = await session.get(School, upload.school_id)  # tenancy: the job's own school
        assert school is not None
        options = ImportOptions.model_validate(upload.options)
        try:
            snapshot, parse_rejections = await asyncio.to_thread(
                _parse, upload.format, upload.content, options, school.urn
            )
        except ThresholdError as refusal:
            raise JobFailed(refusal.detail) from None
        await context.progress(0, len(snapshot.pupils))
        report = await _apply(session, school, snapshot, parse_rejections, options)
    await context.progress(len(snapshot.pupils))
    return {"report": report.model_dump(mode="json")}


def _parse(
    format: ImportFormat, content: bytes, options: ImportOptions, school_urn: str
) -> tuple[RosterSnapshot, list[Rejection]]:
    """Unpacks and parses the file under the caps; CPU-bound, so it is run in a thread."""
    if format is ImportFormat.ONEROSTER:
        parsed = oneroster.parse_oneroster(
            content,
            school_urn=school_urn,
            academic_year=options.academic_year,
            limits=ZipLimits.from_settings(),
        )
        return parsed.snapshot, _rejections(parsed.rejected)
    year = options.academic_year or _current_academic_year()
    result = parse_pupil_csv(content, _mapping_of(options), academic_year=year)
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
    first = joined([f"{r.pointer}: {r.reason}" for r in rejections[:3]])
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
