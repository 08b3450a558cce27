"""Pupil lists as CSV for staff who work in spreadsheets: formula-safe, and every one audited."""

from uuid import UUID

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit, ratelimit
from app.core.csvio import csv_download, write_csv
from app.core.permissions import Permission
from app.core.principal import Principal, PrincipalKind
from app.core.settings import get_settings
from app.roster.models import Pupil
from app.roster.repository import ClassRepository
from app.roster.schemas import PupilRead
from app.roster.service import PupilFilters, shape_pupil, visible_pupils
from app.trusts.repository import SchoolRepository

MAX_EXPORT_ROWS = 20_000
COLUMNS = [name for name in PupilRead.model_fields if name not in ("school_id",)]


def wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "")


def limits(who: Principal, ip_address: str) -> list[tuple[ratelimit.Limit, str]]:
    """One export counts against the caller (a person or a machine client) and the address."""
    settings = get_settings()
    window = settings.export_window_seconds
    message = "Too many exports in a short time; wait before exporting again."
    if who.kind is PrincipalKind.INTEGRATION:
        caller = ratelimit.Limit("export:client", settings.export_max_per_client, window, message)
    else:
        caller = ratelimit.Limit("export:user", settings.export_max_per_user, window, message)
    address = ratelimit.Limit("export:address", settings.export_max_per_address, window, message)
    return [(caller, f"{who.kind}:{who.id}"), (address, ip_address)]


async def school_pupils_csv(
    session: AsyncSession, who: Principal, school_id: UUID, filters: PupilFilters, ip_address: str
) -> Response:
    """Raises NotFound, Forbidden, then TooManyRequests: only exports that would run count."""
    school = await SchoolRepository(session, who).get_permitted(school_id, Permission.ROSTER_READ)
    await ratelimit.spend(limits(who, ip_address))
    return await _export(session, who, school.id, filters, f"pupils-{school.urn}.csv")


async def class_pupils_csv(
    session: AsyncSession, who: Principal, class_id: UUID, filters: PupilFilters, ip_address: str
) -> Response:
    school_class = await ClassRepository(session, who).get_permitted(
        class_id, Permission.ROSTER_READ
    )
    await ratelimit.spend(limits(who, ip_address))
    return await _export(
        session,
        who,
        school_class.school_id,
        filters.in_class(school_class.id),
        f"pupils-class-{school_class.mis_id}.csv",
    )


async def _export(
    session: AsyncSession, who: Principal, school_id: UUID, filters: PupilFilters, filename: str
) -> Response:
    policy, statement = await visible_pupils(session, who, school_id, filters)
    statement = statement.order_by(
        col(Pupil.legal_last_name), col(Pupil.legal_first_name), col(Pupil.id)
    )
    rows = (await session.execute(statement.limit(MAX_EXPORT_ROWS))).mappings().all()
    pupils = [shape_pupil(row, policy) for row in rows]
    # A column leaves the file when it is withheld for every pupil in it.
    withheld = set(policy.withheld(None)).intersection(
        *(policy.withheld(row["class_id"]) for row in rows)
    )
    columns = [c for c in COLUMNS if c not in withheld]
    body = write_csv(columns, ([getattr(p, c) for c in columns] for p in pupils))
    await audit.record(
        session,
        who,
        "roster.export",
        subject_type="school",
        subject_id=school_id,
        school_id=school_id,
        details={"rows": len(pupils), "format": "csv"},
    )
    return csv_download(body, filename)
