"""Visits in the field: what happened on a visit, recorded once.

A `scheduled` visit of a published or in-progress programme moves to `completed`, `no_access`,
`declined` or `cancelled`, recorded by either adult on it or by the school's SLT; a visit cannot
be recorded as completed before its planned start. Every other member of staff who may see the
visit is refused (403); anyone else finds no visit (404). A no-access visit may then be closed
as not visited by SLT or the office (it stays `no_access`, marked closed, with their reason).
Each record is a VisitChange entry and an audit entry (ids only: the reason's text is kept on
the visit, never in the audit log). A refused request writes nothing.

Raises NotFound (404), Forbidden (403), PreconditionFailed (412: a stale If-Match),
OutcomeRefused and RunUnderWay (409) and Unprocessable (422, naming the field).
"""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.concurrency import ensure_matches, etag_of
from app.core.errors import Forbidden, InvalidState, Unprocessable, json_pointer
from app.core.london import local_time
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import utcnow
from app.programmes.models import ProgrammeStatus, VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.scheduling.exceptions import RunUnderWay
from app.scheduling.repository import ScheduleRunRepository
from app.visits import history, messages
from app.visits.models import Visit, VisitOutcome, VisitStatus
from app.visits.repository import VisitRepository
from app.visits.schemas import VisitClose, VisitOutcomeWrite, VisitRead
from app.visits.service import describe_one

# Areas that act once a visit's outcome is recorded (surveys are issued) are registered here by
# app/registry.py, so visits need not know them. Each runs in the recording transaction, after
# the outcome is written; one that raises refuses the recording.
OutcomeHook = Callable[[AsyncSession, Visit], Awaitable[None]]
_outcome_hooks: list[OutcomeHook] = []


def register_outcome_hook(hook: OutcomeHook) -> None:
    """Add a hook once; registering it again changes nothing."""
    if hook not in _outcome_hooks:
        _outcome_hooks.append(hook)


def outcome_hooks() -> list[OutcomeHook]:
    return list(_outcome_hooks)


IN_THE_FIELD = frozenset({ProgrammeStatus.PUBLISHED, ProgrammeStatus.IN_PROGRESS})
# A device's clock may run a little ahead of ours; a time further ahead has not happened yet.
CLOCK_SKEW = timedelta(minutes=5)


class OutcomeRefused(InvalidState):
    type, title = "visit-outcome-refused", "The visit's outcome cannot be recorded"


class VisitNotClosable(InvalidState):
    type, title = "visit-not-closable", "This visit cannot be closed"


async def load_in_field(
    session: AsyncSession, who: Principal, visit_id: UUID, *, slt: Permission
) -> tuple[VisitRepository, Visit, set[UUID]]:
    """The visit, locked, and its adults, for an adult on it or a holder of `slt` at its school:
    404 outside the caller's scope or need to know (as reading it), 403 for anyone else."""
    repository, visit, adults = await visible_for_update(session, who, visit_id)
    if who.id not in adults and not who.can(slt, visit.school_id):
        raise Forbidden(
            "Only the adults on this visit, or the school's SLT, record what happened on it."
        )
    return repository, visit, adults


async def visible_for_update(
    session: AsyncSession, who: Principal, visit_id: UUID
) -> tuple[VisitRepository, Visit, set[UUID]]:
    """The visit, locked, as reading it finds it (404, then 403 without visits:read at its
    school, then 404 again without a need to know it), and its adults."""
    repository = VisitRepository(session, who)
    visit = await repository.get_for_update(visit_id)
    repository.permit(visit, Permission.VISITS_READ)
    adults = {staff_id for staff_id, _ in (await repository.adults([visit.id]))[visit.id]}
    if not await repository.needs_to_know(visit.id, visit.school_id, adults):
        raise repository.not_found(visit.id)
    return repository, visit, adults


async def ensure_in_field(session: AsyncSession, who: Principal, visit: Visit) -> VisitProgramme:
    programme = await ProgrammeRepository(session, who).get(visit.programme_id)
    if programme.status not in IN_THE_FIELD:
        raise OutcomeRefused(
            f"The programme is {programme.status}: visits are recorded once it is published."
        )
    return programme


async def record(
    session: AsyncSession,
    who: Principal,
    visit_id: UUID,
    body: VisitOutcomeWrite,
    if_match: str | None,
) -> VisitRead:
    repository, visit, _ = await load_in_field(
        session, who, visit_id, slt=Permission.VISITS_OUTCOMES
    )
    programme = await ensure_in_field(session, who, visit)
    if await ScheduleRunRepository.any_under_way(session, visit.programme_id):
        # The run rewrites the schedule it read before this outcome, undoing it (as it would a
        # manual change, refused likewise in changes.py).
        raise RunUnderWay("A schedule run is under way; record the outcome once it has finished.")
    ensure_matches(etag_of(visit), if_match)
    now = utcnow()
    _ensure_recordable(visit, body.outcome, now)
    _ensure_past(body, now)
    pupils = await _pupil_outcomes(repository, visit, body)
    visit.status = VisitStatus(body.outcome.value)
    visit.outcome_at, visit.outcome_by = now, who.id
    visit.outcome_reason = body.reason
    visit.arrived_at = body.arrived_at or visit.arrived_at
    visit.departed_at = body.departed_at or visit.departed_at
    visit.updated_at = now
    await repository.set_pupil_outcomes(visit.id, pupils)
    record_id = await _history(session, who, visit, "outcome_recorded", body.outcome.value)
    if body.outcome is VisitOutcome.CANCELLED and visit.starts_at > now:
        # The family is still expecting the visit: it is told, in the school's words (never
        # the reason staff recorded), that the school will be in touch.
        await messages.tell_cancelled(session, programme, visit.id, record_id)
    await session.flush()
    for hook in _outcome_hooks:
        await hook(session, visit)
    return await describe_one(repository, visit)


def _ensure_recordable(visit: Visit, outcome: VisitOutcome, now: datetime) -> None:
    if visit.outcome_at is not None:
        raise OutcomeRefused(
            f"This visit's outcome is already recorded ({visit.status}); it is recorded once."
        )
    if visit.status is not VisitStatus.SCHEDULED:
        raise OutcomeRefused(f"Only a scheduled visit has an outcome; this one is {visit.status}.")
    if outcome is VisitOutcome.COMPLETED and now < visit.starts_at:
        start = local_time(visit.starts_at).strftime("%H:%M on %d %B %Y")
        raise OutcomeRefused(
            f"The visit is planned to start at {start}: it cannot be completed before then."
        )


def _ensure_past(body: VisitOutcomeWrite, now: datetime) -> None:
    for name in ("arrived_at", "departed_at"):
        value: datetime | None = getattr(body, name)
        if value is not None and value > now + CLOCK_SKEW:
            raise Unprocessable(
                f"{name} is in the future.",
                extra={"errors": [{"pointer": json_pointer(name), "detail": "in the future"}]},
            )


async def _pupil_outcomes(
    repository: VisitRepository, visit: Visit, body: VisitOutcomeWrite
) -> dict[UUID, VisitOutcome | None]:
    """Each joined sibling's own outcome, where it differs from the visit's (None where not)."""
    on_visit = {p for p, _ in (await repository.pupils([visit.id]))[visit.id]}
    found: dict[UUID, VisitOutcome | None] = {}
    for index, given in enumerate(body.pupils):
        problem = None
        if given.pupil_id not in on_visit:
            problem, field = "not a child on this visit", "pupil_id"
        elif given.outcome is VisitOutcome.COMPLETED and body.outcome is not VisitOutcome.COMPLETED:
            problem, field = f"a child cannot be visited on a {body.outcome} visit", "outcome"
        if problem is not None:
            raise Unprocessable(
                f"pupils/{index}/{field}: {problem}.",
                extra={
                    "errors": [{"pointer": json_pointer("pupils", index, field), "detail": problem}]
                },
            )
        found[given.pupil_id] = None if given.outcome is body.outcome else given.outcome
    return found


async def close(
    session: AsyncSession, who: Principal, visit_id: UUID, body: VisitClose, if_match: str | None
) -> VisitRead:
    """A no-access visit closed as not visited, by SLT or the office: no one goes back."""
    repository, visit, _ = await visible_for_update(session, who, visit_id)
    repository.permit(visit, Permission.VISITS_FOLLOW_UP)
    ensure_matches(etag_of(visit), if_match)
    if visit.status is not VisitStatus.NO_ACCESS:
        raise VisitNotClosable(
            f"Only a no-access visit is closed as not visited; this one is {visit.status}."
        )
    if visit.closed_at is not None:
        raise VisitNotClosable("This visit is already closed as not visited.")
    now = utcnow()
    visit.closed_at, visit.closed_by, visit.closed_reason = now, who.id, body.reason
    visit.updated_at = now
    await _history(session, who, visit, "closed_not_visited", None)
    return await describe_one(repository, visit)


async def _history(
    session: AsyncSession, who: Principal, visit: Visit, kind: str, note: str | None
) -> UUID:
    record = history.entry(session, visit, kind, who.id, note)
    await audit.record(
        session,
        who,
        f"visit.{kind}",
        subject_type="visit",
        subject_id=visit.id,
        school_id=visit.school_id,
        details={"status": visit.status.value},
    )
    return record.id
