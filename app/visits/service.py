"""Reading visits: a programme's, one at a time."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.london import local_time
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.programmes.repository import ProgrammeRepository
from app.visits.models import (
    Visit,
    VisitChange,
    VisitLocation,
    VisitOutcome,
    VisitRole,
    VisitStatus,
)
from app.visits.repository import VisitRepository, VisitRow
from app.visits.schemas import (
    PupilOutcome,
    VisitAdultRead,
    VisitChangeRead,
    VisitOutcomeRead,
    VisitRead,
    concern_path,
)


async def list_for_programme(
    session: AsyncSession, who: Principal, programme_id: UUID, page: PageParams
) -> tuple[list[VisitRead], str | None]:
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.VISITS_READ
    )
    repository = VisitRepository(session, who)
    rows, cursor = await paginate(
        session,
        repository.readable_of_programme(programme.id, programme.school_id),
        page,
        [SortKey(Visit.starts_at), SortKey(Visit.id)],
    )
    return await _describe(repository, rows), cursor


async def list_changes(
    session: AsyncSession, who: Principal, visit_id: UUID, page: PageParams
) -> tuple[list[VisitChangeRead], str | None]:
    """A visit's change history, oldest first, for whoever may read the visit."""
    await get(session, who, visit_id)
    rows, cursor = await paginate(
        session,
        VisitRepository(session, who).changes_of(visit_id),
        page,
        [SortKey(VisitChange.changed_at), SortKey(VisitChange.id)],
    )
    return [VisitChangeRead.model_validate(row) for row in rows], cursor


async def get(session: AsyncSession, who: Principal, visit_id: UUID) -> VisitRead:
    """A visit; 404 outside the caller's scope, then 403 without visits:read at its school, then
    404 again for staff with no need to know it (not on it, not their class)."""
    repository = VisitRepository(session, who)
    rows = await repository.one_described(visit_id)
    if not rows:
        raise repository.not_found(visit_id)
    first = rows[0]
    repository.permit_at(first.school_id, Permission.VISITS_READ)
    adults = {
        (r.staff_id, VisitRole(r.role)): None
        for r in rows
        if r.staff_id is not None and r.role is not None
    }
    if not await repository.needs_to_know(visit_id, first.school_id, {s for s, _ in adults}):
        raise repository.not_found(visit_id)
    pupils = {
        r.pupil_id: VisitOutcome(r.pupil_outcome) if r.pupil_outcome else None
        for r in rows
        if r.pupil_id is not None
    }
    return visit_read(first, list(pupils.items()), list(adults))


async def describe_one(repository: VisitRepository, visit: Visit) -> VisitRead:
    return (await _describe(repository, [visit]))[0]


async def _describe(repository: VisitRepository, visits: list[Visit]) -> list[VisitRead]:
    ids = [v.id for v in visits]
    adults, pupils = await repository.adults(ids), await repository.pupils(ids)
    return [visit_read(v, pupils[v.id], adults[v.id]) for v in visits]


def visit_read(
    visit: Visit | VisitRow,
    pupils: list[tuple[UUID, VisitOutcome | None]],
    adults: list[tuple[UUID, VisitRole]],
) -> VisitRead:
    """The one way a VisitRead is built: a visit's own columns (a loaded Visit, or ONE_VISIT's
    row), its children and its adults. Built from rows the database has already constrained:
    constructed, not validated again."""
    return VisitRead.model_construct(
        id=visit.id,
        programme_id=visit.programme_id,
        household_id=visit.household_id,
        pupil_ids=[p for p, _ in pupils],
        slot_id=visit.slot_id,
        starts_at=visit.starts_at,
        ends_at=visit.ends_at,
        local_start=local_time(visit.starts_at).strftime("%H:%M"),
        location=VisitLocation(visit.location),
        status=VisitStatus(visit.status),
        locked=visit.locked,
        adults=[VisitAdultRead.model_construct(staff_id=s, role=r) for s, r in adults],
        arrived_at=visit.arrived_at,
        departed_at=visit.departed_at,
        checked_in_at=visit.checked_in_at,
        checked_in_by=visit.checked_in_by,
        checked_out_at=visit.checked_out_at,
        checked_out_by=visit.checked_out_by,
        outcome=_outcome(visit, pupils),
        version=visit.version,
        raise_concern=concern_path(visit.school_id),
    )


def _outcome(
    visit: Visit | VisitRow, pupils: list[tuple[UUID, VisitOutcome | None]]
) -> VisitOutcomeRead | None:
    if visit.outcome_at is None:
        return None
    return VisitOutcomeRead.model_construct(
        outcome=VisitOutcome(visit.status),
        recorded_at=visit.outcome_at,
        recorded_by=visit.outcome_by,
        reason=visit.outcome_reason,
        pupils=[
            PupilOutcome.model_construct(pupil_id=p, outcome=o) for p, o in pupils if o is not None
        ],
        closed=visit.closed_at is not None,
        closed_at=visit.closed_at,
        closed_by=visit.closed_by,
        closed_reason=visit.closed_reason,
    )
