"""Each staff member's private calendar feed: read by an independent iCalendar parser (vobject)
as a calendar app reads it, right across the clock change, nothing about the children, and gone
the moment its address is replaced or revoked."""

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest
import vobject  # type: ignore[import-untyped]  # vobject ships no type hints
from sqlmodel import col, update

from app.core import db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.synthetic.generator import World
from app.visits.models import Visit
from tests.conftest import assert_problem, bearer
from tests.parents.helpers import household_of
from tests.programmes.test_programmes import publish
from tests.visits.helpers import planned_programme

LONDON = ZoneInfo("Europe/London")
FEED = "/api/v1/me/calendar-feed"


async def _issue(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    issued = await client.post(FEED, headers=headers)
    assert issued.status_code == 201, issued.text
    return str(urlsplit(issued.json()["url"]).path)


def _events(body: bytes) -> list[Any]:
    calendar = vobject.readOne(body.decode())
    return list(getattr(calendar, "vevent_list", []))


async def _published(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    programme = await planned_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    assert (await publish(client, programme["id"], admin)).status_code == 200
    return programme


async def _at(visit_id: str, starts: datetime, ends: datetime) -> None:
    async with db.open_session(system_scope("test: the visit's time")) as session:
        await session.execute(
            update(Visit)
            .where(col(Visit.id) == UUID(visit_id))
            .values(starts_at=starts.astimezone(UTC), ends_at=ends.astimezone(UTC))
        )


async def test_a_teachers_feed_shows_their_visits_and_nothing_about_the_children(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await _published(client, world)
    teacher = await bearer(world.login(Role.TEACHER))
    path = await _issue(client, teacher)
    feed = await client.get(path)  # no bearer token: the address is the secret
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"].startswith("text/calendar")
    events = _events(feed.content)
    assert {e.uid.value for e in events} == {f"{v['id']}@threshold" for v in programme["visits"]}
    khans = str(await household_of("P-1"))
    visit = next(v for v in programme["visits"] if v["household_id"] == khans)
    event = next(e for e in events if e.uid.value == f"{visit['id']}@threshold")
    assert "Khan family" in event.summary.value
    assert event.location.value == "ME2 2AB"
    assistant = world.login(Role.SUPPORT_STAFF).full_name
    assert f"{assistant} (second adult)" in event.description.value
    assert event.status.value == "CONFIRMED"
    # The children: no first name, no date of birth, no class.
    for private in ("Yusuf", "2021-10-01", "Robins"):
        assert private not in feed.text


async def test_times_are_right_either_side_of_the_clock_change(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await _published(client, world)
    summer, winter = programme["visits"]
    await _at(
        summer["id"],
        datetime(2026, 10, 20, 9, 0, tzinfo=LONDON),  # BST: 08:00 UTC
        datetime(2026, 10, 20, 9, 30, tzinfo=LONDON),
    )
    await _at(
        winter["id"],
        datetime(2026, 10, 27, 9, 0, tzinfo=LONDON),  # GMT: 09:00 UTC
        datetime(2026, 10, 27, 9, 30, tzinfo=LONDON),
    )
    path = await _issue(client, await bearer(world.login(Role.TEACHER)))
    events = {e.uid.value: e for e in _events((await client.get(path)).content)}
    for visit, utc_hour in ((summer, 8), (winter, 9)):
        start = events[f"{visit['id']}@threshold"].dtstart.value
        assert start.utcoffset() is not None, "a time with its zone, not floating"
        assert start.astimezone(UTC).hour == utc_hour
        assert start.astimezone(LONDON).strftime("%H:%M") == "09:00"


async def test_a_new_address_retires_the_old_and_a_revoked_feed_is_gone(
    client: httpx.AsyncClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await _published(client, world)
    teacher = await bearer(world.login(Role.TEACHER))
    first = await _issue(client, teacher)
    second = await _issue(client, teacher)
    assert first != second
    assert_problem(await client.get(first), 404)
    with caplog.at_level(logging.INFO):
        assert (await client.get(second)).status_code == 200
    token = second.rsplit("/", 1)[1].removesuffix(".ics")
    # The service's own logs (the test's HTTP client logs its URLs, as a calendar app's would).
    ours = [r for r in caplog.records if r.name.startswith("threshold")]
    logged = [getattr(r, "path", "") for r in ours]
    assert "/api/v1/calendar-feeds/{token}.ics" in logged, [p for p in logged if "calendar" in p]
    assert not any(token in str(r.__dict__) for r in ours), "the feed's secret reached the logs"
    assert (await client.delete(FEED, headers=teacher)).status_code == 204
    assert_problem(await client.get(second), 404)
    assert_problem(await client.delete(FEED, headers=teacher), 404)
    assert_problem(await client.get("/api/v1/calendar-feeds/" + "x" * 43 + ".ics"), 404)


async def test_a_feed_shows_only_published_visits_and_is_each_adults_own(
    client: httpx.AsyncClient, world: World
) -> None:
    await planned_programme(client, world)  # proposed visits, not yet given to families
    teacher = await bearer(world.login(Role.TEACHER))
    assert _events((await client.get(await _issue(client, teacher))).content) == []
    # Another teacher, on no visit, has an empty feed of their own.
    other = next(
        lg
        for lg in world.logins
        if lg.role is Role.TEACHER and lg.staff_id != world.login(Role.TEACHER).staff_id
    )
    own = await _issue(client, await bearer(other))
    assert _events((await client.get(own)).content) == []


async def test_a_visit_day_shows_its_on_call_safeguarding_lead(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await _published(client, world)
    visit = programme["visits"][0]
    day = datetime.fromisoformat(visit["starts_at"]).astimezone(LONDON).date().isoformat()
    named = await client.put(
        f"/api/v1/programmes/{programme['id']}/duty-rota/{day}",
        json={"dsl_on_call_id": str(world.login(Role.DSL).staff_id)},
        headers=await bearer(world.login(Role.SCHOOL_ADMIN)),
    )
    assert named.status_code == 200, named.text
    path = await _issue(client, await bearer(world.login(Role.TEACHER)))
    events = _events((await client.get(path)).content)
    event = next(e for e in events if e.uid.value == f"{visit['id']}@threshold")
    dsl = world.login(Role.DSL).full_name
    assert f"On-call safeguarding lead: {dsl}." in event.description.value
