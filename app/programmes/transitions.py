"""A programme's status: one step forward at a time, and one step back, by SLT with If-Match.

`draft → collecting → scheduling → published → in_progress → closed`. Collecting needs a closing
date in the future and a slot, and warns (without refusing: teams may be fixed later) of every
class with more families than its adults can visit. Publishing needs a schedule that reaches
every family, or SLT's acknowledgement of each one left without a visit (the scheduling area
checks, through its hook). A published programme goes back to scheduling, with a reason, until
its first visit day begins. Raises PreconditionRequired (428) / PreconditionFailed (412),
TransitionRefused (409), Unprocessable (422: no reason to reopen).
"""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.concurrency import ensure_current, save_versioned
from app.core.errors import Unprocessable, json_pointer
from app.core.london import london_today
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import utcnow
from app.programmes import teams
from app.programmes.exceptions import TransitionRefused
from app.programmes.models import NEXT_STATUS, PREVIOUS_STATUS, ProgrammeStatus, VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.programmes.schemas import ProgrammeRead, Transition
from app.programmes.service import describe


@dataclass(frozen=True)
class TransitionContext:
    """What a hook may need beyond the programme: who asks, and what they acknowledged."""

    who: Principal
    acknowledged_unplaced: frozenset[UUID] = field(default_factory=frozenset)


# Areas that act when a programme reaches a status (scheduling checks and confirms its visits
# on publish) are registered here by app/registry.py, so programmes need not know them. Hooks
# run in the order registered, before the status is saved; a hook may refuse by raising.
TransitionHook = Callable[[AsyncSession, VisitProgramme, TransitionContext], Awaitable[None]]
_transition_hooks: dict[ProgrammeStatus, list[TransitionHook]] = defaultdict(list)


def register_transition_hook(status: ProgrammeStatus, hook: TransitionHook) -> None:
    """Add a hook for reaching `status` once; registering it again changes nothing."""
    if hook not in _transition_hooks[status]:
        _transition_hooks[status].append(hook)


def transition_hooks() -> dict[ProgrammeStatus, tuple[TransitionHook, ...]]:
    """Every status that has hooks, with them in order."""
    return {status: tuple(hooks) for status, hooks in _transition_hooks.items() if hooks}


async def change_status(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    body: Transition,
    if_match: str | None,
) -> tuple[VisitProgramme, ProgrammeRead]:
    """The transition, and the programme as it now is, with the capacity warnings when it has
    just opened for answers."""
    programme = await transition(
        session,
        who,
        programme_id,
        body.to,
        if_match,
        acknowledged_unplaced=body.acknowledged_unplaced,
        reason=body.reason,
    )
    warnings = []
    if programme.status is ProgrammeStatus.COLLECTING:
        warnings = await teams.capacity_warnings(session, programme)
    return programme, await describe(session, who, programme, warnings)


async def transition(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    to: ProgrammeStatus,
    if_match: str | None,
    *,
    acknowledged_unplaced: Sequence[UUID] = (),
    reason: str | None = None,
) -> VisitProgramme:
    # Locked, as runs and visit changes lock it: publishing checks the visits a run or a change
    # could otherwise be writing at the same moment.
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_MANAGE, for_update=True
    )
    ensure_current(programme, if_match)
    was = programme.status
    changes: dict[str, object] = {"status": to}
    if to == PREVIOUS_STATUS.get(was):
        changes["reopenings"] = [*programme.reopenings, _reopening(programme, who, reason)]
    elif to != NEXT_STATUS.get(was):
        raise TransitionRefused(_refusal(was, to))
    if to == ProgrammeStatus.COLLECTING:
        await _ensure_ready_to_collect(session, who, programme)
    context = TransitionContext(who, frozenset(acknowledged_unplaced))
    for hook in _transition_hooks[to]:
        await hook(session, programme, context)
    await save_versioned(session, programme, changes, if_match)
    details: dict[str, object] = {"from": was.value, "to": to.value}
    if to == ProgrammeStatus.PUBLISHED and acknowledged_unplaced:
        details["acknowledged_unplaced"] = sorted(str(h) for h in acknowledged_unplaced)
    await audit.record(
        session,
        who,
        "programme.reopened" if "reopenings" in changes else "programme.transition",
        subject_type="visit_programme",
        subject_id=programme.id,
        school_id=programme.school_id,
        details=details,
    )
    return programme


def _refusal(was: ProgrammeStatus, to: ProgrammeStatus) -> str:
    expected = NEXT_STATUS.get(was)
    after = f"only to {expected}" if expected else "no further"
    back = PREVIOUS_STATUS.get(was)
    if back is not None:
        after += f" (or back to {back}, with a reason)"
    return f"A {was} programme moves {after}, not to {to}."


def _reopening(programme: VisitProgramme, who: Principal, reason: str | None) -> dict[str, str]:
    """A published schedule goes back to scheduling only before its first visit day; the reason
    is kept on the programme (the audit log holds ids, never free text)."""
    if not reason:
        raise Unprocessable(
            "Say why the published schedule is being reopened (reason).",
            extra={"errors": [{"pointer": json_pointer("reason"), "detail": "required to reopen"}]},
        )
    first = min(programme.days())
    if london_today() >= first:
        raise TransitionRefused(
            f"The first visit day ({first}) has begun, so the schedule can no longer be "
            "reopened; change visits one by one instead."
        )
    return {"at": utcnow().isoformat(), "by": str(who.id), "reason": reason}


async def _ensure_ready_to_collect(
    session: AsyncSession, who: Principal, programme: VisitProgramme
) -> None:
    missing = []
    if programme.preferences_close_at is None:
        missing.append("preferences_close_at")
    elif programme.preferences_close_at <= utcnow():
        missing.append("a preferences_close_at in the future")
    counts = await ProgrammeRepository(session, who).slot_counts([programme.id])
    if not counts.get(programme.id):
        missing.append("at least one slot (the daily window is shorter than a slot)")
    if missing:
        raise TransitionRefused(
            f"Before collecting preferences the programme needs {', '.join(missing)}."
        )
