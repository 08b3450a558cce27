"""A report as one CSV sheet for spreadsheets: a row per part (totals, school, year group,
class), per pupil group, per visit day and per day and group, and a row per single figure, each
naming its `section`. Null (suppressed) counts are empty cells; every cell is formula-safe
(core/csvio.py)."""

from collections.abc import Iterator, Sequence

from app.core.csvio import write_csv
from app.reports.figures import COUNTS
from app.reports.schemas import GroupReach, ReachCounts, ReachPart, Report

PLACE = ("school_id", "school_name", "year_group", "class_id", "class_name")
# Children, not households: named apart from the households' `visited` column.
GROUP = ("group", "children", "children_visited", "reach", "others_reach", "gap")
HEADER = ("section", *PLACE, "day", *COUNTS, *GROUP, "measure", "value")

Row = Sequence[object]


def as_csv(report: Report) -> str:
    return write_csv(HEADER, _rows(report))


def _rows(report: Report) -> Iterator[Row]:
    reach = report.reach
    yield _part("totals", reach.totals)
    for section, parts in (
        ("school", reach.schools),
        ("year_group", reach.year_groups),
        ("class", reach.classes),
    ):
        for part in parts:
            yield _part(section, part)
    for group in reach.groups:
        yield _group("group", None, group)
    for day in reach.days:
        yield _row(
            "day",
            day=day.day,
            children=day.pupils,
            children_visited=day.visited,
            reach=day.reach,
        )
        for group in day.groups:
            yield _group("day_group", day.day, group)
    yield from _figures(report)


def _figures(report: Report) -> Iterator[Row]:
    figures: dict[str, object] = {
        "pupils": report.reach.pupils,
        "visited": report.reach.visited,
        **{f"staff_{k}": v for k, v in report.staff_load.model_dump().items()},
        **{f"preferences_{k}": v for k, v in report.preferences.model_dump().items()},
        "concerns_raised": report.concerns_raised,
        "suppressed_below": report.suppressed_below,
    }
    for survey in report.surveys:
        for name, value in survey.model_dump(exclude={"audience"}).items():
            figures[f"survey_{survey.audience.value}_{name}"] = value
    for name, value in figures.items():
        yield _row("figure", measure=name, value=value)


def _part(section: str, counts: ReachCounts) -> Row:
    place = {k: getattr(counts, k) for k in PLACE} if isinstance(counts, ReachPart) else {}
    return _row(section, **place, **{k: getattr(counts, k) for k in COUNTS})


def _group(section: str, day: object, group: GroupReach) -> Row:
    return _row(
        section,
        day=day,
        group=group.group,
        children=group.pupils,
        children_visited=group.visited,
        reach=group.reach,
        others_reach=group.others_reach,
        gap=group.gap,
    )


def _row(section: str, **cells: object) -> Row:
    return [section, *(_plain(cells.get(name)) for name in HEADER[1:])]


def _plain(value: object) -> object:
    # Enums as their values (a year group "R", a group "eal"), not their Python names.
    return getattr(value, "value", value)
