"""The day's board: every team's visits that day with their check-in and check-out times, and
which are overdue (not checked in 20 minutes after the start, still in 15 after the end)."""

from datetime import datetime
from typing import Any

import httpx
import pytest

from app.core.london import local_time
from app.core.permissions import Role
from app.core.settings import get_settings
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.visits.helpers import published_programme, pupil_of, visit_begun


async def _board(
    client: httpx.AsyncClient, programme_id: str, headers: dict[str, str], starts: list[str]
) -> dict[str, Any]:
    """The visits on the board of each day one of `starts` falls on (two, just after midnight)."""
    days = sorted({local_time(datetime.fromisoformat(s)).date().isoformat() for s in starts})
    found: dict[str, Any] = {}
    for day in days:
        read = await client.get(
            f"/api/v1/programmes/{programme_id}/board", params={"day": day}, headers=headers
        )
        assert read.status_code == 200, read.text
        assert read.json()["day"] == day
        for team in read.json()["teams"]:
            for visit in team["visits"]:
                found[visit["visit_id"]] = visit | {"team": team["adults"]}
    return found


async def test_the_board_flags_visits_overdue_for_check_in_and_out(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    programme = await published_programme(client, world)
    yusuf = await pupil_of("P-1")
    khans = next(v for v in programme["visits"] if yusuf in v["pupil_ids"])
    browns = next(v for v in programme["visits"] if yusuf not in v["pupil_ids"])
    # The Khans' visit began 30 minutes ago and nobody has checked in; the Browns' ended 25
    # minutes ago (45-minute visits) and its adults are still checked in.
    await visit_begun(khans["id"], minutes_ago=30)
    await visit_begun(browns["id"], minutes_ago=70)
    teacher = await bearer(world.login(Role.TEACHER))
    checked_in = await client.post(f"/api/v1/visits/{browns['id']}/check-in", headers=teacher)
    assert checked_in.status_code == 200, checked_in.text
    starts = [
        (await client.get(f"/api/v1/visits/{v['id']}", headers=teacher)).json()["starts_at"]
        for v in (khans, browns)
    ]

    office = await bearer(world.login(Role.OFFICE))
    board = await _board(client, programme["id"], office, starts)
    assert set(board) == {khans["id"], browns["id"]}
    assert (board[khans["id"]]["overdue_check_in"], board[khans["id"]]["overdue_check_out"]) == (
        True,
        False,
    )
    assert (board[browns["id"]]["overdue_check_in"], board[browns["id"]]["overdue_check_out"]) == (
        False,
        True,
    )
    assert board[browns["id"]]["checked_in_at"] == checked_in.json()["checked_in_at"]
    assert board[browns["id"]]["checked_out_at"] is None
    names = {a["staff_id"]: a["name"] for a in board[khans["id"]]["team"]}
    assert str(world.login(Role.TEACHER).staff_id) in names

    # Out of the home: no longer overdue. Wider margins: nothing is.
    out = await client.post(f"/api/v1/visits/{browns['id']}/check-out", headers=teacher)
    assert out.status_code == 200, out.text
    monkeypatch.setattr(get_settings(), "visits_overdue_checkin_minutes", 40)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    calm = await _board(client, programme["id"], admin, starts)
    assert not any(v["overdue_check_in"] or v["overdue_check_out"] for v in calm.values())
    assert calm[browns["id"]]["checked_out_at"] == out.json()["checked_out_at"]


async def test_the_board_is_for_slt_and_the_office(client: httpx.AsyncClient, world: World) -> None:
    programme = await published_programme(client, world)
    url = f"/api/v1/programmes/{programme['id']}/board"
    today = await client.get(url, headers=await bearer(world.login(Role.SCHOOL_ADMIN)))
    assert today.status_code == 200, today.text
    assert today.json()["teams"] == []  # the visit days are next summer
    assert today.json()["overdue"] == 0
    assert_problem(await client.get(url, headers=await bearer(world.login(Role.TEACHER))), 403)
    other = await bearer(world.login(Role.SCHOOL_ADMIN, school=1))
    assert_problem(await client.get(url, headers=other), 404)
    bad_day = await client.get(
        url, params={"day": "not-a-day"}, headers=await bearer(world.login(Role.OFFICE))
    )
    assert_problem(bad_day, 422)
