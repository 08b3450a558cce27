"""Trusts and schools: who may create and change them, and the participation rule."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit
from app.core.concurrency import save_versioned
from app.core.errors import Unprocessable, json_pointer
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.staff import service as staff_service
from app.staff.schemas import StaffInvitation
from app.trusts.exceptions import ParticipationReasonMissing, UrnTaken
from app.trusts.models import Participation, Phase, School, Trust
from app.trusts.repository import SchoolRepository, TrustRepository
from app.trusts.schemas import SchoolCreate, SchoolUpdate, TrustCreate, TrustUpdate


async def list_trusts(
    session: AsyncSession, who: Principal, page: PageParams
) -> tuple[list[Trust], str | None]:
    statement = TrustRepository(session, who).base_statement()
    return await paginate(session, statement, page, [SortKey(Trust.name), SortKey(Trust.id)])


async def create_trust(
    session: AsyncSession, who: Principal, body: TrustCreate
) -> tuple[Trust, StaffInvitation | None]:
    trust = Trust.model_validate(body.model_dump(exclude={"first_admin"}))
    session.add(trust)
    await session.flush()
    await audit.record(
        session, who, "trust.created", subject_type="trust", subject_id=trust.id, trust_id=trust.id
    )
    invitation = None
    if body.first_admin is not None:
        invitation = await staff_service.create_first_admin(
            session,
            who,
            trust_id=trust.id,
            email=body.first_admin.email,
            full_name=body.first_admin.full_name,
        )
    return trust, invitation


async def get_trust(session: AsyncSession, who: Principal, trust_id: UUID) -> Trust:
    return await TrustRepository(session, who).get(trust_id)


async def update_trust(
    session: AsyncSession, who: Principal, trust_id: UUID, body: TrustUpdate, if_match: str | None
) -> Trust:
    trust = await TrustRepository(session, who).get_permitted(trust_id, Permission.TRUSTS_UPDATE)
    await save_versioned(session, trust, body.changes(), if_match)
    return trust


async def list_schools(
    session: AsyncSession,
    who: Principal,
    page: PageParams,
    *,
    participation: Participation | None = None,
    phase: Phase | None = None,
) -> tuple[list[School], str | None]:
    statement = SchoolRepository(session, who).base_statement()
    if participation is not None:
        statement = statement.where(col(School.participation) == participation)
    if phase is not None:
        statement = statement.where(col(School.phase) == phase)
    return await paginate(session, statement, page, [SortKey(School.name), SortKey(School.id)])


async def create_school(session: AsyncSession, who: Principal, body: SchoolCreate) -> School:
    """Raises UrnTaken (409): a URN identifies one school nationally."""
    who.ensure(Permission.SCHOOLS_CREATE)
    repository = SchoolRepository(session, who)
    if await repository.urn_taken(body.urn):
        raise UrnTaken(f"A school with URN {body.urn} is already registered.")
    assert who.trust_id is not None  # schools:create is only ever held at trust level
    years = [str(y) for y in body.participating_year_groups or []] or None
    school = School.model_validate(
        body.model_dump(), update={"trust_id": who.trust_id, "participating_year_groups": years}
    )
    session.add(school)
    await session.flush()
    await audit.record(
        session,
        who,
        "school.created",
        subject_type="school",
        subject_id=school.id,
        school_id=school.id,
    )
    return school


async def get_school(session: AsyncSession, who: Principal, school_id: UUID) -> School:
    return await SchoolRepository(session, who).get(school_id)


async def update_school(
    session: AsyncSession, who: Principal, school_id: UUID, body: SchoolUpdate, if_match: str | None
) -> School:
    """Raises ParticipationReasonMissing (422) when a school stops taking full part without a reason."""
    school = await SchoolRepository(session, who).get_permitted(
        school_id, Permission.SCHOOLS_UPDATE
    )
    changes: dict[str, Any] = body.changes()
    participation = changes.get("participation", school.participation)
    reason = changes.get("participation_reason", school.participation_reason)
    if participation == Participation.FULL:
        changes["participation_reason"] = None
    elif not reason:
        raise ParticipationReasonMissing(
            "Say why the school takes part only partly or not at all (participation_reason)."
        )
    if changes.get("participating_year_groups"):
        if participation != Participation.PARTIAL:
            raise Unprocessable(
                "participating_year_groups applies to partial participation only.",
                extra={
                    "errors": [
                        {
                            "pointer": json_pointer("participating_year_groups"),
                            "detail": "not partial",
                        }
                    ]
                },
            )
        changes["participating_year_groups"] = [
            str(y) for y in body.participating_year_groups or []
        ]
    if participation != Participation.PARTIAL:
        changes["participating_year_groups"] = None
    await save_versioned(session, school, changes, if_match)
    return school
