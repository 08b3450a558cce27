"""The printable termly report: one HTML page for a trust or a school, with its charts drawn as
SVG in the page and each chart's figures in a table beside it.

The page needs no script and loads nothing: its one stylesheet is inline and allowed by its
hash in the page's own Content-Security-Policy (`PAGE_POLICY`), which is as strict as the JSON
API's otherwise. Every text from the data goes through Jinja2's autoescaping (or the charts' own
XML escaping). A suppressed count (null) reads "–" with a footnote, never 0; the concerns
count, suppressed only when small, reads "fewer than N"."""

import base64
import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from app.core.london import local_time
from app.core.types import YearGroup
from app.reports import charts
from app.reports.schemas import GroupReach, PupilGroup, Report, ReportScope

TEMPLATES = Path(__file__).resolve().parent / "templates"
STYLESHEET = (TEMPLATES / "termly.css").read_text(encoding="utf-8")
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLESHEET.encode()).digest()).decode()
PAGE_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
SUPPRESSED = Markup(
    '<span class="suppressed">–<span class="visually-hidden"> suppressed</span>'
    '<sup aria-hidden="true">*</sup></span>'
)
SCOPE_NAMES = {
    ReportScope.TRUST: "Trust report",
    ReportScope.SCHOOL: "School report",
    ReportScope.PROGRAMME: "Programme report",
}


def _count(value: int | None) -> str | Markup:
    return SUPPRESSED if value is None else f"{value:,}"


def _share(value: float | None) -> str | Markup:
    return SUPPRESSED if value is None else charts.pct(value)


def _mean(value: float | None) -> str | Markup:
    return SUPPRESSED if value is None else f"{value:.2f}"


def _signed(value: float | None) -> str | Markup:
    return SUPPRESSED if value is None else f"{value:+.2f}"


def _points(gap: float | None) -> str | Markup:
    """A gap in reach, in percentage points: "−12 points" when the group is reached less."""
    if gap is None:
        return SUPPRESSED
    points = round(gap * 100)
    return f"{points:+d} points".replace("-", "−")


def _minutes(value: int | None) -> str | Markup:
    if value is None:
        return SUPPRESSED
    hours, minutes = divmod(value, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _year_group(year: YearGroup | None) -> str:
    names = {YearGroup.N1: "Nursery 1", YearGroup.N2: "Nursery 2", YearGroup.RECEPTION: "Reception"}
    return "A year group" if year is None else names.get(year, f"Year {year.value}")


def _long_date(day: date | None) -> str:
    return "–" if day is None else f"{day.day} {day:%B %Y}"


FILTERS: dict[str, Callable[..., Any]] = {
    "count": _count,
    "share": _share,
    "mean": _mean,
    "signed": _signed,
    "points": _points,
    "minutes": _minutes,
    "day": charts.day_label,
    "long_date": _long_date,
    "year_group": _year_group,
}


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(FILTERS)
    return environment


_ENVIRONMENT = _environment()


def _ratio(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


def _trusted(markup: str) -> Markup:
    """Markup of our own making: the charts escape every text they draw (see charts.py), and
    the stylesheet is our file, hashed in PAGE_POLICY as it stands."""
    return Markup(markup)  # noqa: S704 - never text from the report itself


def _charts(report: Report, cohort: float | None) -> dict[str, Markup]:
    reach, title = report.reach, report.title
    return {
        "groups": _trusted(
            charts.group_reach_chart(
                "chart-groups", f"Reach by pupil group: {title}", reach.groups, cohort
            )
        ),
        "days": _trusted(
            charts.progress_chart("chart-days", f"Reach day by day: {title}", reach.days)
        ),
        "preferences": _trusted(
            charts.preferences_chart(
                "chart-preferences", f"Preferences met: {title}", report.preferences
            )
        ),
        "surveys": _trusted(
            charts.survey_chart("chart-surveys", f"Survey scores: {title}", report.surveys)
        ),
    }


def _day_groups(report: Report) -> list[PupilGroup]:
    """The groups with a figure on some day: a column each in the table of days."""
    present = {g.group for day in report.reach.days for g in day.groups if g.reach is not None}
    return [group for group in PupilGroup if group in present]


def _day_reach(groups: list[GroupReach], group: PupilGroup) -> float | None:
    return next((g.reach for g in groups if g.group == group), None)


def _context(report: Report) -> dict[str, Any]:
    reach = report.reach
    cohort = _ratio(reach.visited, reach.pupils)
    by_school = report.scope == ReportScope.TRUST
    return {
        "report": report,
        "scope_name": SCOPE_NAMES[report.scope],
        "generated": f"{local_time(report.generated_at):%-d %B %Y, %H:%M}",
        "cohort_reach": cohort,
        "household_reach": _ratio(reach.totals.visited, reach.totals.in_scope),
        "charts": _charts(report, cohort),
        "group_names": charts.GROUP_NAMES,
        "audience_names": charts.AUDIENCE_NAMES,
        "day_groups": _day_groups(report),
        "day_reach": _day_reach,
        "by_school": by_school,
        "parts": reach.schools if by_school else reach.classes,
        "stylesheet": _trusted(STYLESHEET),
    }


def render_termly(report: Report) -> str:
    """The whole page, ready to serve, save or print to PDF."""
    return _ENVIRONMENT.get_template("termly.html.j2").render(_context(report))


def html_response(report: Report) -> HTMLResponse:
    """The page as a response, with the policy that lets its stylesheet (and nothing else) apply.
    Like every answer here it holds children's data, so it is never cached."""
    return HTMLResponse(
        render_termly(report),
        headers={"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-store"},
    )
