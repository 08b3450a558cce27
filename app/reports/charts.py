"""The termly report's charts, drawn here as SVG text: no script, no fonts or images fetched,
nothing for a browser or a PDF printer to run.

Every chart is an image with a name and a description (`role="img"`, `aria-labelledby` naming
its <title> and <desc>); the description says the figures in words. Colours come from the
Okabe–Ito palette, which stays distinct for the common colour-vision deficiencies, and every
series also differs by pattern, line dash or marker shape and is labelled directly, so colour
is never the only cue. Marks carry a dark outline, so a pale fill still stands out from the
page. A suppressed figure (null) is never drawn as 0: its bar is left out and the gap says so.

Styling is by presentation attributes only, never `style` attributes or <style> elements: the
page's Content-Security-Policy allows the one stylesheet it hashes and nothing else."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from app.reports.schemas import GroupReach, PreferencesMet, PupilGroup, ReachOnDay, SurveyHeadline
from app.surveys.models import SurveyAudience

INK = "#1a1a1a"
GRID = "#767676"  # 4.5:1 on white: axes and ticks stay legible in print and on a phone
BLUE = "#0072B2"
VERMILLION = "#D55E00"
GREEN = "#009E73"
PURPLE = "#CC79A7"
ORANGE = "#E69F00"
SKY = "#56B4E9"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
WIDTH = 600
# A white outline under a label keeps it legible where it crosses a line or a bar.
HALO = {"paint_order": "stroke", "stroke": "#ffffff", "stroke_width": "3"}

GROUP_NAMES = {
    PupilGroup.FREE_SCHOOL_MEALS: "Free school meals",
    PupilGroup.PUPIL_PREMIUM: "Pupil premium",
    PupilGroup.SEND_SUPPORT: "SEN support",
    PupilGroup.EHCP: "EHC plan",
    PupilGroup.EAL: "English as an additional language",
    PupilGroup.LOOKED_AFTER: "Looked-after children",
}
# Short enough for a chart's label column.
GROUP_LABELS = {**GROUP_NAMES, PupilGroup.EAL: "EAL", PupilGroup.LOOKED_AFTER: "Looked after"}
AUDIENCE_NAMES = {
    SurveyAudience.TEACHER_IMMEDIATE: "Teachers, straight after their visits",
    SurveyAudience.TEACHER_FOLLOW_UP: "Teachers, a month later",
    SurveyAudience.PARENT: "Parents and carers, after their visit",
}
AUDIENCE_LABELS = {
    SurveyAudience.TEACHER_IMMEDIATE: "Teachers, after",
    SurveyAudience.TEACHER_FOLLOW_UP: "Teachers, a month on",
    SurveyAudience.PARENT: "Parents and carers",
}
_CHART_ID = re.compile(r"^[a-z][a-z0-9-]{0,40}$")


def _x(text: str) -> str:
    return escape(text, quote=True)


def pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def day_label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _n(value: float) -> str:
    """A coordinate, short and locale-free."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, content: str, **attributes: str) -> str:
    extra = "".join(f' {name.replace("_", "-")}="{_x(v)}"' for name, v in attributes.items())
    return f'<text x="{_n(x)}" y="{_n(y)}"{extra}>{_x(content)}</text>'


def _rect(x: float, y: float, width: float, height: float, fill: str) -> str:
    return (
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(height)}" '
        f'fill="{fill}" stroke="{INK}" stroke-width="1"/>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, **attributes: str) -> str:
    extra = "".join(f' {name.replace("_", "-")}="{_x(v)}"' for name, v in attributes.items())
    return f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}"{extra}/>'


def _svg(chart_id: str, height: float, title: str, desc: str, parts: Iterable[str]) -> str:
    if not _CHART_ID.match(chart_id):
        raise ValueError(f"chart id {chart_id!r}: lower-case letters, digits and hyphens only")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" class="chart" '
        f'id="{chart_id}" font-family="{_x(FONT)}" font-size="15" fill="{INK}">'
        f'<title id="{chart_id}-title">{_x(title)}</title>'
        f'<desc id="{chart_id}-desc">{_x(desc)}</desc>' + "".join(parts) + "</svg>"
    )


def _patterns(chart_id: str) -> str:
    """Hatching and dots, so two series differ in greyscale print as well as in colour."""
    return (
        "<defs>"
        f'<pattern id="{chart_id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{VERMILLION}"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2"/></pattern>'
        f'<pattern id="{chart_id}-dots" width="6" height="6" patternUnits="userSpaceOnUse">'
        f'<rect width="6" height="6" fill="{GREEN}"/>'
        '<circle cx="3" cy="3" r="1.4" fill="#ffffff"/></pattern>'
        f'<pattern id="{chart_id}-gap" width="8" height="8" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(-45)"><rect width="8" height="8" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="8" stroke="{GRID}" stroke-width="1"/></pattern>'
        "</defs>"
    )


def _legend(y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    """Swatches in a row: (SVG of a 14 px swatch drawn at the origin, label)."""
    parts, x = [], 0.0
    for swatch, label in items:
        parts.append(f'<g transform="translate({_n(x)} {_n(y)})">{swatch}</g>')
        parts.append(_text(x + 20, y + 11, label))
        x += 30 + 8.2 * len(label)
    return parts


# --- Reach by pupil group ---------------------------------------------------------------------

_LABEL_END = 150.0
_PLOT_WIDTH = 360.0
_ROW = 46.0


def _reach_x(share: float) -> float:
    return _LABEL_END + _PLOT_WIDTH * max(0.0, min(share, 1.0))


def _reach_bar(y: float, share: float | None, fill: str, missing: str) -> list[str]:
    if share is None:
        return [_text(_LABEL_END + 6, y + 11, missing, font_style="italic", **HALO)]
    end = _reach_x(share)
    return [
        _rect(_LABEL_END, y, end - _LABEL_END, 15, fill),
        _text(end + 6, y + 12, pct(share), font_weight="bold", **HALO),
    ]


def _group_row(chart_id: str, y: float, group: GroupReach) -> list[str]:
    label = _text(_LABEL_END - 8, y + 20, GROUP_LABELS[group.group], text_anchor="end")
    missing = "no children" if group.pupils == 0 else "suppressed*"
    if group.reach is None and group.others_reach is None:
        return [label, _text(_LABEL_END + 6, y + 20, missing, font_style="italic", **HALO)]
    return [
        label,
        *_reach_bar(y, group.reach, BLUE, missing),
        *_reach_bar(y + 17, group.others_reach, f"url(#{chart_id}-hatch)", missing),
    ]


def _reach_axis(top: float, bottom: float) -> list[str]:
    parts = []
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = _reach_x(tick)
        parts.append(_line(x, top, x, bottom, stroke=GRID, stroke_width="0.5"))
        parts.append(_text(x, bottom + 16, pct(tick), text_anchor="middle", font_size="12.5"))
    return parts


def _cohort_line(cohort: float | None, top: float, bottom: float) -> list[str]:
    if cohort is None:
        return []
    x = _reach_x(cohort)
    return [
        _line(x, top - 4, x, bottom, stroke=INK, stroke_width="2", stroke_dasharray="5 3"),
        _text(x, top - 8, f"All children {pct(cohort)}", text_anchor="middle", font_size="13.5"),
    ]


def _group_desc(groups: Sequence[GroupReach], cohort: float | None) -> str:
    words = [
        "Share of children visited in each pupil group, against the share of everyone else.",
        f"All children: {pct(cohort)}." if cohort is not None else "",
    ]
    for group in groups:
        name = GROUP_NAMES[group.group]
        if group.reach is None:
            words.append(f"{name}: suppressed, too few children to show.")
            continue
        others = "suppressed" if group.others_reach is None else pct(group.others_reach)
        words.append(f"{name}: {pct(group.reach)}, everyone else {others}.")
    return " ".join(w for w in words if w)


def group_reach_chart(
    chart_id: str, title: str, groups: Sequence[GroupReach], cohort: float | None
) -> str:
    """Horizontal paired bars: each group's reach (solid) against everyone else's (hatched),
    with the whole cohort's reach as a dashed line across."""
    top = 62.0
    bottom = top + _ROW * max(len(groups), 1)
    parts = [
        _patterns(chart_id),
        *_legend(
            4,
            [
                (_rect(0, 0, 14, 14, BLUE), "Children in the group"),
                (_rect(0, 0, 14, 14, f"url(#{chart_id}-hatch)"), "Everyone else"),
            ],
        ),
        *_reach_axis(top, bottom),
        *_cohort_line(cohort, top, bottom),
    ]
    for index, group in enumerate(groups):
        parts.extend(_group_row(chart_id, top + 6 + _ROW * index, group))
    if not groups:
        parts.append(_text(_LABEL_END + 6, top + 24, "No pupil groups to show"))
    return _svg(chart_id, bottom + 26, title, _group_desc(groups, cohort), parts)


# --- Preferences met --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    label: str
    count: int | None
    fill: str


def _segments(chart_id: str, met: PreferencesMet) -> list[_Segment]:
    return [
        _Segment("First choice", met.first_choice, BLUE),
        _Segment("Another listed choice", met.another_listed_choice, f"url(#{chart_id}-dots)"),
        _Segment("None of their choices", met.not_listed, f"url(#{chart_id}-hatch)"),
    ]


def _segment_words(segment: _Segment, total: int) -> str:
    if segment.count is None:
        return f"{segment.label}: suppressed*"
    share = f" ({pct(segment.count / total)})" if total else ""
    return f"{segment.label}: {segment.count:,}{share}"


def _stacked_bar(segments: Sequence[_Segment], total: int, chart_id: str) -> list[str]:
    left, width, parts = 20.0, WIDTH - 40.0, []
    x = left
    for segment in segments:
        if segment.count is None or total == 0:
            continue
        span = width * segment.count / total
        parts.append(_rect(x, 14, span, 36, segment.fill))
        x += span
    if x < left + width - 0.05 and total:
        # What suppression hides is drawn as such, with no figure of its own.
        parts.append(_rect(x, 14, left + width - x, 36, f"url(#{chart_id}-gap)"))
    return parts


def preferences_chart(chart_id: str, title: str, met: PreferencesMet) -> str:
    """One 100 % bar: first choice, another listed choice, none of their choices."""
    total = met.placed_with_preferences
    segments = _segments(chart_id, met)
    if total is None or total == 0:
        reason = "suppressed*: too few households" if total is None else "no households yet"
        desc = f"Preferences met: {reason}."
        return _svg(chart_id, 40, title, desc, [_text(20, 24, f"Preferences met: {reason}")])
    parts = [_patterns(chart_id), *_stacked_bar(segments, total, chart_id)]
    for index, segment in enumerate(segments):
        y = 68 + 24 * index
        parts.append(
            f'<g transform="translate(20 {_n(y)})">{_rect(0, 0, 14, 14, segment.fill)}</g>'
        )
        parts.append(_text(42, y + 12, _segment_words(segment, total)))
    if any(s.count is None for s in segments):
        gap = _rect(0, 0, 14, 14, f"url(#{chart_id}-gap)")
        parts.append(f'<g transform="translate(20 140)">{gap}</g>')
        parts.append(_text(42, 152, "Suppressed: not shown separately"))
    words = "; ".join(_segment_words(s, total) for s in segments)
    desc = f"Of {total:,} households placed on a visit that gave preferences: {words}."
    return _svg(chart_id, 164, title, desc, parts)


# --- Survey change ----------------------------------------------------------------------------

_SCALE_LEFT = 190.0
_SCALE_RIGHT = 560.0
_MARKERS = {
    SurveyAudience.TEACHER_IMMEDIATE: (BLUE, "circle"),
    SurveyAudience.TEACHER_FOLLOW_UP: (VERMILLION, "diamond"),
    SurveyAudience.PARENT: (GREEN, "square"),
}


def _scale_x(mean: float) -> float:
    return _SCALE_LEFT + (_SCALE_RIGHT - _SCALE_LEFT) * (max(1.0, min(mean, 5.0)) - 1) / 4


def _marker(shape: str, x: float, y: float, fill: str, size: float = 7) -> str:
    outline = f'fill="{fill}" stroke="{INK}" stroke-width="1.2"'
    if shape == "circle":
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(size)}" {outline}/>'
    if shape == "square":
        return f'<rect x="{_n(x - size)}" y="{_n(y - size)}" width="{_n(2 * size)}" height="{_n(2 * size)}" {outline}/>'
    if shape == "triangle":
        points = (
            f"{_n(x)},{_n(y - size)} {_n(x + size)},{_n(y + size)} {_n(x - size)},{_n(y + size)}"
        )
        return f'<polygon points="{points}" {outline}/>'
    points = f"{_n(x)},{_n(y - size)} {_n(x + size)},{_n(y)} {_n(x)},{_n(y + size)} {_n(x - size)},{_n(y)}"
    return f'<polygon points="{points}" {outline}/>'


def _survey_row(y: float, headline: SurveyHeadline) -> list[str]:
    colour, shape = _MARKERS[headline.audience]
    parts = [_text(_SCALE_LEFT - 14, y + 4, AUDIENCE_LABELS[headline.audience], text_anchor="end")]
    if headline.headline_mean is None:
        reason = "still open" if headline.open else "suppressed*"
        return [*parts, _text(_SCALE_LEFT + 4, y + 4, reason, font_style="italic")]
    x = _scale_x(headline.headline_mean)
    if headline.change_from_immediate is not None:
        # The immediate survey's mean, ghosted, and an arrow to where the follow-up stands.
        start = _scale_x(headline.headline_mean - headline.change_from_immediate)
        parts.append(_line(start, y, x, y, stroke=INK, stroke_width="2"))
        parts.append(_marker("circle", start, y, "#ffffff", 5))
    parts.append(_marker(shape, x, y, colour))
    parts.append(_text(x, y - 12, f"{headline.headline_mean:.2f}", text_anchor="middle", **HALO))
    return parts


def _survey_words(headline: SurveyHeadline) -> str:
    name = AUDIENCE_NAMES[headline.audience]
    if headline.headline_mean is None:
        return f"{name}: {'still open' if headline.open else 'suppressed'}."
    words = f"{name}: {headline.headline_mean:.2f}"
    if headline.change_from_immediate is not None:
        words += f", a change of {headline.change_from_immediate:+.2f} from straight after"
    return words + "."


def survey_chart(chart_id: str, title: str, headlines: Sequence[SurveyHeadline]) -> str:
    """Each survey's headline mean on the 1–5 scale; the follow-up's row starts from the
    immediate survey's mean (a hollow dot), so the line is the change between the two."""
    top, row = 34.0, 44.0
    bottom = top + row * max(len(headlines), 1)
    parts = []
    for tick in range(1, 6):
        x = _scale_x(tick)
        parts.append(_line(x, top - 8, x, bottom - 16, stroke=GRID, stroke_width="0.5"))
        parts.append(_text(x, bottom, str(tick), text_anchor="middle", font_size="12.5"))
    parts.append(_text(_SCALE_LEFT, 14, "1 = strongly disagree", font_size="12.5"))
    parts.append(_text(_SCALE_RIGHT, 14, "5 = strongly agree", font_size="12.5", text_anchor="end"))
    for index, headline in enumerate(headlines):
        parts.extend(_survey_row(top + 14 + row * index, headline))
    if not headlines:
        parts.append(_text(_SCALE_LEFT, top + 18, "No surveys yet"))
    words = " ".join(_survey_words(h) for h in headlines) or "No surveys yet."
    desc = f"Mean agreement with the core survey questions, from 1 to 5. {words}"
    return _svg(chart_id, bottom + 10, title, desc, parts)


# --- Progress by day --------------------------------------------------------------------------

_PLOT_LEFT, _PLOT_RIGHT, _PLOT_TOP, _PLOT_BOTTOM = 48.0, 440.0, 20.0, 250.0
_SERIES_STYLES = [
    (INK, "none", "circle"),
    (BLUE, "none", "square"),
    (VERMILLION, "6 3", "diamond"),
    (GREEN, "2 3", "triangle"),
    (PURPLE, "8 3 2 3", "circle"),
    (ORANGE, "4 4", "square"),
    (SKY, "1 3", "diamond"),
]


@dataclass(frozen=True)
class _Series:
    label: str
    name: str
    points: list[float | None]


def _day_series(days: Sequence[ReachOnDay]) -> list[_Series]:
    series = [_Series("All children", "All children", [d.reach for d in days])]
    for group in PupilGroup:
        points = [next((g.reach for g in d.groups if g.group == group), None) for d in days]
        if any(p is not None for p in points):
            series.append(_Series(GROUP_LABELS[group], GROUP_NAMES[group], points))
    return series


def _day_x(index: int, count: int) -> float:
    if count == 1:
        return (_PLOT_LEFT + _PLOT_RIGHT) / 2
    return _PLOT_LEFT + (_PLOT_RIGHT - _PLOT_LEFT) * index / (count - 1)


def _share_y(share: float) -> float:
    return _PLOT_BOTTOM - (_PLOT_BOTTOM - _PLOT_TOP) * max(0.0, min(share, 1.0))


def _day_axes(days: Sequence[ReachOnDay]) -> list[str]:
    parts = []
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = _share_y(tick)
        parts.append(_line(_PLOT_LEFT, y, _PLOT_RIGHT, y, stroke=GRID, stroke_width="0.5"))
        parts.append(_text(_PLOT_LEFT - 6, y + 4, pct(tick), text_anchor="end", font_size="12.5"))
    step = max(1, -(-len(days) // 6))  # at most six day labels, so they never overlap
    for index in range(0, len(days), step):
        x = _day_x(index, len(days))
        label = day_label(days[index].day)
        parts.append(_text(x, _PLOT_BOTTOM + 18, label, text_anchor="middle", font_size="12.5"))
    return parts


def _polylines(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Runs of known points: a suppressed day breaks the line rather than dropping to 0."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _draw_series(series: _Series, style: tuple[str, str, str], count: int) -> list[str]:
    colour, dash, shape = style
    points = [
        None if p is None else (_day_x(i, count), _share_y(p)) for i, p in enumerate(series.points)
    ]
    parts = []
    for run in _polylines(points):
        coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in run)
        width = "3" if colour == INK else "2.5"
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" '
            f'stroke-width="{width}" stroke-dasharray="{dash}"/>'
        )
    for point in points:
        if point is not None:
            parts.append(_marker(shape, point[0], point[1], colour, 4))
    return parts


def _end_labels(series: Sequence[_Series]) -> list[str]:
    """Each line named at its last known point, nudged apart so names never overlap."""
    ends: list[tuple[float, str]] = []
    for line in series:
        known = [p for p in line.points if p is not None]
        if known:
            ends.append((_share_y(known[-1]) + 4, line.label))
    ends.sort()
    placed: list[tuple[float, str]] = []
    for y, label in ends:
        placed.append((max(y, placed[-1][0] + 15) if placed else y, label))
    return [_text(_PLOT_RIGHT + 12, y, label, font_size="13.5") for y, label in placed]


def _day_desc(days: Sequence[ReachOnDay], series: Sequence[_Series]) -> str:
    span = f"from {day_label(days[0].day)} to {day_label(days[-1].day)}"
    words = [f"Share of children visited by the end of each visit day, {span}."]
    for line in series:
        known = [p for p in line.points if p is not None]
        if known:
            words.append(
                f"{line.name}: {pct(known[0])} after the first day shown, {pct(known[-1])} by the last."
            )
        else:
            words.append(f"{line.name}: suppressed.")
    return " ".join(words)


def progress_chart(chart_id: str, title: str, days: Sequence[ReachOnDay]) -> str:
    """Cumulative reach day by day: the cohort (heavy black) and each pupil group with data."""
    if not days:
        desc = "No visit days yet."
        return _svg(chart_id, 40, title, desc, [_text(20, 24, "No visit days yet")])
    series = _day_series(days)
    parts = _day_axes(days)
    for line, style in zip(series, _SERIES_STYLES, strict=False):
        parts.extend(_draw_series(line, style, len(days)))
    parts.extend(_end_labels(series))
    height = max(_PLOT_BOTTOM + 30, 14.0 * len(series) + _PLOT_TOP + 30)
    return _svg(chart_id, height, title, _day_desc(days, series), parts)
