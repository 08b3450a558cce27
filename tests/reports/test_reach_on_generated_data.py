"""A programme's report against a hand count on a generated school: the finished programme of
tests/reports/helpers.py, counted here from what was written (answers, SLT's decisions, the
visits, their outcomes and the pupils' rows), never through the reports' code."""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from app.core.london import local_time
from app.core.permissions import Role
from app.core.settings import get_settings
from app.parents.answers_models import AnswerKind
from app.roster.models import Pupil, SendStatus
from app.synthetic.generator import World
from app.visits.models import VisitLocation, VisitStatus
from tests.conftest import bearer
from tests.reports.helpers import Finished, finished_programme
from tests.synthetic.test_answers import programme_body

GROUPS: dict[str, Callable[[Pupil], bool]] = {
    "free_school_meals": lambda p: p.free_school_meals,
    "pupil_premium": lambda p: p.pupil_premium,
    "send_support": lambda p: p.send == SendStatus.SEN_SUPPORT,
    "ehcp": lambda p: p.send == SendStatus.EHCP,
    "eal": lambda p: p.eal,
    "looked_after": lambda p: p.looked_after,
}
ON_THE_ROAD = {VisitStatus.SCHEDULED, VisitStatus.COMPLETED, VisitStatus.NO_ACCESS}


@pytest.fixture
def suppressed_below(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[int]:
    """The setting, as the deployment would set it (1: nothing is suppressed)."""
    below = getattr(request, "param", 1)
    monkeypatch.setenv("THRESHOLD_REPORTS_SUPPRESSED_BELOW", str(below))
    get_settings.cache_clear()
    yield below
    monkeypatch.undo()
    get_settings.cache_clear()


def household_counts(households: set[UUID], f: Finished) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for h in households:
        answer, decided, visit = f.scenario.answers.get(h), f.scenario.exemptions.get(h), None
        visit = f.visits.get(h)
        status = visit.status if visit else None
        counts["in_scope"] += 1
        counts["answered"] += answer is not None and answer.kind is AnswerKind.PREFERENCES
        counts["declined"] += (
            answer is not None and answer.kind is AnswerKind.DECLINED
        ) or status is VisitStatus.DECLINED
        counts["exempt"] += decided == "exempt"
        counts["neutral_venue"] += decided == "neutral_venue" or (
            visit is not None and visit.location is VisitLocation.NEUTRAL_VENUE
        )
        counts["scheduled"] += visit is not None
        counts["visited"] += status is VisitStatus.COMPLETED
        counts["no_access"] += status is VisitStatus.NO_ACCESS
    fields = ("in_scope", "answered", "scheduled", "visited", "no_access", "declined")
    return {k: counts[k] for k in (*fields, "exempt", "neutral_venue")}


def visited_on(f: Finished) -> dict[UUID, date | None]:
    """Each child in scope: the day they were visited, by their own outcome."""
    found: dict[UUID, date | None] = {}
    for household, children in f.roster.children.items():
        visit = f.visits.get(household)
        for child in children:
            outcome = f.own_outcomes.get(child) or (visit.status if visit else None)
            completed = visit is not None and outcome == VisitStatus.COMPLETED
            found[child] = local_time(visit.slot.starts_at).date() if completed and visit else None
    return found


def group_figures(
    f: Finished, day: date | None = None
) -> dict[str, tuple[int, int, float | None, float]]:
    when = visited_on(f)
    reached = {c for c, d in when.items() if d is not None and (day is None or d <= day)}
    found = {}
    for name, member in GROUPS.items():
        group = {c for c in when if member(f.pupils[c])}
        others = set(when) - group
        reach = len(group & reached) / len(group) if group else None
        others_reach = len(others & reached) / len(others)
        found[name] = (len(group), len(group & reached), reach, others_reach)
    return found


async def report(client: httpx.AsyncClient, world: World, programme_id: UUID) -> dict[str, Any]:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    response = await client.get(f"/api/v1/reports/programmes/{programme_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_reach_matches_a_hand_count(
    client: httpx.AsyncClient, world: World, suppressed_below: int
) -> None:
    f = await finished_programme(client, world)
    body = await report(client, world, f.scenario.programme_id)
    reach = body["reach"]
    assert f.scenario.left not in f.roster.children

    expected = household_counts(set(f.roster.children), f)
    assert {k: reach["totals"][k] for k in expected} == expected
    assert all(expected[k] > 0 for k in expected), expected
    classes = {UUID(c["class_id"]): c for c in reach["classes"]}
    assert set(classes) == set(f.roster.classes)
    for class_id, households in f.roster.classes.items():
        got = classes[class_id]
        assert got["class_name"] == f.roster.class_rows[class_id].name
        assert {k: got[k] for k in expected} == household_counts(households, f)
    by_year: dict[str, set[UUID]] = defaultdict(set)
    for class_id, households in f.roster.classes.items():
        by_year[str(f.roster.class_rows[class_id].year_group)] |= households
    assert [y["year_group"] for y in reach["year_groups"]] == ["R", "1", "2"]
    for year in reach["year_groups"]:
        assert {k: year[k] for k in expected} == household_counts(by_year[year["year_group"]], f)

    when = visited_on(f)
    assert reach["pupils"] == len(when)
    assert reach["visited"] == sum(d is not None for d in when.values())
    assert reach["visited"] < sum(
        len(f.roster.children[h]) for h, v in f.visits.items() if v.status is VisitStatus.COMPLETED
    ), "a sibling's own outcome did not count"
    _assert_groups(reach["groups"], group_figures(f))


def _assert_groups(got: list[dict[str, Any]], expected: dict[str, tuple[Any, ...]]) -> None:
    assert [g["group"] for g in got] == list(GROUPS)
    for group in got:
        pupils, visited, reach, others_reach = expected[group["group"]]
        assert (group["pupils"], group["visited"]) == (pupils, visited), group["group"]
        if reach is None:
            assert group["reach"] is None
            continue
        assert group["reach"] == pytest.approx(reach, abs=1e-4)
        assert group["others_reach"] == pytest.approx(others_reach, abs=1e-4)
        assert group["gap"] == pytest.approx(reach - others_reach, abs=2e-4)


async def test_reach_day_by_day_staff_load_and_preferences_match_a_hand_count(
    client: httpx.AsyncClient, world: World, suppressed_below: int
) -> None:
    f = await finished_programme(client, world)
    body = await report(client, world, f.scenario.programme_id)

    when = visited_on(f)
    days = sorted({local_time(s.starts_at).date() for s in f.roster.slots})
    assert [d["day"] for d in body["reach"]["days"]] == [d.isoformat() for d in days]
    for got in body["reach"]["days"]:
        day = date.fromisoformat(got["day"])
        assert got["pupils"] == len(when)
        assert got["visited"] == sum(d is not None and d <= day for d in when.values())
        _assert_groups(got["groups"], group_figures(f, day))
    visited = [d["visited"] for d in body["reach"]["days"]]
    assert visited == sorted(visited)
    assert visited[0] < visited[-1]

    adult_days: dict[tuple[UUID, date], list[Any]] = defaultdict(list)
    for visit in f.visits.values():
        if visit.status in ON_THE_ROAD:
            for adult in visit.adults:
                adult_days[(adult, local_time(visit.slot.starts_at).date())].append(visit.slot)
    longest = max(
        max(s.ends_at for s in slots) - min(s.starts_at for s in slots)
        for slots in adult_days.values()
    )
    load = body["staff_load"]
    assert load["adults"] == len({a for a, _ in adult_days})
    assert load["adult_days"] == len(adult_days)
    assert load["most_visits_in_a_day"] == max(len(s) for s in adult_days.values())
    mean = sum(len(s) for s in adult_days.values()) / len(adult_days)
    assert load["visits_per_adult_day"] == pytest.approx(mean, abs=0.01)
    assert load["longest_day_minutes"] == longest.total_seconds() // 60

    placed = [
        (str(v.slot.id), [str(s) for s in f.scenario.answers[h].preferred_slot_ids])
        for h, v in f.visits.items()
        if h in f.roster.children
        and v.status is not VisitStatus.CANCELLED
        and h in f.scenario.answers
        and f.scenario.answers[h].preferred_slot_ids
    ]
    first = sum(slot == listed[0] for slot, listed in placed)
    listed = sum(slot in chosen for slot, chosen in placed)
    assert body["preferences"] | {"first_choice_share": 0, "listed_share": 0} == {
        "placed_with_preferences": len(placed),
        "first_choice": first,
        "another_listed_choice": listed - first,
        "not_listed": len(placed) - listed,
        "first_choice_share": 0,
        "listed_share": 0,
    }
    assert first > 0
    assert listed > first
    assert len(placed) > listed
    assert body["preferences"]["first_choice_share"] == pytest.approx(first / len(placed), 1e-3)
    assert body["concerns_raised"] == 0
    # Visits written straight to the table issue no surveys: each audience's headline says so.
    surveys = {s["audience"]: s for s in body["surveys"]}
    assert set(surveys) == {"teacher_immediate", "teacher_follow_up", "parent"}
    assert {s["invited"] for s in surveys.values()} == {0}
    assert {s["headline_mean"] for s in surveys.values()} == {None}


async def test_a_second_programme_at_the_school_reaches_only_its_own_year_groups(
    client: httpx.AsyncClient, world: World, suppressed_below: int
) -> None:
    """Two programmes of one school's year: each counts the children of its own year groups, and
    the school's report counts a child once in each programme whose scope they are in."""
    f = await finished_programme(client, world)
    closes = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    school_id = world.trusts[0].schools[0].id
    created = await client.post(
        f"/api/v1/schools/{school_id}/programmes",
        json=programme_body(["1"], closes) | {"name": "Year 1 again"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    second = UUID(created.json()["id"])
    in_year_one = {c for c, row in f.roster.class_rows.items() if str(row.year_group) == "1"}
    households = set().union(*(f.roster.classes[c] for c in in_year_one))
    children = {
        child
        for found in f.roster.children.values()
        for child in found
        if f.roster.pupil_class[child] in in_year_one
    }
    assert 0 < len(households) < len(f.roster.children)

    alone = (await report(client, world, second))["reach"]
    assert alone["totals"]["in_scope"] == len(households)
    assert alone["totals"]["answered"] == alone["totals"]["scheduled"] == 0
    assert alone["pupils"] == len(children)
    assert [y["year_group"] for y in alone["year_groups"]] == ["1"]
    assert {UUID(c["class_id"]) for c in alone["classes"]} == in_year_one

    first = (await report(client, world, f.scenario.programme_id))["reach"]
    assert first["totals"]["in_scope"] == len(f.roster.children)
    assert first["pupils"] == len(visited_on(f))

    response = await client.get(f"/api/v1/reports/schools/{school_id}", headers=headers)
    assert response.status_code == 200, response.text
    both = response.json()["reach"]
    assert both["totals"]["in_scope"] == len(f.roster.children) + len(households)
    assert both["totals"]["answered"] == first["totals"]["answered"]
    assert both["pupils"] == first["pupils"] + len(children)
    assert both["visited"] == first["visited"]
