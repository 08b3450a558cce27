"""What the office sees: every message and how it went (never its text or code), the families
not reached, and each household's invitation delivery on the chase list."""

from typing import Any

import httpx
import pytest

from app.core.permissions import Role
from app.core.settings import get_settings
from app.core.types import utcnow
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.notifications.helpers import (
    RECEIPTS,
    TOKEN,
    Issued,
    issued,
    mark_sent,
    message,
    notify_headers,
    receipt,
)
from tests.parents.helpers import collecting_programme


async def _get(client: httpx.AsyncClient, world: World, path: str, role: Role = Role.OFFICE) -> Any:
    answer = await client.get(path, headers=await bearer(world.login(role)))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _fail_the_text(client: httpx.AsyncClient, state: Issued, monkeypatch: Any) -> None:
    monkeypatch.setattr(get_settings(), "notify_callback_token", TOKEN)
    await mark_sent(state.sms.id, "n-1")
    now = utcnow().isoformat()
    body = receipt(await message(state.sms.id), "permanent-failure", completed_at=now)
    assert (await client.post(RECEIPTS, json=body, headers=notify_headers())).status_code == 204


async def test_the_office_lists_the_messages_without_their_words(
    client: httpx.AsyncClient, world: World
) -> None:
    state = await issued(client, world)
    url = f"/api/v1/programmes/{state.programme_id}/messages"
    page = await _get(client, world, url)
    by_household = {item["household_id"]: item for item in page["items"]}
    assert set(by_household) == {str(state.khans), str(state.browns)}
    text = by_household[str(state.khans)]
    assert (text["channel"], text["status"], text["kind"]) == ("sms", "created", "invitation")
    assert text["recipient_name"] == "Aisha Khan"
    assert text["attempts"] == 0
    assert by_household[str(state.browns)]["recipient_name"] == "Zoë Brown"
    # No body, no code, no values: the office reads the code through the audited routes only.
    code = await client.get(
        f"/api/v1/programmes/{state.programme_id}/households/{state.khans}/invitation",
        headers=await bearer(world.login(Role.OFFICE)),
    )
    raw = str(page)
    assert code.json()["code"] not in raw
    assert "values" not in raw
    assert "body" not in raw
    letters = await _get(client, world, url + "?channel=letter")
    assert [i["household_id"] for i in letters["items"]] == [str(state.browns)]
    assert (await _get(client, world, url + f"?household_id={state.khans}"))["items"][0][
        "channel"
    ] == "sms"
    assert (await _get(client, world, url + "?status=delivered"))["items"] == []
    one = await _get(client, world, url + "?limit=1")
    assert len(one["items"]) == 1
    assert one["next_cursor"]
    rest = await _get(client, world, url + f"?limit=1&cursor={one['next_cursor']}")
    assert {one["items"][0]["message_id"], rest["items"][0]["message_id"]} == {
        str(state.sms.id),
        str(state.letter.id),
    }


async def test_a_teacher_is_refused_and_another_school_sees_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    state = await issued(client, world)
    for path in ("messages", "unreached-households"):
        url = f"/api/v1/programmes/{state.programme_id}/{path}"
        teacher = await client.get(url, headers=await bearer(world.login(Role.TEACHER)))
        assert_problem(teacher, 403)
        other = await bearer(world.login(Role.SCHOOL_ADMIN, school=1))
        assert_problem(await client.get(url, headers=other), 404)


async def test_a_permanent_failure_puts_the_family_on_the_list_to_phone(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = await issued(client, world)
    url = f"/api/v1/programmes/{state.programme_id}/unreached-households"
    # Before any receipt: only the Browns, whom nothing but a letter (not posted yet) reaches.
    before = await _get(client, world, url)
    assert [h["household_id"] for h in before] == [str(state.browns)]
    assert before[0]["channel"] == "letter"
    assert "letter" in before[0]["reason"]
    await _fail_the_text(client, state, monkeypatch)
    after = await _get(client, world, url)
    # Oldest first: the letter was written before the text failed.
    assert [h["household_id"] for h in after] == [str(state.browns), str(state.khans)]
    khans = after[1]
    assert khans["status"] == "permanent_failure"
    assert "not in use" in khans["reason"]
    assert khans["family_name"] == "Khan"
    assert {c["name"]: c["mobile"] for c in khans["contacts"]} == {
        "Aisha Khan": "+447911123456",
        "Omar Khan": "+447824555123",
    }


async def test_the_chase_list_shows_how_each_invitation_reached_the_family(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    programme = await collecting_programme(client, world)
    chase = f"/api/v1/programmes/{programme['id']}/chase-list"
    before = await _get(client, world, chase)
    assert {e["invitation_delivery"]["summary"] for e in before["items"]} == {"not invited"}
    state = await issued(client, world, programme)
    entries = {e["household_id"]: e for e in (await _get(client, world, chase))["items"]}
    assert entries[str(state.khans)]["invitation_delivery"]["summary"] == "sms queued"
    browns = entries[str(state.browns)]["invitation_delivery"]
    assert (browns["channel"], browns["status"], browns["summary"]) == (
        "letter",
        "created",
        "letter to post",
    )
    await _fail_the_text(client, state, monkeypatch)
    entries = {e["household_id"]: e for e in (await _get(client, world, chase))["items"]}
    failed = entries[str(state.khans)]["invitation_delivery"]
    assert failed["summary"] == "sms permanent_failure"
    assert failed["status_reason"]
