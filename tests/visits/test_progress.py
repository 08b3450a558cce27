"""Visit progress: children visited, not reached, declined, called off and still to visit, for
the programme and each class, each child by their own outcome and in their own class."""

from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, delete

from app.core import db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.programmes.models import HouseholdExemption, VisitProgramme
from app.synthetic.generator import World
from app.visits.models import Visit, VisitPupil
from tests.conftest import assert_problem, bearer
from tests.visits.helpers import published_programme, pupil_of, visit_begun

ZERO = {
    "pupils": 0,
    "visited": 0,
    "no_access": 0,
    "declined": 0,
    "cancelled": 0,
    "not_yet_visited": 0,
}


def _counts(read: dict[str, Any]) -> dict[str, dict[str, int]]:
    found = {"totals": {k: read["totals"][k] for k in ZERO}}
    for row in read["classes"]:
        found[row["class_name"]] = {k: row[k] for k in ZERO}
    return found


async def test_siblings_count_in_each_class_by_their_own_outcome(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    url = f"/api/v1/programmes/{programme['id']}/visit-progress"
    teacher = await bearer(world.login(Role.TEACHER))
    before = await client.get(url, headers=teacher)
    assert before.status_code == 200, before.text
    assert _counts(before.json()) == {
        "totals": ZERO | {"pupils": 4, "not_yet_visited": 4},
        "Robins": ZERO | {"pupils": 2, "not_yet_visited": 2},
        "3B": ZERO | {"pupils": 2, "not_yet_visited": 2},
    }

    yusuf, maryam = await pupil_of("P-1"), await pupil_of("P-2")
    khans = next(v for v in programme["visits"] if yusuf in v["pupil_ids"])
    browns = next(v for v in programme["visits"] if yusuf not in v["pupil_ids"])
    await visit_begun(khans["id"])
    # Yusuf was visited; his sister Maryam (3B) was away.
    recorded = await client.post(
        f"/api/v1/visits/{khans['id']}/outcome",
        json={"outcome": "completed", "pupils": [{"pupil_id": maryam, "outcome": "no_access"}]},
        headers=teacher,
    )
    assert recorded.status_code == 200, recorded.text
    declined = await client.post(
        f"/api/v1/visits/{browns['id']}/outcome",
        json={"outcome": "declined", "reason": "Not this year"},
        headers=teacher,
    )
    assert declined.status_code == 200, declined.text

    after = await client.get(url, headers=await bearer(world.login(Role.OFFICE)))
    assert after.status_code == 200, after.text
    assert after.json()["programme_id"] == programme["id"]
    assert _counts(after.json()) == {
        "totals": ZERO | {"pupils": 4, "visited": 1, "no_access": 1, "declined": 2},
        "Robins": ZERO | {"pupils": 2, "visited": 1, "declined": 1},
        "3B": ZERO | {"pupils": 2, "no_access": 1, "declined": 1},
    }
    assert [c["year_group"] for c in after.json()["classes"]] == ["3", "R"]


async def test_another_school_finds_no_programme(client: httpx.AsyncClient, world: World) -> None:
    programme = await published_programme(client, world)
    url = f"/api/v1/programmes/{programme['id']}/visit-progress"
    assert_problem(
        await client.get(url, headers=await bearer(world.login(Role.SCHOOL_ADMIN, school=1))), 404
    )
    assert_problem(
        await client.get(url, headers=await bearer(world.login(Role.TRUST_ADMIN, trust=1))), 404
    )


async def test_children_in_scope_with_no_visit_are_counted_by_why(
    client: httpx.AsyncClient, world: World
) -> None:
    programme = await published_programme(client, world)
    khans, browns = programme["visits"]
    async with db.open_session(system_scope("test: a family left unplaced, one exempted")) as s:
        for visit in (khans, browns):
            await s.execute(delete(VisitPupil).where(col(VisitPupil.visit_id) == UUID(visit["id"])))
            await s.execute(delete(Visit).where(col(Visit.id) == UUID(visit["id"])))
        found = await s.get(VisitProgramme, UUID(programme["id"]))  # tenancy: system scope
        assert found is not None
        s.add(
            HouseholdExemption(
                trust_id=found.trust_id,
                school_id=found.school_id,
                programme_id=found.id,
                household_id=UUID(browns["household_id"]),
                kind="exempt",
                reason="Moving away",
            )
        )
    read = await client.get(
        f"/api/v1/programmes/{programme['id']}/visit-progress",
        headers=await bearer(world.login(Role.TEACHER)),
    )
    totals = read.json()["totals"]
    assert totals["pupils"] == 4
    assert (totals["no_visit_yet"], totals["exempt"], totals["not_yet_visited"]) == (2, 2, 0)
