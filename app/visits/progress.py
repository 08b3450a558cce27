"""How a programme's visits are going: for the programme and for each class, the children
visited, not reached (no access), declined, called off, still to visit, and those in scope with
no visit at all (not placed yet, or exempt): a child the schedule left out is not forgotten.

A child counts by their own outcome where it differs from their visit's (a sibling who was not
there), and in their own class: siblings joined in one visit count in each of their classes.
"""

from collections import defaultdict
from collections.abc import Iterable
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import YearGroup
from app.parents import answers_repository as answers
from app.parents.answers_models import AnswerKind
from app.programmes.models import VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.visits.models import VisitOutcome
from app.visits.repository import ProgressRow, VisitRepository
from app.visits.schemas import ClassVisitProgress, VisitCounts, VisitProgressRead

COLUMN = {
    VisitOutcome.COMPLETED: "visited",
    VisitOutcome.NO_ACCESS: "no_access",
    VisitOutcome.DECLINED: "declined",
    VisitOutcome.CANCELLED: "cancelled",
}


async def visit_progress(
    session: AsyncSession, who: Principal, programme_id: UUID
) -> VisitProgressRead:
    """Readable by every member of the programme's school, as its answers' progress is."""
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_READ
    )
    rows = await VisitRepository(session, who).progress_rows(programme.id)
    rows += await _without_visits(session, programme, {r.pupil_id for r in rows})
    by_class: dict[UUID | None, list[ProgressRow]] = defaultdict(list)
    for row in rows:
        by_class[row.class_id].append(row)
    classes = [
        ClassVisitProgress(
            class_id=class_id,
            class_name=members[0].class_name,
            year_group=YearGroup(members[0].year_group) if members[0].year_group else None,
            **_count(members).model_dump(),
        )
        for class_id, members in by_class.items()
    ]
    classes.sort(key=lambda c: (c.class_name is None, c.class_name or "", str(c.class_id)))
    return VisitProgressRead(programme_id=programme.id, totals=_count(rows), classes=classes)


async def _without_visits(
    session: AsyncSession, programme: VisitProgramme, on_visits: set[UUID]
) -> list[ProgressRow]:
    """Children in scope on no visit of the programme, each with why: the family declined,
    SLT exempted it, or it is still to be placed."""
    children = await answers.children_in_scope(session, programme)
    missing = [c for c in children if c.pupil_id not in on_visits]
    if not missing:
        return []
    declined = {
        a.household_id
        for a in await answers.answers_of(session, programme.id)
        if a.kind is AnswerKind.DECLINED
    }
    exempt = {
        h
        for h, kind in (await answers.exemption_kinds(session, programme.id)).items()
        if kind == "exempt"
    }
    return [
        ProgressRow(
            c.pupil_id,
            c.class_id,
            c.class_name,
            c.year_group,
            "exempt" if c.household_id in exempt else "",
            VisitOutcome.DECLINED.value if c.household_id in declined else None,
        )
        for c in missing
    ]


def _count(rows: Iterable[ProgressRow]) -> VisitCounts:
    counts = dict.fromkeys(VisitCounts.model_fields, 0)
    # A child is on one visit of a programme (their household's), so each row is one child.
    for row in rows:
        counts["pupils"] += 1
        counts[_column(row)] += 1
    return VisitCounts(**counts)


def _column(row: ProgressRow) -> str:
    outcome = row.outcome or row.status
    if outcome in COLUMN:
        return COLUMN[VisitOutcome(outcome)]
    if outcome == "exempt":
        return "exempt"
    return "no_visit_yet" if outcome == "" else "not_yet_visited"
