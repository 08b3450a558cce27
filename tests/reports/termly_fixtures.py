"""Reports as the reports service fills them, built here in Python: a trust's (three schools,
one with a name that must be escaped) and a school's (four classes), each with suppressed
figures (null) beside ordinary ones, several pupil groups and two weeks of visit days."""

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid5

from app.core.types import YearGroup
from app.reports.schemas import (
    GroupReach,
    PreferencesMet,
    PupilGroup,
    Reach,
    ReachCounts,
    ReachOnDay,
    ReachPart,
    Report,
    ReportProgramme,
    ReportScope,
    StaffLoad,
    SurveyHeadline,
)
from app.surveys.models import SurveyAudience

SUPPRESSED_BELOW = 5
HOSTILE_SCHOOL = "St Mary's & St John's <script>alert('x')</script>"
_NAMESPACE = UUID("6f1c7a52-6d0e-4a8e-9f8e-7d4b0c2b9a10")
FIRST_DAY = date(2026, 9, 1)
# Visit days: weekdays over two weeks of September.
DAYS = [d for d in (FIRST_DAY + timedelta(days=n) for n in range(12)) if d.weekday() < 5]


def _id(name: str) -> UUID:
    return uuid5(_NAMESPACE, name)


def _group(
    group: PupilGroup, pupils: int | None, visited: int | None, others: float | None
) -> GroupReach:
    reach = None if pupils is None or visited is None or not pupils else visited / pupils
    gap = None if reach is None or others is None else reach - others
    return GroupReach(
        group=group, pupils=pupils, visited=visited, reach=reach, others_reach=others, gap=gap
    )


def _groups(scale: float) -> list[GroupReach]:
    return [
        _group(PupilGroup.FREE_SCHOOL_MEALS, round(180 * scale), round(131 * scale), 0.86),
        _group(PupilGroup.PUPIL_PREMIUM, round(210 * scale), round(160 * scale), 0.85),
        _group(PupilGroup.SEND_SUPPORT, round(95 * scale), round(77 * scale), 0.84),
        # Too few to show: suppressed, and so is everyone else's share that would give it away.
        _group(PupilGroup.EHCP, None, None, None),
        _group(PupilGroup.EAL, round(120 * scale), round(88 * scale), 0.85),
        _group(PupilGroup.LOOKED_AFTER, None, None, None),
    ]


def _days(pupils: int, final_reach: float, groups: list[GroupReach]) -> list[ReachOnDay]:
    days = []
    for index, day in enumerate(DAYS):
        progress = (index + 1) / len(DAYS)
        reach = final_reach * progress
        on_day = [
            _group(
                g.group,
                g.pupils,
                None if g.visited is None else round(g.visited * progress),
                None if g.others_reach is None else g.others_reach * progress,
            )
            for g in groups
        ]
        # The first day's free school meals figure is too small to show.
        if index == 0:
            on_day[0] = _group(PupilGroup.FREE_SCHOOL_MEALS, on_day[0].pupils, None, None)
        days.append(
            ReachOnDay(
                day=day,
                pupils=pupils,
                visited=round(pupils * reach),
                reach=reach,
                groups=on_day,
            )
        )
    return days


def _counts(in_scope: int, visited: int) -> ReachCounts:
    return ReachCounts(
        in_scope=in_scope,
        answered=round(in_scope * 0.93),
        scheduled=round(in_scope * 0.95),
        visited=visited,
        no_access=round(in_scope * 0.03),
        declined=None,
        exempt=None,
        neutral_venue=round(in_scope * 0.02) or None,
    )


def _surveys(open_follow_up: bool = False) -> list[SurveyHeadline]:
    return [
        SurveyHeadline(
            audience=SurveyAudience.TEACHER_IMMEDIATE,
            open=False,
            closes_on=date(2026, 9, 26),
            invited=64,
            responded=51,
            response_rate=51 / 64,
            headline_mean=3.62,
        ),
        SurveyHeadline(
            audience=SurveyAudience.TEACHER_FOLLOW_UP,
            open=open_follow_up,
            closes_on=date(2026, 10, 24),
            invited=None if open_follow_up else 64,
            responded=None if open_follow_up else 44,
            response_rate=None if open_follow_up else 44 / 64,
            headline_mean=None if open_follow_up else 4.05,
            change_from_immediate=None if open_follow_up else 0.43,
        ),
        SurveyHeadline(
            audience=SurveyAudience.PARENT,
            open=False,
            closes_on=date(2026, 10, 10),
            invited=1180,
            responded=None,  # a second cell: the rate would give the suppressed non-responders
            response_rate=None,
            headline_mean=4.31,
        ),
    ]


def _programme(school: str, name: str) -> ReportProgramme:
    return ReportProgramme(
        programme_id=_id(f"programme {school}"),
        school_id=_id(school),
        school_name=school,
        name=name,
        academic_year="2026-27",
        first_day=DAYS[0],
        last_day=DAYS[-1],
    )


SCHOOLS = ["Oakfield Primary", "Riverside Academy", HOSTILE_SCHOOL]


def trust_report() -> Report:
    groups = _groups(scale=1.0)
    pupils, visited = 1480, 1228
    schools = [
        ReachPart(school_id=_id(name), school_name=name, **_counts(n, v).model_dump())
        for name, n, v in zip(SCHOOLS, (520, 610, 170), (441, 517, 139), strict=True)
    ]
    return Report(
        scope=ReportScope.TRUST,
        scope_id=_id("trust"),
        title="Northbrook Learning Trust: home visits, autumn 2026",
        generated_at=datetime(2026, 10, 30, 16, 5, tzinfo=UTC),
        suppressed_below=SUPPRESSED_BELOW,
        programmes=[_programme(name, "Reception home visits") for name in SCHOOLS],
        reach=Reach(
            totals=_counts(1300, 1097),
            schools=schools,
            year_groups=[
                ReachPart(year_group=YearGroup.RECEPTION, **_counts(700, 601).model_dump()),
                ReachPart(year_group=YearGroup.Y1, **_counts(600, 496).model_dump()),
            ],
            classes=[],
            pupils=pupils,
            visited=visited,
            groups=groups,
            days=_days(pupils, visited / pupils, groups),
        ),
        staff_load=StaffLoad(
            adults=64,
            adult_days=402,
            visits_per_adult_day=5.5,
            most_visits_in_a_day=10,
            longest_day_minutes=395,
        ),
        preferences=PreferencesMet(
            placed_with_preferences=1042,
            first_choice=688,
            another_listed_choice=None,
            not_listed=None,
            first_choice_share=688 / 1042,
            listed_share=None,
        ),
        concerns_raised=None,
        surveys=_surveys(),
    )


CLASSES = ["Rowan (R)", "Willow (R)", "Hazel (1)", "Oak & Ash (1)"]


def school_report() -> Report:
    groups = _groups(scale=0.3)
    pupils, visited = 118, 101
    school = SCHOOLS[0]
    classes = [
        ReachPart(
            school_id=_id(school),
            class_id=_id(name),
            class_name=name,
            **_counts(n, v).model_dump(),
        )
        for name, n, v in zip(CLASSES, (29, 30, 28, 27), (26, 25, 24, 22), strict=True)
    ]
    return Report(
        scope=ReportScope.SCHOOL,
        scope_id=_id(school),
        title=f"{school}: home visits, autumn 2026",
        generated_at=datetime(2026, 9, 16, 7, 30, tzinfo=UTC),
        suppressed_below=SUPPRESSED_BELOW,
        programmes=[_programme(school, "Reception and Year 1 home visits")],
        reach=Reach(
            totals=_counts(104, 89),
            schools=[],
            year_groups=[
                ReachPart(year_group=YearGroup.RECEPTION, **_counts(55, 49).model_dump()),
                ReachPart(year_group=YearGroup.Y1, **_counts(52, 43).model_dump()),
            ],
            classes=classes,
            pupils=pupils,
            visited=visited,
            groups=groups,
            days=_days(pupils, visited / pupils, groups)[:6],
        ),
        staff_load=StaffLoad(
            adults=9,
            adult_days=41,
            visits_per_adult_day=4.4,
            most_visits_in_a_day=8,
            longest_day_minutes=350,
        ),
        preferences=PreferencesMet(
            placed_with_preferences=96,
            first_choice=71,
            another_listed_choice=18,
            not_listed=7,
            first_choice_share=71 / 96,
            listed_share=89 / 96,
        ),
        concerns_raised=6,
        surveys=_surveys(open_follow_up=True),
    )
