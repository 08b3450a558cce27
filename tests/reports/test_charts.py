"""The termly report's charts: accessible images (a name, a description in words), scalable,
styled without inline styles, escaping what they draw, and never drawing a suppressed figure as
0."""

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from app.reports import charts
from app.reports.schemas import PreferencesMet, ReachOnDay, SurveyHeadline
from app.surveys.models import SurveyAudience
from tests.reports.termly_fixtures import HOSTILE_SCHOOL, school_report, trust_report

SVG = "{http://www.w3.org/2000/svg}"
CHARTS: dict[str, Callable[[str, str], str]] = {
    "groups": lambda cid, title: charts.group_reach_chart(
        cid, title, trust_report().reach.groups, 0.83
    ),
    "days": lambda cid, title: charts.progress_chart(cid, title, trust_report().reach.days),
    "preferences": lambda cid, title: charts.preferences_chart(
        cid, title, school_report().preferences
    ),
    "surveys": lambda cid, title: charts.survey_chart(cid, title, trust_report().surveys),
}


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, checked to be well-formed XML


def _bars(root: ET.Element) -> list[ET.Element]:
    """The marks drawn on the plot (legend swatches sit in groups, patterns in defs)."""
    return root.findall(f"{SVG}rect")


@pytest.mark.parametrize("kind", sorted(CHARTS))
def test_every_chart_is_a_named_described_image_that_scales(kind: str) -> None:
    root = _parse(CHARTS[kind](f"chart-{kind}", f"A {kind} chart"))
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None
    assert title.get("id") == title_id
    assert title.text == f"A {kind} chart"
    assert desc is not None
    assert desc.get("id") == desc_id
    # The figures in words, for those who cannot see the marks.
    assert re.search(r"\d", desc.text or ""), desc.text
    # Scales with its container: a viewBox, no fixed size.
    assert root.get("viewBox", "").startswith("0 0 600 ")
    assert root.get("width") is None
    assert root.get("height") is None
    # The page's policy allows no inline styles, and nothing is fetched or run.
    everything = list(root.iter())
    assert all(e.get("style") is None for e in everything)
    assert not [e for e in everything if e.tag in (f"{SVG}style", f"{SVG}script", f"{SVG}image")]
    fills = {str(e.get("fill")) for e in everything if e.get("fill")}
    assert all(f.startswith(("#", "url(#chart-", "none")) for f in fills), fills


@pytest.mark.parametrize("kind", sorted(CHARTS))
def test_every_text_is_escaped(kind: str) -> None:
    svg = CHARTS[kind](f"chart-{kind}", f"Reach: {HOSTILE_SCHOOL}")
    assert "<script" not in svg
    title = _parse(svg).find(f"{SVG}title")
    assert title is not None
    assert title.text == f"Reach: {HOSTILE_SCHOOL}"


def test_a_chart_id_that_could_break_out_of_its_attribute_is_refused() -> None:
    with pytest.raises(ValueError, match="chart id"):
        charts.survey_chart('x" onload="alert(1)', "Survey scores", [])


def test_a_suppressed_group_has_no_bar_and_says_so() -> None:
    groups = trust_report().reach.groups
    root = _parse(charts.group_reach_chart("chart-groups", "Reach", groups, 0.83))
    shown = [g for g in groups if g.reach is not None]
    suppressed = [g for g in groups if g.reach is None]
    assert shown
    assert suppressed
    bars = _bars(root)
    # Two bars (the group, everyone else) for each group with figures; none for the others.
    assert len(bars) == 2 * len(shown)
    assert all(float(bar.get("width", "0")) > 0 for bar in bars)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts.count("suppressed*") == len(suppressed)
    for group in suppressed:
        assert charts.GROUP_LABELS[group.group] in texts
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert desc.text
    assert "EHC plan: suppressed" in desc.text
    assert "Free school meals: 73%, everyone else 86%." in desc.text
    assert "All children: 83%." in desc.text


def test_the_bars_are_as_long_as_the_shares() -> None:
    groups = trust_report().reach.groups
    root = _parse(charts.group_reach_chart("chart-groups", "Reach", groups, 0.83))
    first, others = _bars(root)[:2]
    assert float(first.get("width", "0")) == pytest.approx(360 * groups[0].reach, abs=0.1)  # type: ignore[operator]
    assert float(others.get("width", "0")) == pytest.approx(360 * 0.86, abs=0.1)


def test_suppressed_preferences_are_marked_as_such_not_as_nothing() -> None:
    met = trust_report().preferences  # 688 first choice of 1,042; the other two suppressed
    root = _parse(charts.preferences_chart("chart-prefs", "Preferences met", met))
    bars = _bars(root)
    assert [bar.get("fill") for bar in bars] == ["#0072B2", "url(#chart-prefs-gap)"]
    first, gap = (float(bar.get("width", "0")) for bar in bars)
    assert first == pytest.approx(560 * 688 / 1042, abs=0.1)
    assert first + gap == pytest.approx(560, abs=0.1)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "First choice: 688 (66%)" in texts
    assert "Another listed choice: suppressed*" in texts
    assert "None of their choices: suppressed*" in texts


def test_preferences_with_no_total_draw_no_bar() -> None:
    met = PreferencesMet(
        placed_with_preferences=None,
        first_choice=None,
        another_listed_choice=None,
        not_listed=None,
        first_choice_share=None,
        listed_share=None,
    )
    root = _parse(charts.preferences_chart("chart-prefs", "Preferences met", met))
    assert _bars(root) == []
    assert "suppressed" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]


def _polylines(root: ET.Element, stroke: str) -> list[list[tuple[float, float]]]:
    return [
        [(float(x), float(y)) for x, y in (p.split(",") for p in line.get("points", "").split())]
        for line in root.iter(f"{SVG}polyline")
        if line.get("stroke") == stroke
    ]


def test_a_suppressed_day_breaks_the_line_instead_of_dropping_to_zero() -> None:
    days = trust_report().reach.days
    # The cohort's third day suppressed as well as the first day of free school meals.
    days[2] = ReachOnDay(
        day=days[2].day, pupils=days[2].pupils, visited=None, reach=None, groups=days[2].groups
    )
    root = _parse(charts.progress_chart("chart-days", "Reach day by day", days))
    cohort = _polylines(root, charts.INK)
    assert [len(run) for run in cohort] == [2, len(days) - 3]
    free_meals = _polylines(root, charts.BLUE)  # the first group's line
    assert [len(run) for run in free_meals] == [len(days) - 1]
    baseline = 250.0
    assert all(y < baseline for run in cohort + free_meals for _, y in run)
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert desc.text
    assert "All children: 9% after the first day shown, 83% by the last." in desc.text
    # Every line is named at its end, once, and the names do not overlap.
    labels = [t for t in root.iter(f"{SVG}text") if t.get("x") == "452"]
    names = [t.text for t in labels]
    assert names.count("All children") == 1
    assert "Free school meals" in names
    heights = sorted(float(t.get("y", "0")) for t in labels)
    assert all(b - a >= 14 for a, b in itertools.pairwise(heights))


def test_survey_change_runs_from_the_immediate_score_to_the_follow_up() -> None:
    surveys = trust_report().surveys
    root = _parse(charts.survey_chart("chart-surveys", "Survey scores", surveys))
    (change,) = [line for line in root.iter(f"{SVG}line") if line.get("stroke-width") == "2"]
    # The 1–5 scale spans x = 190 to 560.
    assert float(change.get("x1", "0")) == pytest.approx(190 + 370 * (3.62 - 1) / 4, abs=0.1)
    assert float(change.get("x2", "0")) == pytest.approx(190 + 370 * (4.05 - 1) / 4, abs=0.1)
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert desc.text
    assert "Teachers, a month later: 4.05, a change of +0.43 from straight after." in desc.text


def test_an_open_survey_has_no_mark() -> None:
    surveys = school_report().surveys  # the follow-up is still open
    root = _parse(charts.survey_chart("chart-surveys", "Survey scores", surveys))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "still open" in texts
    assert "4.05" not in texts
    marks = [e for e in root if e.tag in (f"{SVG}circle", f"{SVG}polygon", f"{SVG}rect")]
    assert len(marks) == 2  # the immediate survey's and the parents'


def test_charts_say_so_when_there_is_nothing_yet() -> None:
    empty = SurveyHeadline(
        audience=SurveyAudience.PARENT,
        open=True,
        closes_on=None,
        invited=None,
        responded=None,
        response_rate=None,
        headline_mean=None,
    )
    for svg in (
        charts.progress_chart("chart-days", "Reach day by day", []),
        charts.group_reach_chart("chart-groups", "Reach", [], None),
        charts.survey_chart("chart-surveys", "Surveys", [empty]),
    ):
        root = _parse(svg)
        assert root.get("role") == "img"
        assert _bars(root) == []
