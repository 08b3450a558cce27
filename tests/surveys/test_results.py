"""Survey results: small numbers suppressed wherever they appear (inside a trust's breakdown by
school too), no counts while a survey is open (on a frozen clock: the computation is given the
time), distributions, means and medians as counted by hand, the change from the immediate to
the one-month teacher survey, free text for SLT with nothing that names or dates its writer,
and the results of a school hidden from another school's SLT and refused to its teachers."""

import json
import statistics
from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import col, select

from app.core import db
from app.core.london import local_time
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.reports.schemas import SurveyHeadline
from app.surveys import results
from app.surveys.models import SurveyAudience, SurveyResponse
from app.synthetic.generator import World
from tests.conftest import bearer
from tests.surveys.results_helpers import (
    NOW,
    answered,
    audience_of,
    drawn,
    programme_at,
    question_of,
    results_as,
)

PARENT = SurveyAudience.PARENT
IMMEDIATE = SurveyAudience.TEACHER_IMMEDIATE
FOLLOW_UP = SurveyAudience.TEACHER_FOLLOW_UP
CORE = ["know_child_better", "relationship_with_family", "confident_supporting"]


async def _stored(audience: SurveyAudience) -> list[dict[str, Any]]:
    async with db.open_session(system_scope("test: responses stored")) as session:
        found = await session.scalars(
            select(SurveyResponse.answers).where(col(SurveyResponse.audience) == audience)
        )
        return list(found)


async def test_a_small_school_is_suppressed_inside_the_trusts_large_total(
    client: httpx.AsyncClient, world: World
) -> None:
    small, middle, large = [await programme_at(world, school) for school in range(3)]
    await answered(world, small, PARENT, invited=4, likert=drawn(4), seed=1)
    await answered(world, middle, PARENT, invited=30, likert=drawn(26), seed=2)
    await answered(world, large, PARENT, invited=35, likert=drawn(30), seed=3)
    survey = audience_of(
        await results_as(client, world, f"trusts/{world.trusts[0].trust.id}/surveys"), PARENT
    )
    assert survey["open"] is False
    assert (survey["invited"], survey["responded"]) == (69, 60)
    schools = {row["school_id"]: row for row in survey["schools"]}
    first, second, third = (schools[str(s.id)] for s in world.trusts[0].schools)
    # 4 of 60 is small; 26 goes with it, or 4 would be 60 − 26 − 30.
    assert (first["responded"], second["responded"], third["responded"]) == (None, None, 30)
    assert (first["invited"], second["invited"], third["invited"]) == (None, None, 35)
    assert (first["response_rate"], third["response_rate"]) == (None, round(30 / 35, 3))
    # Everything inside the small school's row is suppressed with it.
    for question in first["questions"]:
        assert question["answered"] is None
        assert question["mean"] is None
        assert all(c["count"] is None for c in question["distribution"] or [])
    # The trust's count of a required question stays: two schools' rows are hidden, not one.
    assert question_of(survey, "visit_helpful")["answered"] == 60
    assert question_of(second, "visit_helpful")["answered"] is None
    assert question_of(third, "visit_helpful")["answered"] == 30


async def test_no_counts_show_while_the_survey_is_open(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await programme_at(world)
    issued = NOW - timedelta(days=2)
    await answered(world, programme, PARENT, invited=15, likert=drawn(12), issued_at=issued)
    found = await results_as(client, world, f"programmes/{programme}/surveys", Role.SCHOOL_ADMIN)
    survey = audience_of(found, PARENT)
    closes_on = local_time(issued).date() + timedelta(days=21)
    assert (survey["open"], survey["closes_on"]) == (True, closes_on.isoformat())
    assert survey["invited"] == 15
    assert [survey[k] for k in ("responded", "response_rate", "headline_mean")] == [None] * 3
    for question in survey["questions"]:
        assert [question[k] for k in ("answered", "distribution", "mean", "median")] == [None] * 4
    text = await client.get(
        f"/api/v1/reports/programmes/{programme}/surveys/parent/free-text",
        headers=await bearer(world.login(Role.SCHOOL_ADMIN)),
    )
    assert text.json()["withheld"].startswith("The survey is open")
    assert text.json()["questions"] == []

    # The day it closes, on the same rows: the counts show.
    later = issued + timedelta(days=22)
    async with db.open_session(system_scope("test: results later")) as session:
        (_, _, parent) = await results.compute(session, [programme], by_school=False, now=later)
    assert (parent.open, parent.closes_on, parent.responded) == (False, closes_on, 12)
    assert parent.response_rate == 0.8


async def test_distributions_means_and_medians_are_the_hand_counts(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await programme_at(world)
    likert = [2] * 10 + [4] * 12 + [5] * 11
    await answered(world, programme, PARENT, invited=36, likert=likert, seed=5)
    survey = audience_of(await results_as(client, world, f"programmes/{programme}/surveys"), PARENT)
    stored = await _stored(PARENT)
    assert (survey["invited"], survey["responded"], len(stored)) == (36, 33, 33)
    assert survey["response_rate"] == round(33 / 36, 3)

    helpful = question_of(survey, "visit_helpful")
    points = [answers["visit_helpful"] for answers in stored]
    assert {c["value"]: c["count"] for c in helpful["distribution"]} == {
        "1": 0,
        "2": 10,
        "3": 0,
        "4": 12,
        "5": 11,
    }
    assert helpful["mean"] == round(statistics.mean(points), 2) == 3.73
    assert helpful["median"] == statistics.median(points) == 4
    assert survey["headline_mean"] == helpful["mean"]

    # Drawn answers: each count shown is the hand count, and each small one is hidden.
    for question_id in ("felt_listened_to", "child_feels"):
        question = question_of(survey, question_id)
        by_hand: dict[str, int] = {}
        for answers in stored:
            value = answers[question_id]
            key = ("yes" if value else "no") if isinstance(value, bool) else value
            by_hand[key] = by_hand.get(key, 0) + 1
        assert question["answered"] == 33
        for cell in question["distribution"]:
            expected = by_hand.get(cell["value"], 0)
            assert cell["count"] in (None, expected)
            if 0 < expected < 10:
                assert cell["count"] is None
        assert question["mean"] is None  # not a scale
    remarks = question_of(survey, "anything_else")
    assert remarks["distribution"] is None
    assert remarks["answered"] in (None, sum(1 for a in stored if a.get("anything_else")))


async def test_a_mean_beside_a_suppressed_cell_is_not_shown(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await programme_at(world)
    await answered(world, programme, PARENT, invited=24, likert=[1] * 3 + [4] * 21)
    survey = audience_of(await results_as(client, world, f"programmes/{programme}/surveys"), PARENT)
    helpful = question_of(survey, "visit_helpful")
    # 3 is hidden, and 21 with it (else 24 − 21); a mean of 3.625 would give both away.
    assert [c["count"] for c in helpful["distribution"]] == [None, 0, 0, None, 0]
    assert helpful["answered"] == 24
    assert (helpful["mean"], helpful["median"], survey["headline_mean"]) == (None, None, None)


async def test_the_change_from_the_immediate_to_the_follow_up_survey(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await programme_at(world)
    await answered(world, programme, IMMEDIATE, invited=20, likert=[3] * 10 + [4] * 10, seed=6)
    # Before any follow-up is issued: the immediate survey's headline, nothing to compare.
    found = await results_as(client, world, f"programmes/{programme}/surveys")
    assert audience_of(found, IMMEDIATE)["headline_mean"] == 3.5
    assert audience_of(found, FOLLOW_UP)["change_from_immediate"] is None
    await answered(world, programme, FOLLOW_UP, invited=22, likert=[4] * 10 + [5] * 10, seed=7)
    found = await results_as(client, world, f"programmes/{programme}/surveys", Role.SCHOOL_ADMIN)
    immediate, follow_up = audience_of(found, IMMEDIATE), audience_of(found, FOLLOW_UP)
    assert (immediate["headline_mean"], follow_up["headline_mean"]) == (3.5, 4.5)
    assert follow_up["change_from_immediate"] == 1.0
    assert immediate["change_from_immediate"] is None
    for question_id in CORE:
        assert question_of(immediate, question_id)["mean"] == 3.5
        assert question_of(follow_up, question_id)["change_from_immediate"] == 1.0
    assert question_of(follow_up, "would_visit_again")["change_from_immediate"] is None
    assert follow_up["responded"] == 20
    assert follow_up["response_rate"] == round(20 / 22, 3)

    async with db.open_session(system_scope("test: headlines")) as session:
        headlines = await results.headlines(session, [programme])
    contract = [SurveyHeadline.model_validate(h, from_attributes=True) for h in headlines]
    assert [h.audience for h in contract] == [IMMEDIATE, FOLLOW_UP, PARENT]
    assert contract[1].change_from_immediate == 1.0
    assert (contract[2].invited, contract[2].closes_on) == (0, None)


async def test_free_text_lists_the_words_alone(client: httpx.AsyncClient, world: World) -> None:
    programme = await programme_at(world)
    rows = await answered(
        world, programme, IMMEDIATE, invited=14, likert=drawn(14), seed=8, anonymous=False
    )
    response = await client.get(
        f"/api/v1/reports/programmes/{programme}/surveys/teacher_immediate/free-text",
        headers=await bearer(world.login(Role.SCHOOL_ADMIN)),
    )
    assert response.status_code == 200, response.text
    listed = response.json()
    assert listed["withheld"] is None
    assert set(listed) == {"audience", "open", "withheld", "questions"}
    (learned,) = listed["questions"]
    assert set(learned) == {"id", "text", "answers"}
    by_hand = sorted(
        r.answers["what_learned"] for r in rows.responses if r.answers.get("what_learned")
    )
    assert learned["answers"] == by_hand != []
    # A named survey's responses carry their invitation: none of it reaches the list.
    assert all(r.invitation_id is not None for r in rows.responses)
    text = json.dumps(listed)
    for row_id in [*(i.id for i in rows.invitations), *(r.id for r in rows.responses)]:
        assert str(row_id) not in text
    for response_row in rows.responses:
        assert response_row.week_date.isoformat() not in text
    assert str(world.login(Role.TEACHER).staff_id) not in text


async def test_free_text_waits_for_enough_responses(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await programme_at(world)
    await answered(world, programme, PARENT, invited=9, likert=drawn(9), seed=9)
    listed = await client.get(
        f"/api/v1/reports/programmes/{programme}/surveys/parent/free-text",
        headers=await bearer(world.login(Role.TRUST_ADMIN)),
    )
    assert listed.json()["withheld"].startswith("Fewer than 10 responses")
    assert listed.json()["questions"] == []


async def test_a_schools_results_are_its_own_slts(client: httpx.AsyncClient, world: World) -> None:
    programme = await programme_at(world)
    await answered(world, programme, PARENT, invited=12, likert=drawn(12))
    school = world.trusts[0].schools[0].id
    paths = [
        f"programmes/{programme}/surveys",
        f"schools/{school}/surveys",
        f"programmes/{programme}/surveys/parent/free-text",
    ]
    for path in paths:
        url = f"/api/v1/reports/{path}"
        other = await client.get(
            url, headers=await bearer(world.login(Role.SCHOOL_ADMIN, school=1))
        )
        assert other.status_code == 404, other.text
        assert other.headers["content-type"].startswith("application/problem+json")
        teacher = await client.get(url, headers=await bearer(world.login(Role.TEACHER)))
        assert teacher.status_code == 403, teacher.text
        stranger = await client.get(
            url, headers=await bearer(world.login(Role.TRUST_ADMIN, trust=1))
        )
        assert stranger.status_code == 404, stranger.text
    own = await results_as(client, world, f"schools/{school}/surveys?academic_year=2026/27")
    assert own["programme_ids"] == [str(programme)]
    assert audience_of(own, PARENT)["responded"] == 12
    none = await results_as(client, world, f"schools/{school}/surveys?academic_year=2025/26")
    assert none["programme_ids"] == []
    trust = f"/api/v1/reports/trusts/{world.trusts[0].trust.id}/surveys"
    slt = await client.get(trust, headers=await bearer(world.login(Role.SCHOOL_ADMIN)))
    assert slt.status_code == 403, slt.text
