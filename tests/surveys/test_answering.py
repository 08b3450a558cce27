"""Answering: a teacher answers their own survey, a parent their household's in the portal;
drafts are checked as saved, a submission in full (types, required, skip logic), once; an
anonymous response is stored with no household or staff link and no exact time."""

from datetime import date
from typing import Any
from uuid import UUID

import httpx

from app.core.permissions import Role
from app.surveys.models import SurveyAudience
from app.synthetic.generator import World
from tests.conftest import all_rows, assert_problem, bearer
from tests.parents.helpers import household_of
from tests.surveys.helpers import (
    family_headers,
    in_the_field,
    invitations,
    record,
    responses,
)

CORE = {
    "know_child_better": 5,
    "relationship_with_family": 4,
    "confident_supporting": 4,
    "workload_manageable": 2,
}


async def _teachers_survey(client: httpx.AsyncClient, world: World) -> tuple[str, dict[str, str]]:
    programme = await in_the_field(client, world)
    await record(client, world, programme["f1"])
    await record(client, world, programme["f2"])
    (issued,) = await invitations(SurveyAudience.TEACHER_IMMEDIATE)
    return f"/api/v1/survey-invitations/{issued.id}", await bearer(world.login(Role.TEACHER))


async def test_a_teacher_drafts_then_submits_once_and_the_response_is_anonymous(
    client: httpx.AsyncClient, world: World
) -> None:
    url, teacher = await _teachers_survey(client, world)
    listed = await client.get("/api/v1/survey-invitations", headers=teacher)
    assert [s["responded"] for s in listed.json()] == [False]
    form = await client.get(url, headers=teacher)
    assert form.status_code == 200, form.text
    assert [q["id"] for q in form.json()["questions"]][:2] == [
        "know_child_better",
        "relationship_with_family",
    ]
    drafted = await client.put(f"{url}/answers", json={"answers": CORE}, headers=teacher)
    assert drafted.status_code == 200, drafted.text
    assert drafted.json()["draft"] == CORE
    assert drafted.headers["etag"] != form.headers["etag"]

    answers: dict[str, Any] = {**CORE, "learned_something_new": True, "what_learned": "Pets"}
    sent = await client.post(f"{url}/submit", json={"answers": answers}, headers=teacher)
    assert sent.status_code == 200, sent.text
    week = date.fromisoformat(sent.json()["week_date"])
    assert week.weekday() == 0

    (stored,) = await responses()
    assert stored.answers == answers
    assert stored.anonymous is True
    assert stored.invitation_id is None
    assert stored.week_date == week
    columns = set(type(stored).model_fields)
    assert not columns & {"staff_id", "household_id", "created_at", "updated_at", "submitted_at"}
    (invitation,) = await invitations(SurveyAudience.TEACHER_IMMEDIATE)
    assert invitation.responded is True
    assert invitation.draft is None  # the answers live only in the response now

    before = await all_rows()
    again = await client.post(f"{url}/submit", json={"answers": answers}, headers=teacher)
    assert_problem(again, 409, "survey-already-answered")
    redraft = await client.put(f"{url}/answers", json={"answers": CORE}, headers=teacher)
    assert_problem(redraft, 409, "survey-already-answered")
    assert await all_rows() == before


async def test_answers_are_checked_against_the_questions(
    client: httpx.AsyncClient, world: World
) -> None:
    url, teacher = await _teachers_survey(client, world)
    before = await all_rows()
    wrong = {"know_child_better": 6, "learned_something_new": "yes", "favourite_colour": "red"}
    refused = await client.put(f"{url}/answers", json={"answers": wrong}, headers=teacher)
    problem = assert_problem(refused, 422, "validation-error")
    assert {e["pointer"] for e in problem["errors"]} == {
        "#/answers/know_child_better",
        "#/answers/learned_something_new",
        "#/answers/favourite_colour",
    }
    missing = await client.post(
        f"{url}/submit", json={"answers": {"know_child_better": 3}}, headers=teacher
    )
    problem = assert_problem(missing, 422, "validation-error")
    pointers = {e["pointer"] for e in problem["errors"]}
    assert "#/answers/relationship_with_family" in pointers
    assert "#/answers/learned_something_new" in pointers
    assert "#/answers/what_learned" not in pointers  # optional, and not asked
    assert "required" in problem["detail"]
    assert await all_rows() == before


async def test_skip_logic_refuses_an_answer_to_a_question_not_asked(
    client: httpx.AsyncClient, world: World
) -> None:
    url, teacher = await _teachers_survey(client, world)
    skipped: dict[str, Any] = {**CORE, "learned_something_new": False, "what_learned": "Pets"}
    refused = await client.post(f"{url}/submit", json={"answers": skipped}, headers=teacher)
    problem = assert_problem(refused, 422, "validation-error")
    assert [e["pointer"] for e in problem["errors"]] == ["#/answers/what_learned"]
    assert "asked only when 'learned_something_new' is answered True" in problem["detail"]
    # Without the skipped answer, and from the draft (no body), it goes.
    await client.put(
        f"{url}/answers",
        json={"answers": {**CORE, "learned_something_new": False}},
        headers=teacher,
    )
    sent = await client.post(f"{url}/submit", headers=teacher)
    assert sent.status_code == 200, sent.text


async def test_nobody_else_sees_a_teachers_survey(client: httpx.AsyncClient, world: World) -> None:
    url, _ = await _teachers_survey(client, world)
    for role in (Role.SCHOOL_ADMIN, Role.SUPPORT_STAFF, Role.TRUST_ADMIN):
        other = await bearer(world.login(role))
        assert_problem(await client.get(url, headers=other), 404)
        listed = await client.get("/api/v1/survey-invitations", headers=other)
        assert listed.json() == []


async def test_a_parent_answers_their_households_survey_and_not_anothers(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await in_the_field(client, world)
    await record(client, world, programme["f1"])
    await record(client, world, programme["f2"])
    by_household = {i.household_id: i for i in await invitations(SurveyAudience.PARENT)}
    ours, theirs = (by_household[h] for h in await _households())
    parent = await family_headers(client, programme["id"], "P-1")
    listed = await client.get("/api/v1/parent/surveys", headers=parent)
    assert [s["id"] for s in listed.json()] == [str(ours.id)]

    before = await all_rows()
    other = f"/api/v1/parent/surveys/{theirs.id}"
    assert_problem(await client.get(other, headers=parent), 404)
    answers = {"visit_helpful": 5, "felt_listened_to": True, "child_feels": "happy"}
    taken = await client.post(f"{other}/submit", json={"answers": answers}, headers=parent)
    assert_problem(taken, 404)
    assert await all_rows() == before

    sent = await client.post(
        f"/api/v1/parent/surveys/{ours.id}/submit", json={"answers": answers}, headers=parent
    )
    assert sent.status_code == 200, sent.text
    (stored,) = await responses()
    assert stored.audience is SurveyAudience.PARENT
    assert stored.invitation_id is None
    assert stored.answers == answers


async def _households() -> tuple[UUID, UUID]:
    return await household_of("P-1"), await household_of("P-3")
