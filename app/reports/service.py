"""Reports for a programme, a school's year or the trust's year: who may read which (SLT their
school's, the trust's admins the trust's and any of its schools'), and the figures assembled from
the repository's few grouped reads.

Households count once per programme whose scope they are in (a family with children at two
schools of the trust is visited by each), once in each class and year group they have a child
in. Children count by their own outcome where a sibling's differs (visits/progress.py)."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.london import LONDON, london_today
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.settings import get_settings
from app.core.types import YearGroup, utcnow
from app.parents.answers_models import AnswerKind
from app.programmes.models import VisitProgramme
from app.reports.export import as_csv
from app.reports.figures import (
    ChildState,
    HouseholdState,
    cohorts,
    days_of_reach,
    group_reach,
    parts_by,
    preferences_met,
    raw_counts,
    reach_counts,
    reach_parts,
    staff_load,
    suppressed,
)
from app.reports.repository import Answer, Child, ReportRepository, VisitChild, VisitRow
from app.reports.schemas import (
    PupilGroup,
    Reach,
    ReachPart,
    Report,
    ReportProgramme,
    ReportScope,
    SurveyHeadline,
)
from app.roster.models import SendStatus
from app.surveys import results as survey_results
from app.trusts.repository import SchoolRepository, TrustRepository
from app.visits.models import VisitLocation, VisitStatus

Key = tuple[UUID, UUID]  # (programme, household) or (programme, pupil)


@dataclass(frozen=True)
class Scope:
    kind: ReportScope
    id: UUID
    title: str
    programmes: list[tuple[VisitProgramme, str]]  # with each one's school name


async def programme_report(session: AsyncSession, who: Principal, programme_id: UUID) -> Report:
    """404 outside the caller's schools; 403 without reports:read at the programme's school."""
    repo = ReportRepository(session, who)
    programme = await repo.get_permitted(programme_id, Permission.REPORTS_READ)
    found = await repo.programmes(school_id=programme.school_id, academic_year=None)
    named = [(p, name) for p, name in found if p.id == programme.id]
    return await _build(repo, Scope(ReportScope.PROGRAMME, programme.id, "", named))


async def school_report(
    session: AsyncSession, who: Principal, school_id: UUID, academic_year: str | None
) -> Report:
    """The school's programmes of the year (the latest year it ran one, if not given)."""
    school = await SchoolRepository(session, who).get_permitted(school_id, Permission.REPORTS_READ)
    repo = ReportRepository(session, who)
    year = academic_year or await repo.latest_year(school.id)
    found = await repo.programmes(school_id=school.id, academic_year=year) if year else []
    return await _build(
        repo, Scope(ReportScope.SCHOOL, school.id, _title(school.name, year), found)
    )


async def trust_report(
    session: AsyncSession, who: Principal, trust_id: UUID, academic_year: str | None
) -> Report:
    """Every programme of the trust's year: its admins only (reports:read held trust-wide)."""
    trust = await TrustRepository(session, who).get_permitted(trust_id, Permission.REPORTS_READ)
    repo = ReportRepository(session, who)
    year = academic_year or await repo.latest_year(None)
    found = await repo.programmes(school_id=None, academic_year=year) if year else []
    return await _build(repo, Scope(ReportScope.TRUST, trust.id, _title(trust.name, year), found))


async def report_csv(
    session: AsyncSession,
    who: Principal,
    kind: ReportScope,
    scope_id: UUID,
    academic_year: str | None = None,
) -> tuple[Report, str]:
    """The report as CSV; the export is audited (it leaves the system)."""
    if kind is ReportScope.PROGRAMME:
        report = await programme_report(session, who, scope_id)
    elif kind is ReportScope.SCHOOL:
        report = await school_report(session, who, scope_id, academic_year)
    else:
        report = await trust_report(session, who, scope_id, academic_year)
    schools = {p.school_id for p in report.programmes}
    await audit.record(
        session,
        who,
        "report.exported",
        subject_type=f"{kind.value}_report",
        subject_id=scope_id,
        school_id=next(iter(schools)) if kind is not ReportScope.TRUST and schools else None,
        details={"format": "csv", "programmes": len(report.programmes)},
    )
    await session.flush()
    return report, as_csv(report)


def _title(name: str, year: str | None) -> str:
    return f"{name}, {year}" if year else name


async def _build(repo: ReportRepository, scope: Scope) -> Report:
    below = get_settings().reports_suppressed_below
    programmes = [p for p, _ in scope.programmes]
    ids = [p.id for p in programmes]
    members = _in_scope(programmes, await repo.children(programmes) if programmes else [])
    on_visits = await repo.visit_children(ids) if ids else []
    visits = list({row.visit_id: row.visit() for row in on_visits}.values())
    answers = await repo.answers(ids) if ids else []
    states = await _households(repo, ids, members, answers, visits)
    adult_days = await repo.adult_days(ids) if ids else []
    return Report(
        scope=scope.kind,
        scope_id=scope.id,
        title=scope.title or _programme_title(scope),
        generated_at=utcnow(),
        suppressed_below=below,
        programmes=[_programme(p, name) for p, name in scope.programmes],
        reach=_reach(scope, members, states, _children(members, on_visits), below),
        staff_load=staff_load(adult_days, adults=len({d.staff_id for d in adult_days})),
        preferences=preferences_met(_placed(answers, states, visits), below),
        concerns_raised=await _concerns(repo, programmes, below),
        surveys=await _survey_headlines(repo.session, ids),
    )


def _reach(
    scope: Scope,
    members: dict[Key, Child],
    states: list[HouseholdState],
    children: list[ChildState],
    below: int,
) -> Reach:
    everyone, groups = cohorts(children)
    # Each visit day so far, and any day a child was visited on (a visit arranged off the plan).
    today = london_today()
    visit_days = {d for p, _ in scope.programmes for d in p.days() if d <= today}
    visit_days |= set(everyone.visited_on)
    kids = _household_children(members)
    trust_wide = scope.kind is ReportScope.TRUST
    return Reach(
        totals=reach_counts(states, below),
        schools=_school_parts(states, kids, scope, below) if trust_wide else [],
        year_groups=_year_group_parts(states, kids, below),
        classes=[] if trust_wide else _class_parts(states, kids, below),
        pupils=everyone.pupils,
        visited=everyone.visited(),
        groups=group_reach(everyone, groups, below),
        days=days_of_reach(everyone, groups, visit_days, below),
    )


def _programme_title(scope: Scope) -> str:
    (programme, school_name), *_ = scope.programmes
    return f"{programme.name}, {school_name}"


def _programme(programme: VisitProgramme, school_name: str) -> ReportProgramme:
    days = programme.days()
    return ReportProgramme(
        programme_id=programme.id,
        school_id=programme.school_id,
        school_name=school_name,
        name=programme.name,
        academic_year=programme.academic_year,
        first_day=min(days) if days else None,
        last_day=max(days) if days else None,
    )


def _in_scope(programmes: Sequence[VisitProgramme], children: Iterable[Child]) -> dict[Key, Child]:
    """(programme, pupil) -> the child, for each programme whose school, year and year groups
    the child is in (programmes.repository.children_in_scope, for many programmes at once)."""
    by_school: dict[UUID, list[VisitProgramme]] = defaultdict(list)
    for programme in programmes:
        by_school[programme.school_id].append(programme)
    return {
        (p.id, child.pupil_id): child
        for child in children
        for p in by_school[child.school_id]
        if child.academic_year == p.academic_year and str(child.year_group) in p.year_groups
    }


async def _households(
    repo: ReportRepository,
    ids: list[UUID],
    members: dict[Key, Child],
    answers: list[Answer],
    visits: list[VisitRow],
) -> list[HouseholdState]:
    states = {
        (p, c.household_id): HouseholdState(p, c.household_id) for (p, _), c in members.items()
    }
    for answer in answers:
        state = states.get((answer.programme_id, answer.household_id))
        if state is not None:
            state.flags.add("answered" if answer.kind is AnswerKind.PREFERENCES else "declined")
    for exemption in await repo.exemptions(ids) if ids else []:
        state = states.get((exemption.programme_id, exemption.household_id))
        if state is not None:
            state.flags.add(exemption.kind)  # "exempt" or "neutral_venue"
    for visit in visits:
        state = states.get((visit.programme_id, visit.household_id))
        if state is not None:
            state.flags |= _visit_flags(visit)
    return list(states.values())


def _visit_flags(visit: VisitRow) -> set[str]:
    flags = set()
    if visit.status is not VisitStatus.PROPOSED:
        flags.add("scheduled")
    if visit.location is VisitLocation.NEUTRAL_VENUE:
        flags.add("neutral_venue")
    outcome = {
        VisitStatus.COMPLETED: "visited",
        VisitStatus.NO_ACCESS: "no_access",
        VisitStatus.DECLINED: "declined",
    }.get(visit.status)
    if outcome is not None:
        flags.add(outcome)
    return flags


def _children(members: dict[Key, Child], on_visits: list[VisitChild]) -> list[ChildState]:
    visited_on: dict[Key, date] = {}
    for row in on_visits:
        outcome = row.outcome.value if row.outcome is not None else row.status.value
        if outcome == VisitStatus.COMPLETED.value:
            visited_on[(row.programme_id, row.pupil_id)] = row.day
    return [
        ChildState(child.pupil_id, _groups(child), visited_on.get(key))
        for key, child in members.items()
    ]


def _groups(child: Child) -> frozenset[PupilGroup]:
    return _groups_of(
        child.free_school_meals, child.pupil_premium, child.send, child.eal, child.looked_after
    )


@cache
def _groups_of(
    fsm: bool, pupil_premium: bool, send: SendStatus, eal: bool, looked_after: bool
) -> frozenset[PupilGroup]:
    # A few dozen combinations of flags among tens of thousands of children: each made once.
    held = {
        PupilGroup.FREE_SCHOOL_MEALS: fsm,
        PupilGroup.PUPIL_PREMIUM: pupil_premium,
        PupilGroup.SEND_SUPPORT: send == SendStatus.SEN_SUPPORT,
        PupilGroup.EHCP: send == SendStatus.EHCP,
        PupilGroup.EAL: eal,
        PupilGroup.LOOKED_AFTER: looked_after,
    }
    return frozenset(group for group, member in held.items() if member)


def _household_children(members: dict[Key, Child]) -> dict[Key, list[Child]]:
    found: dict[Key, list[Child]] = defaultdict(list)
    for (programme_id, _), child in members.items():
        found[(programme_id, child.household_id)].append(child)
    return found


def _school_parts(
    states: list[HouseholdState], kids: dict[Key, list[Child]], scope: Scope, below: int
) -> list[ReachPart]:
    names = {p.school_id: name for p, name in scope.programmes}
    parts = parts_by(
        states, lambda s: [c.school_id for c in kids[(s.programme_id, s.household_id)]]
    )
    ordered = sorted(parts.items(), key=lambda item: (names[item[0]], item[0]))
    return _published(
        states, [({"school_id": s, "school_name": names[s]}, found) for s, found in ordered], below
    )


def _year_group_parts(
    states: list[HouseholdState], kids: dict[Key, list[Child]], below: int
) -> list[ReachPart]:
    parts = parts_by(
        states, lambda s: [str(c.year_group) for c in kids[(s.programme_id, s.household_id)]]
    )
    order = list(YearGroup)
    ordered = sorted(parts.items(), key=lambda item: order.index(YearGroup(item[0])))
    return _published(
        states, [({"year_group": YearGroup(year)}, found) for year, found in ordered], below
    )


def _class_parts(
    states: list[HouseholdState], kids: dict[Key, list[Child]], below: int
) -> list[ReachPart]:
    classes = {c.class_id: c for found in kids.values() for c in found}
    parts = parts_by(states, lambda s: [c.class_id for c in kids[(s.programme_id, s.household_id)]])
    ordered = sorted(parts.items(), key=lambda item: (classes[item[0]].class_name, str(item[0])))
    labelled = [
        (
            {
                "school_id": classes[class_id].school_id,
                "class_id": class_id,
                "class_name": classes[class_id].class_name,
                "year_group": YearGroup(classes[class_id].year_group),
            },
            found,
        )
        for class_id, found in ordered
    ]
    return _published(states, labelled, below)


def _published(
    states: list[HouseholdState],
    parts: list[tuple[dict[str, Any], list[HouseholdState]]],
    below: int,
) -> list[ReachPart]:
    return [ReachPart(**row) for row in reach_parts(parts, raw_counts(states), below)]


def _placed(
    answers: list[Answer], states: list[HouseholdState], visits: list[VisitRow]
) -> list[tuple[str, list[str]]]:
    """Each household in scope placed on a visit (not called off), with its preferences."""
    in_scope = {(s.programme_id, s.household_id) for s in states}
    preferred = {
        (a.programme_id, a.household_id): list(a.preferred_slot_ids)
        for a in answers
        if a.kind is AnswerKind.PREFERENCES
    }
    return [
        (str(v.slot_id), preferred.get((v.programme_id, v.household_id), []))
        for v in visits
        if v.status is not VisitStatus.CANCELLED and (v.programme_id, v.household_id) in in_scope
    ]


async def _concerns(
    repo: ReportRepository, programmes: Sequence[VisitProgramme], below: int
) -> int | None:
    """Concerns raised at the programmes' schools from each one's first visit day to its last
    (Europe/London), each concern once: one read for every school (safeguarding's own count
    asks once per programme)."""
    windows: dict[UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    for programme in programmes:
        days = programme.days()
        if days:
            first = datetime.combine(min(days), time(0), tzinfo=LONDON)
            last = datetime.combine(max(days) + timedelta(days=1), time(0), tzinfo=LONDON)
            windows[programme.school_id].append((first, last))
    if not windows:
        return suppressed(0, below)
    starts = min(w[0] for found in windows.values() for w in found)
    ends = max(w[1] for found in windows.values() for w in found)
    raised = await repo.concerns_raised(list(windows), starts, ends)
    count = sum(any(first <= at < last for first, last in windows[school]) for school, at in raised)
    return suppressed(count, below)


async def _survey_headlines(
    session: AsyncSession, programme_ids: list[UUID]
) -> list[SurveyHeadline]:
    figures = await survey_results.headlines(session, programme_ids)
    return [SurveyHeadline.model_validate(f, from_attributes=True) for f in figures]
