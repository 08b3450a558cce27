"""The school's side of households' answers: reading and entering them on a family's behalf,
progress, first-preference demand and the chase list."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.pagination import PageParams
from app.core.permissions import Permission
from app.core.principal import Principal
from app.parents import answers, progress
from app.parents.answers_schemas import (
    AnswerRead,
    AnswerWrite,
    ChaseEntry,
    ChaseOrder,
    DemandRead,
    ProgressRead,
)
from app.programmes.repository import ProgrammeRepository
from app.programmes.service import ensure_household_in_scope


async def read_answer(
    session: AsyncSession, who: Principal, programme_id: UUID, household_id: UUID
) -> AnswerRead:
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(programme_id, Permission.FAMILIES_CHASE)
    await ensure_household_in_scope(session, who, programme, household_id)
    return await answers.read(session, programme, household_id)


async def enter_answer(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    household_id: UUID,
    body: AnswerWrite,
) -> AnswerRead:
    """The office enters what a family said on the phone or at the gate; recorded as such."""
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(programme_id, Permission.FAMILIES_CHASE)
    await ensure_household_in_scope(session, who, programme, household_id)
    window = answers.ProgrammeWindow.of(programme)
    answers.ensure_staff_may_enter(window)
    saved = await answers.save(session, window, household_id, body, entered_by_staff=who.id)
    await audit.record(
        session,
        who,
        "answer.entered_for_family",
        subject_type="household",
        subject_id=household_id,
        school_id=programme.school_id,
        details={"programme_id": str(programme.id), "kind": body.kind.value},
    )
    return saved


async def progress_of(session: AsyncSession, who: Principal, programme_id: UUID) -> ProgressRead:
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(programme_id, Permission.PROGRAMMES_READ)
    return await progress.progress(session, programme)


async def demand_of(session: AsyncSession, who: Principal, programme_id: UUID) -> DemandRead:
    programmes = ProgrammeRepository(session, who)
    programme = await programmes.get_permitted(programme_id, Permission.PROGRAMMES_READ)
    return await progress.demand(session, programme)


async def chase_list(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    page: PageParams,
    order: ChaseOrder = ChaseOrder.HOUSEHOLD,
) -> tuple[list[ChaseEntry], str | None]:
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.FAMILIES_CHASE, Permission.ROSTER_CONTACTS
    )
    return await progress.chase_list(session, programme, page, order)
