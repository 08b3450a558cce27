"""Dates and scope that make sense: a programme refuses visit days in the past or outside its
academic year, a preference window that closes after the first visit day and year groups a
partly participating school does not visit, naming each field; it warns of weekend days."""

from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import httpx

from app.core.london import LONDON, london_today
from app.core.permissions import Role
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.programmes.test_programmes import (
    DAYS,
    FRIDAY,
    TUESDAY,
    create,
    move,
    new_programme,
    programmes_url,
)


def pointers(problem: dict[str, Any]) -> list[str]:
    return [e["pointer"] for e in problem["errors"]]


async def test_visit_days_in_the_past_are_refused(client: httpx.AsyncClient, world: World) -> None:
    yesterday = (london_today() - timedelta(days=1)).isoformat()
    refused = await create(
        client, world, visit_days=[DAYS[0], yesterday], preferences_close_at=None
    )
    problem = assert_problem(refused, 422, "programme-settings-invalid")
    assert pointers(problem) == ["#/visit_days/1"]
    assert f"{yesterday} is in the past" in problem["detail"]
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    listed = await client.get(programmes_url(world), headers=admin)
    assert listed.json()["items"] == []  # nothing written

    created = await create(client, world)
    url = f"/api/v1/programmes/{created.json()['id']}"
    changed = await client.patch(
        url,
        json={"visit_days": [yesterday, DAYS[1]]},
        headers=admin | {"If-Match": created.headers["etag"]},
    )
    # The window, which closes in a month, would now close after the first day as well.
    assert pointers(assert_problem(changed, 422, "programme-settings-invalid")) == [
        "#/visit_days/0",
        "#/preferences_close_at",
    ]
    assert (await client.get(url, headers=admin)).json()["visit_days"] == DAYS


async def test_the_window_closes_before_the_first_visit_day(
    client: httpx.AsyncClient, world: World
) -> None:
    on_the_day = datetime.combine(TUESDAY, time(8), tzinfo=LONDON).isoformat()
    refused = await create(client, world, preferences_close_at=on_the_day)
    problem = assert_problem(refused, 422, "programme-settings-invalid")
    assert pointers(problem) == ["#/preferences_close_at"]
    assert str(TUESDAY) in problem["detail"]
    # The evening before is fine; extending the window into the visits later is not.
    eve = datetime.combine(TUESDAY, time(0), tzinfo=LONDON) - timedelta(minutes=1)
    created = await create(client, world, preferences_close_at=eve.isoformat())
    assert created.status_code == 201, created.text
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    moved = await move(client, created.json()["id"], admin, "collecting")
    assert moved.status_code == 200, moved.text
    url = f"/api/v1/programmes/{created.json()['id']}"
    extended = await client.patch(
        url,
        json={"preferences_close_at": on_the_day},
        headers=admin | {"If-Match": moved.headers["etag"]},
    )
    assert pointers(assert_problem(extended, 422)) == ["#/preferences_close_at"]


async def test_visit_days_belong_to_the_academic_year(
    client: httpx.AsyncClient, world: World
) -> None:
    # 2025/26 ended on 31 July 2026; 2027/28 starts on 1 August 2027.
    for year in ("2025/26", "2027/28"):
        refused = await create(client, world, academic_year=year)
        problem = assert_problem(refused, 422, "programme-settings-invalid")
        assert pointers(problem) == ["#/visit_days/0", "#/visit_days/1", "#/visit_days/2"]
        assert f"outside academic year {year}" in problem["detail"]
    refused = await create(client, world, academic_year="2026/28")
    assert pointers(assert_problem(refused, 422)) == ["#/academic_year"]
    summer = await create(client, world, visit_days=["2027-08-02"], name="Summer")
    assert pointers(assert_problem(summer, 422)) == ["#/visit_days/0"]
    assert (await create(client, world, visit_days=["2027-07-30"], name="Last")).is_success


async def test_a_partial_school_plans_only_its_own_year_groups(
    client: httpx.AsyncClient, world: World
) -> None:
    """School 2 takes part only for Nursery and Reception (app/synthetic/generator.py)."""
    admin = await bearer(world.login(Role.SCHOOL_ADMIN, school=2))
    url = programmes_url(world, school=2)
    refused = await client.post(url, json=new_programme(year_groups=["R", "3"]), headers=admin)
    problem = assert_problem(refused, 422, "programme-settings-invalid")
    assert pointers(problem) == ["#/year_groups/1"]
    assert "Year 3 is outside" in problem["detail"]
    assert "N1, N2, R only" in problem["detail"]
    created = await client.post(url, json=new_programme(year_groups=["R"]), headers=admin)
    assert created.status_code == 201, created.text
    widened = await client.patch(
        f"/api/v1/programmes/{created.json()['id']}",
        json={"year_groups": ["1", "R"]},
        headers=admin | {"If-Match": created.headers["etag"]},
    )
    assert pointers(assert_problem(widened, 422)) == ["#/year_groups/0"]
    # A school taking full part plans any year group.
    full = await create(client, world, year_groups=["R", "3"])
    assert full.status_code == 201, full.text


async def test_a_partial_schools_year_groups_are_kept_with_its_participation(
    client: httpx.AsyncClient, world: World
) -> None:
    trust_admin = await bearer(world.login(Role.TRUST_ADMIN))
    url = f"/api/v1/schools/{world.trusts[0].schools[0].id}"
    etag = (await client.get(url, headers=trust_admin)).headers["etag"]
    full = await client.patch(
        url, json={"participating_year_groups": ["R"]}, headers=trust_admin | {"If-Match": etag}
    )
    assert pointers(assert_problem(full, 422)) == ["#/participating_year_groups"]
    partial = await client.patch(
        url,
        json={
            "participation": "partial",
            "participation_reason": "Reception only while the new hall is built",
            "participating_year_groups": ["R"],
        },
        headers=trust_admin | {"If-Match": etag},
    )
    assert partial.status_code == 200, partial.text
    assert partial.json()["participating_year_groups"] == ["R"]
    assert pointers(assert_problem(await create(client, world, year_groups=["1"]), 422)) == [
        "#/year_groups/0"
    ]
    back = await client.patch(
        url,
        json={"participation": "full"},
        headers=trust_admin | {"If-Match": partial.headers["etag"]},
    )
    assert back.json()["participating_year_groups"] is None
    assert (await create(client, world, year_groups=["1"])).status_code == 201


async def test_weekend_visit_days_are_allowed_with_a_warning(
    client: httpx.AsyncClient, world: World
) -> None:
    saturday = (FRIDAY + timedelta(days=1)).isoformat()
    created = await create(client, world, visit_days=[saturday, DAYS[0]])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["visit_days"] == [DAYS[0], saturday]
    assert body["warnings"] == [
        {
            "type": "weekend-visit-day",
            "pointer": "#/visit_days/1",
            "class_id": None,
            "detail": "Saturday 10 July 2027 is a weekend day: check that families and staff "
            "expect visits then.",
        }
    ]
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    read = await client.get(f"/api/v1/programmes/{body['id']}", headers=admin)
    assert read.json()["warnings"] == body["warnings"]
    assert (await create(client, world, name="Weekdays")).json()["warnings"] == []


async def test_existing_settings_are_not_rechecked_on_an_unrelated_change(
    client: httpx.AsyncClient, world: World
) -> None:
    """A programme saved before these rules (its days now past) can still be renamed."""
    from sqlmodel import col, update

    from app.core import db
    from app.core.tenancy import system_scope
    from app.programmes.models import VisitProgramme

    created = await create(client, world)
    async with db.open_session(system_scope("test: an old programme")) as session:
        await session.execute(
            update(VisitProgramme)
            .where(col(VisitProgramme.id) == UUID(created.json()["id"]))
            .values(
                visit_days=["2026-09-01"],
                preferences_close_at=datetime(2026, 7, 1, tzinfo=UTC),
            )
        )
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/programmes/{created.json()['id']}"
    # Any change to the row raises its version, so the client reads the ETag it now has.
    etag = (await client.get(url, headers=admin)).headers["etag"]
    assert etag != created.headers["etag"]
    renamed = await client.patch(
        url, json={"name": "Autumn 2026 (done)"}, headers=admin | {"If-Match": etag}
    )
    assert renamed.status_code == 200, renamed.text
