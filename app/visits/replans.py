"""Re-planning a visit day when adults are away (ill, say): SLT propose, read, then accept.

A proposal keeps the schedule as it stands and mends only what the absence breaks
(app/scheduling/solver/replan.py): another adult at the same time where one is free, else
another time for the family on that day or a later one, moving one or two other families out of
the way only where nothing fits; each change says why. Nothing changes and nobody is told until
SLT accept it; then every change is checked again against every hard rule (the same validator as
manual changes), the absence is recorded as the adults' unavailability (later runs keep them off
that day), each visit's history shows the re-plan, and the families whose visits changed are
told through the outbox. A proposal whose visits changed in the meantime is refused (409):
propose again.
"""

import asyncio
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.concurrency import ensure_matches, etag
from app.core.errors import InvalidState, Unprocessable, json_pointer
from app.core.london import london_day
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import utcnow
from app.programmes.messages import day_of, time_of
from app.programmes.models import ProgrammeStatus, VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.scheduling import instance
from app.scheduling.solver import problem
from app.scheduling.solver.replan import Change, replan
from app.staff.repository import StaffRepository
from app.staff.unavailability import record_absence
from app.visits import history, messages
from app.visits.changes import arrangeable, check_plan, current_plan, record_change
from app.visits.models import Visit, VisitRole, VisitStatus
from app.visits.replans_models import Replan, ReplanStatus
from app.visits.replans_repository import ReplanRepository
from app.visits.replans_schemas import ReplanCreate, ReplanRead
from app.visits.repository import VisitRepository

RUNNING = frozenset({ProgrammeStatus.PUBLISHED, ProgrammeStatus.IN_PROGRESS})
CANCELLED_FOR_FAMILIES = (
    "one of your visitors cannot come that day; the school will be in touch to arrange another time"
)


class NotRunning(InvalidState):
    type, title = "programme-not-running", "Only a published programme is re-planned"


class ReplanStale(InvalidState):
    type, title = "replan-stale", "The schedule changed since this re-plan was proposed"


class ReplanDecided(InvalidState):
    type, title = "replan-decided", "This re-plan was already accepted"


async def propose(
    session: AsyncSession, who: Principal, programme_id: UUID, body: ReplanCreate
) -> ReplanRead:
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_MANAGE
    )
    _ensure_running(programme)
    if body.day not in programme.days():
        raise Unprocessable(
            f"day: {body.day.isoformat()} is not a visit day of this programme.",
            extra={"errors": [{"pointer": "/day", "detail": "not a visit day"}]},
        )
    await _ensure_on_staff(session, who, programme, body.absent_staff_ids)
    absent = frozenset(str(s) for s in body.absent_staff_ids)
    loaded = await instance.load(
        session, programme, seed=1, time_limit_seconds=2, also_staff=absent
    )
    visits = VisitRepository(session, who)
    plan = await current_plan(visits, programme)
    known = {h.id for h in loaded.instance.households}
    current = {h: v for h, v in plan.items() if h in known}
    # Pure Python for a fraction of a second on a school: off the event loop all the same.
    result = await asyncio.to_thread(replan, loaded.instance, current, body.day, absent)
    open_visits = {str(v.household_id): v for v in await visits.open_visits(programme.id)}
    proposal = Replan(
        trust_id=programme.trust_id,
        school_id=programme.school_id,
        programme_id=programme.id,
        day=body.day,
        absent_staff_ids=sorted(absent),
        note=body.note,
        proposed_by=who.id,
        changes=_describe_changes(loaded, result.changes, open_visits, absent),
    )
    _count(proposal)
    session.add(proposal)
    await session.flush()
    await audit.record(
        session,
        who,
        "visit.replan_proposed",
        subject_type="replan",
        subject_id=proposal.id,
        school_id=programme.school_id,
        details={"day": body.day.isoformat(), "moved": proposal.moved},
    )
    return ReplanRead.model_validate(proposal)


async def get(session: AsyncSession, who: Principal, replan_id: UUID) -> ReplanRead:
    proposal = await ReplanRepository(session, who).get_permitted(
        replan_id, Permission.PROGRAMMES_MANAGE
    )
    return ReplanRead.model_validate(proposal)


async def accept(
    session: AsyncSession, who: Principal, replan_id: UUID, if_match: str | None = None
) -> ReplanRead:
    proposal = await ReplanRepository(session, who).get_permitted(
        replan_id, Permission.PROGRAMMES_MANAGE, for_update=True
    )
    ensure_matches(etag(proposal.id, proposal.status), if_match)
    if proposal.status is not ReplanStatus.PROPOSED:
        raise ReplanDecided(f"This re-plan was accepted at {proposal.accepted_at}.")
    programme = await arrangeable(session, who, proposal.programme_id)
    _ensure_running(programme)
    visits = VisitRepository(session, who)
    held = {
        c["visit_id"]: await visits.get_for_update(UUID(c["visit_id"])) for c in proposal.changes
    }
    _ensure_unchanged(proposal, held)
    await _record_absence(session, who, proposal)
    await check_plan(session, visits, programme, lambda plan: _alter(plan, proposal.changes))
    causes = {}
    for change in proposal.changes:
        visit = held[change["visit_id"]]
        causes[visit.id] = await _apply(session, who, visits, programme, visit, change)
    told = {v: c for v, c in causes.items() if held[str(v)].status is not VisitStatus.CANCELLED}
    await messages.tell_families(session, programme, told)
    for visit_id, cause in causes.items():
        if visit_id not in told:
            await messages.tell_cancelled(
                session, programme, visit_id, cause, reason=CANCELLED_FOR_FAMILIES
            )
    proposal.status, proposal.accepted_by, proposal.accepted_at = (
        ReplanStatus.ACCEPTED,
        who.id,
        utcnow(),
    )
    await audit.record(
        session,
        who,
        "visit.replan_accepted",
        subject_type="replan",
        subject_id=proposal.id,
        school_id=proposal.school_id,
        details={"moved": proposal.moved, "unplaced": proposal.unplaced},
    )
    return ReplanRead.model_validate(proposal)


def _ensure_running(programme: VisitProgramme) -> None:
    if programme.status not in RUNNING:
        raise NotRunning(
            f"This programme is {programme.status}: re-plan a day once its schedule is "
            "published (while scheduling, run the scheduler again)."
        )


async def _ensure_on_staff(
    session: AsyncSession, who: Principal, programme: VisitProgramme, staff_ids: list[UUID]
) -> None:
    on_staff = await StaffRepository(session, who).on_staff_of(programme.school_id, staff_ids)
    errors = [
        {"pointer": json_pointer("absent_staff_ids", i), "detail": f"{s} is not on the staff"}
        for i, s in enumerate(staff_ids)
        if s not in on_staff
    ]
    if errors:
        raise Unprocessable(
            "absent_staff_ids: not members of this school's staff: "
            + ", ".join(str(s) for s in staff_ids if s not in on_staff),
            extra={"errors": errors},
        )


def _describe_changes(
    loaded: instance.Loaded,
    changes: tuple[Change, ...],
    visits: dict[str, Visit],
    absent: frozenset[str],
) -> list[dict[str, Any]]:
    names = {a.id: a.name for a in loaded.instance.adults}
    teams = loaded.instance.team_map()
    classes = {h.id: h.classes for h in loaded.instance.households}
    families = {h.id: h.label or h.id for h in loaded.instance.households}
    away = " and ".join(sorted(names.get(a, a) for a in absent))
    described = []
    for change in changes:
        visit = visits[change.household_id]
        described.append(
            {
                "visit_id": str(visit.id),
                "household_id": change.household_id,
                "family": families[change.household_id],
                "kind": change.kind,
                "reason": _reason(change, loaded, names, families, away),
                "version": visit.version,
                "before": _visit(loaded, change.before),
                "after": _visit(loaded, change.after) if change.after else None,
                "teacher_ids": sorted(
                    {
                        t
                        for c in classes[change.household_id]
                        if c in teams
                        for t in teams[c].teacher_ids
                    }
                ),
            }
        )
    return described


def _visit(loaded: instance.Loaded, visit: problem.Visit) -> dict[str, Any]:
    return {
        "slot_id": visit.slot_id,
        "starts_at": loaded.slots[visit.slot_id].starts_at.isoformat(),
        "adult_ids": list(visit.adult_ids),
    }


def _when(loaded: instance.Loaded, visit: problem.Visit) -> str:
    starts = loaded.slots[visit.slot_id].starts_at
    return f"{day_of(starts)} at {time_of(starts)}"


def _reason(
    change: Change,
    loaded: instance.Loaded,
    names: dict[str, str],
    families: dict[str, str],
    away: str,
) -> str:
    before = _when(loaded, change.before)
    if change.kind == "unplaced":
        return (
            f"{away} cannot make the visit on {before} and no other time fits: "
            f"{change.why_unplaced or 'every possible time is taken'}. Accepting cancels the "
            "visit; place the family by hand or call them."
        )
    assert change.after is not None
    if change.kind == "restaffed":
        new = [names.get(a, a) for a in change.after.adult_ids if a not in change.before.adult_ids]
        return f"{away} cannot come on {before}: {' and '.join(new)} go instead, at the same time."
    to = _when(loaded, change.after)
    if change.made_room_for is not None:
        return (
            f"Moved from {before} to {to} to make room for the "
            f"{families.get(change.made_room_for, 'family')}, whose visit {away} cannot make."
        )
    return f"{away} cannot make the visit on {before}: moved to {to}, the nearest time that fits."


def _count(proposal: Replan) -> None:
    kinds = [c["kind"] for c in proposal.changes]
    proposal.moved = kinds.count("moved")
    proposal.restaffed = kinds.count("restaffed")
    proposal.unplaced = kinds.count("unplaced")


def _ensure_unchanged(proposal: Replan, held: dict[str, Visit]) -> None:
    changed = [
        c["family"]
        for c in proposal.changes
        if held[c["visit_id"]].version != c["version"]
        or held[c["visit_id"]].status not in (VisitStatus.SCHEDULED, VisitStatus.PROPOSED)
    ]
    if changed:
        raise ReplanStale(
            f"The visits of {', '.join(changed)} changed after this re-plan was proposed; "
            "propose again for the schedule as it is now."
        )


async def _record_absence(session: AsyncSession, who: Principal, proposal: Replan) -> None:
    starts, ends = london_day(proposal.day)
    people = await StaffRepository(session, who).people(UUID(s) for s in proposal.absent_staff_ids)
    await record_absence(session, who, list(people.values()), starts, ends, "Away (re-planned)")


def _alter(plan: dict[str, problem.Visit], changes: list[dict[str, Any]]) -> None:
    for change in changes:
        if change["after"] is None:
            continue  # cancelled: its broken visit was broken before too
        was = plan[change["household_id"]]
        plan[change["household_id"]] = problem.Visit(
            was.household_id,
            change["after"]["slot_id"],
            tuple(change["after"]["adult_ids"]),
            was.location_kind,
        )


async def _apply(
    session: AsyncSession,
    who: Principal,
    visits: VisitRepository,
    programme: VisitProgramme,
    visit: Visit,
    change: dict[str, Any],
) -> UUID:
    """One change made: the visit moved, re-staffed or cancelled; its history entry's id."""
    was = visit.starts_at
    after = change["after"]
    if after is None:
        visit.status = VisitStatus.CANCELLED
        visit.updated_at = utcnow()
        record = history.entry(session, visit, "cancelled_in_replan", who.id, change["reason"])
        return record.id
    slot = await visits.slot(programme.id, UUID(after["slot_id"]))
    assert slot is not None, "a proposal names the programme's own slots"
    visit.slot_id, visit.starts_at, visit.ends_at = slot.id, slot.starts_at, slot.ends_at
    teachers = set(change["teacher_ids"])
    await visits.replace_adults(
        visit,
        [
            (UUID(a), VisitRole.TEACHER if a in teachers else VisitRole.SECOND_ADULT)
            for a in after["adult_ids"]
        ],
    )
    record = await record_change(session, who, visit, "replanned", change["reason"][:500], was)
    return record.id
