"""Dates and scope that make sense, checked whenever a programme's settings are set.

Refused (422, every problem at once, each named by JSON pointer into the request): a visit day
in the past; a visit day outside the academic year (2026/27 runs 1 August 2026 to 31 July 2027);
an academic year that is not two consecutive years; a preference window that closes on or after
the first visit day (the schedule is made and published in between); year groups outside a
partly participating school's. Only what the request sets is checked, so a programme saved
before a rule existed can still be renamed. Weekend visit days are allowed, with a warning: a
school may mean them.
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from app.core.errors import json_pointer
from app.core.london import LONDON
from app.programmes.exceptions import SettingsRefused
from app.programmes.schemas import ProgrammeWarning
from app.trusts.models import Participation, School


def academic_year_span(academic_year: str) -> tuple[date, date] | None:
    """1 August to 31 July for "2026/27"; None when the two years do not follow each other."""
    first, second = academic_year.split("/")
    start = int(first)
    if int(second) != (start + 1) % 100:
        return None
    return date(start, 8, 1), date(start + 1, 7, 31)


@dataclass(frozen=True)
class Proposed:
    """The settings as they would be after the change; `changed` names what the request sets."""

    academic_year: str
    visit_days: list[date]  # as the request gave them, when it gives them
    preferences_close_at: datetime | None
    year_groups: list[str]
    changed: frozenset[str]


def refuse_senseless(proposed: Proposed, school: School, today: date) -> None:
    problems = [
        *_days(proposed, today),
        *_window(proposed),
        *_scope(proposed, school),
    ]
    if problems:
        summary = "; ".join(f"{p}: {d}" for p, d in problems[:3])
        raise SettingsRefused(
            f"Not saved. {summary}",
            extra={"errors": [{"pointer": p, "detail": d} for p, d in problems]},
        )


def _days(proposed: Proposed, today: date) -> list[tuple[str, str]]:
    if not {"visit_days", "academic_year"} & proposed.changed:
        return []
    span = academic_year_span(proposed.academic_year)
    if span is None:
        detail = f"{proposed.academic_year} is not an academic year: write it as 2026/27."
        return [(json_pointer("academic_year"), detail)]
    start, end = span
    problems = []
    for i, day in enumerate(proposed.visit_days):
        pointer = json_pointer("visit_days", i)
        if "visit_days" in proposed.changed and day < today:
            problems.append((pointer, f"{day} is in the past."))
        elif not start <= day <= end:
            problems.append(
                (
                    pointer,
                    f"{day} is outside academic year {proposed.academic_year}, which runs "
                    f"{start:%-d %b %Y} to {end:%-d %b %Y}.",
                )
            )
    return problems


def _window(proposed: Proposed) -> list[tuple[str, str]]:
    closes = proposed.preferences_close_at
    if closes is None or not {"visit_days", "preferences_close_at"} & proposed.changed:
        return []
    first = min(proposed.visit_days)
    if closes < datetime.combine(first, time(0), tzinfo=LONDON):
        return []
    return [
        (
            json_pointer("preferences_close_at"),
            f"Parents' answers must be in before the first visit day ({first}), so the schedule "
            "can be made and published in between; close the window earlier.",
        )
    ]


def _scope(proposed: Proposed, school: School) -> list[tuple[str, str]]:
    allowed = school.participating_year_groups
    if (
        "year_groups" not in proposed.changed
        or school.participation is not Participation.PARTIAL
        or not allowed
    ):
        return []
    return [
        (
            json_pointer("year_groups", i),
            f"Year {year} is outside {school.name}'s part in home visits "
            f"({', '.join(allowed)} only: {school.participation_reason}).",
        )
        for i, year in enumerate(proposed.year_groups)
        if year not in allowed
    ]


def setting_warnings(days: list[date]) -> list[ProgrammeWarning]:
    """`days` in the order the programme answers them."""
    return [
        ProgrammeWarning(
            type="weekend-visit-day",
            pointer=json_pointer("visit_days", i),
            detail=f"{day:%A %-d %B %Y} is a weekend day: check that families and staff expect "
            "visits then.",
        )
        for i, day in enumerate(days)
        if day.weekday() >= 5
    ]
