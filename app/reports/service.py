"""Reports for a programme, a school's year or the trust's year: who may read which (SLT their
school's, the trust's admins the trust's and any of its schools'), and the figures assembled from
the repository's few grouped reads.

Households count once per programme whose scope they are in (a family with children at two
schools of the trust is visited by each), once in each class and year group they have a child
in. Children count by their own outcome where a sibling's differs (visits/progress.py)."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.london import london_today
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.settings import get_settings
from app.core.types import YearGroup, utcnow
from app.programmes.models import VisitProgramme
from app.reports.export import as_csv
from app.reports.figures import (
    COUNTS,
    cohorts,
    days_of_reach,
    group_reach,
    preferences_met,
    reach_counts,
    reach_parts,
    staff_load,
    suppressed,
)
from app.reports.repository import ChildCount, HouseholdCounts, PartKind, ReportRepository
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
from app.safeguarding.repository import raised_at as concern_times
from app.surveys import results as survey_results
from app.trusts.repository import SchoolRepository, TrustRepository


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
    spans = await repo.day_spans(ids) if ids else []
    placed = await repo.placed(programmes) if programmes else []
    return Report(
        scope=scope.kind,
        scope_id=scope.id,
        title=scope.title or _programme_title(scope),
        generated_at=utcnow(),
        suppressed_below=below,
        programmes=[_programme(p, name) for p, name in scope.programmes],
        reach=await _reach(repo, scope, below),
        staff_load=staff_load(spans, adults=spans[0].adults if spans else 0),
        preferences=preferences_met(
            ((str(p.slot_id), p.preferred_slot_ids) for p in placed), below
        ),
        concerns_raised=await _concerns(repo, programmes, below),
        surveys=await _survey_headlines(repo.session, ids),
    )


async def _reach(repo: ReportRepository, scope: Scope, below: int) -> Reach:
    programmes = [p for p, _ in scope.programmes]
    trust_wide = scope.kind is ReportScope.TRUST
    parts = (
        (PartKind.SCHOOL, PartKind.YEAR_GROUP)
        if trust_wide
        else (PartKind.YEAR_GROUP, PartKind.CLASS)
    )
    households = await repo.household_counts(programmes, parts) if programmes else []
    children = await repo.child_counts(programmes) if programmes else []
    everyone, groups = cohorts(_counted(children))
    # Each visit day so far, and any day a child was visited on (a visit arranged off the plan).
    today = london_today()
    visit_days = {d for p in programmes for d in p.days() if d <= today}
    visit_days |= set(everyone.visited_on)
    by_part: dict[str, list[HouseholdCounts]] = defaultdict(list)
    for counted in households:
        by_part[counted.part].append(counted)
    totals = by_part[PartKind.TOTAL][0].counts if by_part[PartKind.TOTAL] else _nothing()
    return Reach(
        totals=reach_counts(totals, below),
        schools=_school_parts(by_part[PartKind.SCHOOL], totals, scope, below),
        year_groups=_year_group_parts(by_part[PartKind.YEAR_GROUP], totals, below),
        classes=_class_parts(by_part[PartKind.CLASS], totals, below),
        pupils=everyone.pupils,
        visited=everyone.visited(),
        groups=group_reach(everyone, groups, below),
        days=days_of_reach(everyone, groups, visit_days, below),
    )


def _nothing() -> dict[str, int]:
    return dict.fromkeys(COUNTS, 0)


@dataclass(frozen=True)
class _Counted:
    groups: frozenset[PupilGroup]
    visited_on: date | None
    children: int


def _counted(children: Iterable[ChildCount]) -> list[_Counted]:
    return [
        _Counted(
            _groups_of(c.free_school_meals, c.pupil_premium, c.send, c.eal, c.looked_after),
            c.visited_on,
            c.children,
        )
        for c in children
    ]


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


@cache
def _groups_of(
    fsm: bool, pupil_premium: bool, send: SendStatus, eal: bool, looked_after: bool
) -> frozenset[PupilGroup]:
    held = {
        PupilGroup.FREE_SCHOOL_MEALS: fsm,
        PupilGroup.PUPIL_PREMIUM: pupil_premium,
        PupilGroup.SEND_SUPPORT: send == SendStatus.SEN_SUPPORT,
        PupilGroup.EHCP: send == SendStatus.EHCP,
        PupilGroup.EAL: eal,
        PupilGroup.LOOKED_AFTER: looked_after,
    }
    return frozenset(group for group, member in held.items() if member)


def _school_parts(
    found: list[HouseholdCounts], totals: dict[str, int], scope: Scope, below: int
) -> list[ReachPart]:
    names = {p.school_id: name for p, name in scope.programmes}
    ordered = sorted(found, key=lambda c: (names[_id(c.school_id)], _id(c.school_id)))
    labelled = [
        ({"school_id": c.school_id, "school_name": names[_id(c.school_id)]}, c.counts)
        for c in ordered
    ]
    return _published(labelled, totals, below)


def _year_group_parts(
    found: list[HouseholdCounts], totals: dict[str, int], below: int
) -> list[ReachPart]:
    order = list(YearGroup)
    ordered = sorted(found, key=lambda c: order.index(_year_group(c.year_group)))
    labelled = [({"year_group": _year_group(c.year_group)}, c.counts) for c in ordered]
    return _published(labelled, totals, below)


def _class_parts(
    found: list[HouseholdCounts], totals: dict[str, int], below: int
) -> list[ReachPart]:
    ordered = sorted(found, key=lambda c: (c.class_name, str(c.class_id)))
    labelled = [
        (
            {
                "school_id": c.school_id,
                "class_id": c.class_id,
                "class_name": c.class_name,
                "year_group": _year_group(c.year_group),
            },
            c.counts,
        )
        for c in ordered
    ]
    return _published(labelled, totals, below)


def _year_group(found: str | None) -> YearGroup:
    assert found is not None  # a year group's or class's part always names its year group
    return YearGroup(found)


def _id(found: UUID | None) -> UUID:
    assert found is not None  # a school's part always names its school
    return found


def _published(
    parts: list[tuple[dict[str, Any], dict[str, int]]], totals: dict[str, int], below: int
) -> list[ReachPart]:
    return [ReachPart(**row) for row in reach_parts(parts, totals, below)]


async def _concerns(
    repo: ReportRepository, programmes: Sequence[VisitProgramme], below: int
) -> int | None:
    """Concerns raised at the programmes' schools during any of their visit windows, each
    concern once: one read for every school."""
    windows: dict[UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    for programme in programmes:
        if (window := programme.visit_window()) is not None:
            windows[programme.school_id].append(window)
    if not windows:
        return suppressed(0, below)
    spans = [w for found in windows.values() for w in found]
    raised = await concern_times(
        repo.session, list(windows), min(w[0] for w in spans), max(w[1] for w in spans)
    )
    count = sum(
        any(first <= at < last for first, last in windows[school])
        for school, times in raised.items()
        for at in times
    )
    return suppressed(count, below)


async def _survey_headlines(
    session: AsyncSession, programme_ids: list[UUID]
) -> list[SurveyHeadline]:
    figures = await survey_results.headlines(session, programme_ids)
    return [SurveyHeadline.model_validate(f, from_attributes=True) for f in figures]
