"""The trust's survey templates: the defaults each trust is given, read by its staff, written by
its admins; changed in place until issued, then frozen, a change being the next version while the
surveys already out keep theirs."""

from typing import Any

import httpx

from app.core.permissions import Role
from app.surveys.models import SurveyAudience
from app.synthetic.generator import World
from tests.conftest import all_rows, assert_problem, bearer
from tests.surveys.helpers import in_the_field, invitations, record


def _url(world: World, key: str = "teacher_immediate") -> str:
    return f"/api/v1/trusts/{world.trusts[0].trust.id}/survey-templates/{key}"


BODY: dict[str, Any] = {
    "title": "After your visits",
    "anonymous": False,
    "questions": [
        {"id": "helpful", "type": "likert", "text": "The visits helped."},
        {
            "id": "why",
            "type": "free_text",
            "text": "Why?",
            "required": False,
            "show_if": {"question": "helpful", "equals": 5},
        },
    ],
    "translations": {"cy": {"title": "Ar ôl eich ymweliadau", "questions": {}}},
}


async def test_every_trust_has_the_three_defaults_and_the_teachers_compare(
    client: httpx.AsyncClient, world: World
) -> None:
    teacher = await bearer(world.login(Role.TEACHER))
    listed = await client.get(
        f"/api/v1/trusts/{world.trusts[0].trust.id}/survey-templates", headers=teacher
    )
    assert listed.status_code == 200, listed.text
    by_key = {t["key"]: t for t in listed.json()}
    assert set(by_key) == {a.value for a in SurveyAudience}
    assert all(t["version"] == 1 and not t["frozen"] for t in by_key.values())
    immediate = {q["id"] for q in by_key["teacher_immediate"]["questions"]}
    follow_up = {q["id"] for q in by_key["teacher_follow_up"]["questions"]}
    assert immediate < follow_up  # the same core questions, so the two compare
    assert len(by_key["parent"]["questions"]) <= 5
    assert by_key["parent"]["anonymous"] is True


async def test_a_template_not_yet_issued_changes_in_place(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await bearer(world.login(Role.TRUST_ADMIN))
    read = await client.get(_url(world), headers=admin)
    saved = await client.put(
        _url(world), json=BODY, headers={**admin, "If-Match": read.headers["etag"]}
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1
    assert saved.json()["translations"]["cy"]["title"] == "Ar ôl eich ymweliadau"
    stale = await client.put(
        _url(world), json=BODY, headers={**admin, "If-Match": read.headers["etag"]}
    )
    assert_problem(stale, 412)
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(
        await client.put(_url(world), json=BODY, headers={**teacher, "If-Match": "*"}), 403
    )


async def test_an_issued_template_is_frozen_and_a_change_is_its_next_version(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await in_the_field(client, world)
    await record(client, world, programme["f1"])
    await record(client, world, programme["f2"])
    (issued,) = await invitations(SurveyAudience.TEACHER_IMMEDIATE)
    admin = await bearer(world.login(Role.TRUST_ADMIN))
    before = (await client.get(_url(world), headers=admin)).json()
    assert before["frozen"] is True
    saved = await client.put(_url(world), json=BODY, headers={**admin, "If-Match": "*"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 2
    assert saved.json()["frozen"] is False
    first = await client.get(_url(world) + "?version=1", headers=admin)
    assert first.json()["questions"] == before["questions"]
    assert first.json()["current"] is False
    # The survey already out keeps its version, and stays anonymous as issued.
    teacher = await bearer(world.login(Role.TEACHER))
    form = await client.get(f"/api/v1/survey-invitations/{issued.id}", headers=teacher)
    assert [q["id"] for q in form.json()["questions"]] == [q["id"] for q in before["questions"]]
    assert form.json()["anonymous"] is True
    assert_problem(await client.get(_url(world) + "?version=3", headers=admin), 404)


async def test_a_template_that_cannot_be_asked_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await bearer(world.login(Role.TRUST_ADMIN))
    await client.get(_url(world), headers=admin)
    before = await all_rows()
    bad = {
        "title": "Broken",
        "questions": [
            {
                "id": "pick",
                "type": "single_choice",
                "text": "Pick",
                "options": [{"value": "a", "label": "A"}],
            },
            {
                "id": "pick",
                "type": "yes_no",
                "text": "Again",
                "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
            },
            {
                "id": "later",
                "type": "likert",
                "text": "Later",
                "show_if": {"question": "nowhere", "equals": 1},
            },
            {
                "id": "scale",
                "type": "likert",
                "text": "Scale",
                "show_if": {"question": "pick", "equals": 9},
            },
        ],
    }
    refused = await client.put(_url(world), json=bad, headers={**admin, "If-Match": "*"})
    problem = assert_problem(refused, 422, "validation-error")
    assert {e["pointer"] for e in problem["errors"]} == {
        "#/questions/0/options",
        "#/questions/1/id",
        "#/questions/1/options",
        "#/questions/2/show_if/question",
        "#/questions/3/show_if/equals",
    }
    assert await all_rows() == before
