"""Surveys issued without anyone asking, on a frozen clock (the planner is given the time): the
family's after their completed visit, the teacher's once their last visit of the programme is
recorded, the follow-up 30 days later, and at most two reminders to those who have not answered.
Each is issued once, however often the hook or the planner runs."""

from datetime import timedelta

import httpx
import pytest

from app.core.permissions import Role
from app.core.settings import get_settings
from app.core.types import utcnow
from app.notifications.models import MessageChannel, MessageKind
from app.surveys.issuing import (
    plan_family_surveys,
    plan_follow_ups,
    plan_reminders,
    plan_surveys,
)
from app.surveys.models import SurveyAudience
from app.synthetic.generator import World
from tests.parents.helpers import household_of
from tests.surveys.helpers import (
    in_the_field,
    invitations,
    programme_messages,
    record,
    survey_messages,
    teacher_id,
)


async def test_a_completed_visit_issues_the_familys_survey_with_a_portal_link(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await in_the_field(client, world)
    await record(client, world, programme["f1"])
    issued = await invitations()
    assert [(i.audience, i.household_id) for i in issued] == [
        (SurveyAudience.PARENT, await household_of("P-1"))
    ]
    assert issued[0].staff_id is None
    assert issued[0].anonymous is True
    # Told by the planner, under the programme's daily cap, not in the recording transaction.
    assert await survey_messages(MessageKind.FAMILY_SURVEY) == []
    assert await plan_family_surveys(utcnow()) == 1
    assert await plan_family_surveys(utcnow()) == 0
    messages = await survey_messages(MessageKind.FAMILY_SURVEY)
    assert messages[0].programme_id == issued[0].programme_id
    assert [m.household_id for m in messages] == [issued[0].household_id]
    assert messages[0].cause_id == issued[0].id
    # The link and the code are the family's portal sign-in, sealed in the outbox.
    assert set(messages[0].values) >= {"link", "code", "survey_title", "family_name"}
    assert "http" not in messages[0].values["link"]


async def test_no_family_survey_after_a_visit_that_did_not_happen(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await in_the_field(client, world)
    await record(client, world, programme["f1"], "no_access")
    assert await invitations(SurveyAudience.PARENT) == []


async def test_a_familys_survey_counts_against_the_programmes_daily_cap(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    programme = await in_the_field(client, world)
    await record(client, world, programme["f1"])
    today = len(await programme_messages(programme["id"]))
    monkeypatch.setattr(get_settings(), "messages_daily_cap_per_programme", today)
    # Held back, logged, and the visit's outcome stands.
    assert await plan_family_surveys(utcnow()) == 0
    assert await survey_messages(MessageKind.FAMILY_SURVEY) == []
    assert len(await invitations(SurveyAudience.PARENT)) == 1
    monkeypatch.setattr(get_settings(), "messages_daily_cap_per_programme", today + 1)
    assert await plan_family_surveys(utcnow()) == 1
    assert len(await programme_messages(programme["id"])) == today + 1


async def test_no_teachers_survey_when_none_of_their_visits_took_place(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await in_the_field(client, world)
    await record(client, world, programme["f1"], "no_access")
    await record(client, world, programme["f2"], "declined")
    assert await invitations(SurveyAudience.TEACHER_IMMEDIATE) == []
    assert await survey_messages(MessageKind.STAFF_SURVEY) == []


async def test_the_teachers_survey_waits_for_their_last_visit(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await in_the_field(client, world)
    await record(client, world, programme["f1"])
    assert await invitations(SurveyAudience.TEACHER_IMMEDIATE) == []  # F-2's visit is to come
    await record(client, world, programme["f2"], "no_access")
    issued = await invitations(SurveyAudience.TEACHER_IMMEDIATE)
    # The teacher, not the second adult (the support assistant on both visits).
    assert [i.staff_id for i in issued] == [teacher_id(world)]
    assert world.login(Role.SUPPORT_STAFF).staff_id not in {i.staff_id for i in issued}
    messages = await survey_messages(MessageKind.STAFF_SURVEY)
    assert [(m.recipient_id, m.cause_id) for m in messages] == [(teacher_id(world), issued[0].id)]
    assert messages[0].channel is MessageChannel.EMAIL
    assert messages[0].programme_id is None  # not counted against the family messages' cap


async def test_the_follow_up_comes_a_month_later_once(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await in_the_field(client, world)
    await record(client, world, programme["f1"])
    await record(client, world, programme["f2"])
    (immediate,) = await invitations(SurveyAudience.TEACHER_IMMEDIATE)
    issued_at = immediate.issued_at
    assert await plan_follow_ups(issued_at + timedelta(days=29, hours=23)) == 0
    assert await invitations(SurveyAudience.TEACHER_FOLLOW_UP) == []
    assert await plan_follow_ups(issued_at + timedelta(days=30, minutes=1)) == 1
    assert await plan_follow_ups(issued_at + timedelta(days=30, minutes=2)) == 0
    (follow_up,) = await invitations(SurveyAudience.TEACHER_FOLLOW_UP)
    assert follow_up.staff_id == teacher_id(world)
    assert follow_up.programme_id == immediate.programme_id
    assert follow_up.template_id != immediate.template_id
    assert len(await survey_messages(MessageKind.STAFF_SURVEY)) == 2


async def test_at_most_two_reminders_a_week_apart_and_none_once_answered(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await in_the_field(client, world)
    await record(client, world, programme["f1"])
    await record(client, world, programme["f2"])
    issued = {i.audience: i for i in await invitations()}
    start = max(i.issued_at for i in issued.values())
    assert await plan_reminders(start + timedelta(days=6)) == 0
    # The teacher and both families are reminded; F-2's family was never given a portal code,
    # so no message can carry it a link: two messages for three reminders.
    assert len(await invitations()) == 3
    first = await plan_reminders(start + timedelta(days=7, minutes=1))
    assert first == 2
    assert {i.reminders_sent for i in await invitations()} == {1}
    assert await plan_reminders(start + timedelta(days=7, minutes=2)) == 0
    second = await plan_reminders(start + timedelta(days=14, minutes=2))
    assert second == first
    assert await plan_reminders(start + timedelta(days=60)) == 0  # two is the most
    assert {i.reminders_sent for i in await invitations()} == {2}


async def test_the_planner_runs_follow_ups_then_reminders(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await in_the_field(client, world)
    await record(client, world, programme["f1"])
    await record(client, world, programme["f2"])
    start = max(i.issued_at for i in await invitations())
    written = await plan_surveys(start + timedelta(days=31))
    follow_ups = await invitations(SurveyAudience.TEACHER_FOLLOW_UP)
    assert len(follow_ups) == 1
    # Two reminders' worth of time has passed for the first three, but one comes at a time.
    assert {i.reminders_sent for i in await invitations() if i.id != follow_ups[0].id} == {1}
    assert written == 1 + 2  # the follow-up, and reminders to the teacher and F-1's family
