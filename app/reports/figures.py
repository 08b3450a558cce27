"""The reports' arithmetic, on rows already read: households counted by what happened to them,
children by pupil group, staff load by adult-day, preferences met. No I/O here.

Every count a report shows is masked by app/core/suppression (the one home of the rule for
small numbers): on its own, and where it sits in a breakdown whose total is shown (the schools,
year groups and classes against the report's totals; the preferences met against the families
that gave them), a second cell too. A share is null wherever either of its counts is."""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from app.core import suppression
from app.reports.schemas import (
    GroupReach,
    PreferencesMet,
    PupilGroup,
    ReachCounts,
    ReachOnDay,
    StaffLoad,
)

COUNTS = tuple(ReachCounts.model_fields)


def suppressed(count: int, below: int) -> int | None:
    """A count on its own: null when small."""
    return suppression.suppress(count, below)


def share(part: int | None, whole: int | None) -> float | None:
    return suppression.share(part, whole, digits=4)


def reach_counts(counts: dict[str, int], below: int) -> ReachCounts:
    """Households counted (raw, by ReachCounts' fields), each count masked on its own."""
    return ReachCounts(**{name: suppressed(counts[name], below) for name in COUNTS})


def reach_parts(
    parts: Sequence[tuple[dict[str, Any], dict[str, int]]],
    totals: dict[str, int],
    below: int,
) -> list[dict[str, Any]]:
    """Each part's counts (a school, year group or class, with its labels), masked column by
    column against the report's totals: a small count, and a second one wherever the first could
    be worked out from the total. A household with children in two classes is in both, so
    classes and year groups can sum past the total: then subtraction gives a bound, and the
    same rule errs on the side of hiding."""
    raw = [counts for _, counts in parts]
    masked: list[dict[str, Any]] = [dict(labels) for labels, _ in parts]
    for name in COUNTS:
        published = suppression.suppress_breakdown(
            [counts[name] for counts in raw], below, total=totals[name]
        )
        for row, value in zip(masked, published.cells, strict=True):
            row[name] = value
    return masked


@dataclass(frozen=True)
class Cohort:
    """Children counted: how many, and the days those visited were visited on, in order."""

    pupils: int
    visited_on: list[date]

    def visited(self, by: date | None = None) -> int:
        return len(self.visited_on) if by is None else bisect_right(self.visited_on, by)


class Counted(Protocol):
    """Children of one combination of pupil groups visited on one day (None: not visited)."""

    @property
    def groups(self) -> frozenset[PupilGroup]: ...
    @property
    def visited_on(self) -> date | None: ...
    @property
    def children(self) -> int: ...


def cohorts(counted: Iterable[Counted]) -> tuple[Cohort, dict[PupilGroup, Cohort]]:
    """Everyone in scope, and each pupil group, from the children counted by groups and day: a
    day's figures are then a binary search."""
    pupils: dict[PupilGroup | None, int] = defaultdict(int)
    days: dict[PupilGroup | None, list[date]] = defaultdict(list)
    for count in counted:
        for key in (None, *count.groups):
            pupils[key] += count.children
            if count.visited_on is not None:
                days[key] += [count.visited_on] * count.children
    everyone = Cohort(pupils[None], sorted(days[None]))
    return everyone, {g: Cohort(pupils[g], sorted(days[g])) for g in PupilGroup}


def group_reach(
    everyone: Cohort, groups: dict[PupilGroup, Cohort], below: int, by: date | None = None
) -> list[GroupReach]:
    """Each pupil group against the children in scope outside it; `by`: visited by that day."""
    found = []
    for group, cohort in groups.items():
        pupils = suppressed(cohort.pupils, below)
        visited = suppressed(cohort.visited(by), below)
        reach = share(visited, pupils)
        others_reach = None
        if reach is not None and visited is not None and pupils is not None:
            # Shown only beside the group's own figures: with the cohort's totals public, the
            # others' share would give a suppressed group's away.
            others_reach = share(everyone.visited(by) - visited, everyone.pupils - pupils)
        gap = None if reach is None or others_reach is None else round(reach - others_reach, 4)
        found.append(
            GroupReach(
                group=group,
                pupils=pupils,
                visited=visited,
                reach=reach,
                others_reach=others_reach,
                gap=gap,
            )
        )
    return found


def days_of_reach(
    everyone: Cohort, groups: dict[PupilGroup, Cohort], days: Iterable[date], below: int
) -> list[ReachOnDay]:
    """Cumulative reach at the end of each visit day (Europe/London)."""
    return [
        ReachOnDay(
            day=day,
            pupils=everyone.pupils,
            visited=everyone.visited(day),
            reach=share(everyone.visited(day), everyone.pupils),
            groups=group_reach(everyone, groups, below, by=day),
        )
        for day in sorted(set(days))
    ]


class DaySpan(Protocol):
    """Adult-days from one first start to one last end: how many, their visits in all, and
    the most visits on one of them."""

    @property
    def first_start(self) -> datetime: ...
    @property
    def last_end(self) -> datetime: ...
    @property
    def adult_days(self) -> int: ...
    @property
    def visits(self) -> int: ...
    @property
    def most_visits(self) -> int: ...


def staff_load(spans: Sequence[DaySpan], adults: int) -> StaffLoad:
    """How many visits an adult made in a day, and how long the longest day was."""
    days = sum(s.adult_days for s in spans)
    if not days:
        return StaffLoad(
            adults=0,
            adult_days=0,
            visits_per_adult_day=None,
            most_visits_in_a_day=None,
            longest_day_minutes=None,
        )
    longest = max(s.last_end - s.first_start for s in spans)
    return StaffLoad(
        adults=adults,
        adult_days=days,
        visits_per_adult_day=round(sum(s.visits for s in spans) / days, 2),
        most_visits_in_a_day=max(s.most_visits for s in spans),
        longest_day_minutes=int(longest.total_seconds() // 60),
    )


def preferences_met(placed: Iterable[tuple[str, list[str]]], below: int) -> PreferencesMet:
    """`placed`: each placed household's slot and the slots it preferred, best first."""
    first = listed = total = 0
    for slot_id, preferred in placed:
        if not preferred:
            continue
        total += 1
        first += preferred[0] == slot_id
        listed += slot_id in preferred
    # The three make up the whole: one hidden is hidden with a second.
    published = suppression.suppress_breakdown([first, listed - first, total - listed], below)
    counts = {
        "placed_with_preferences": published.total,
        "first_choice": published.cells[0],
        "another_listed_choice": published.cells[1],
        "not_listed": published.cells[2],
    }
    whole = counts["placed_with_preferences"]
    listed_count = None
    if counts["first_choice"] is not None and counts["another_listed_choice"] is not None:
        listed_count = counts["first_choice"] + counts["another_listed_choice"]
    return PreferencesMet(
        **counts,
        first_choice_share=share(counts["first_choice"], whole),
        listed_share=share(listed_count, whole),
    )
