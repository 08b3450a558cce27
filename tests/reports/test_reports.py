"""Reports: small numbers suppressed, CSV exports audited and formula-safe, who reads which report
(another school's SLT and another trust's admins find nothing: 404), concerns counted during the
programme's days, and a trust's report in a few statements."""

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import event
from sqlmodel import col, select, update

from app.core import db
from app.core.audit import AuditEntry
from app.core.london import london_today
from app.core.permissions import Role
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.programmes.models import VisitProgramme
from app.roster.models import SchoolClass
from app.synthetic.dates import ACADEMIC_YEAR
from app.synthetic.generator import World
from tests.conftest import bearer
from tests.reports.helpers import finished_programme
from tests.reports.test_reach_on_generated_data import household_counts


@pytest.fixture
def suppressed_below(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[int]:
    below = getattr(request, "param", 10)
    monkeypatch.setenv("THRESHOLD_REPORTS_SUPPRESSED_BELOW", str(below))
    get_settings.cache_clear()
    yield below
    monkeypatch.undo()
    get_settings.cache_clear()


async def get(
    client: httpx.AsyncClient, world: World, url: str, role: Role = Role.SCHOOL_ADMIN, **at: int
) -> httpx.Response:
    return await client.get(f"/api/v1/reports/{url}", headers=await bearer(world.login(role, **at)))


async def test_small_counts_read_null_and_their_shares_too(
    client: httpx.AsyncClient, world: World, suppressed_below: int
) -> None:
    assert suppressed_below == 10
    f = await finished_programme(client, world)
    response = await get(client, world, f"programmes/{f.scenario.programme_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["suppressed_below"] == 10
    expected = household_counts(set(f.roster.children), f)
    assert 0 < expected["exempt"] < 10
    assert 0 < expected["neutral_venue"] < 10
    shown = {k: (v if v >= 10 else None) for k, v in expected.items()}
    assert {k: body["reach"]["totals"][k] for k in expected} == shown
    assert groups_visited_small(body) in (0, None)
    looked_after = sum(p.looked_after for p in f.pupils.values() if p.id in f.roster.pupil_class)
    assert 0 < looked_after < 10, "the generated school has no small looked-after group"
    groups = {g["group"]: g for g in body["reach"]["groups"]}
    # None visited reads 0 (a zero gives no one away); any other small count reads null.
    assert groups["looked_after"] | {"group": None, "visited": None} == {
        "group": None,
        "pupils": None,
        "visited": None,
        "reach": None,
        "others_reach": None,
        "gap": None,
    }
    assert groups["free_school_meals"]["pupils"] >= 10
    assert groups["free_school_meals"]["gap"] is not None
    for day in body["reach"]["days"]:
        by_group = {g["group"]: g for g in day["groups"]}
        assert by_group["looked_after"]["pupils"] is None
    # A class of fewer than ten families shows no figure under ten.
    for part in body["reach"]["classes"]:
        assert all(part[k] is None or part[k] == 0 or part[k] >= 10 for k in expected)


def groups_visited_small(body: dict[str, Any]) -> int | None:
    (group,) = [g for g in body["reach"]["groups"] if g["group"] == "looked_after"]
    return group["visited"]  # type: ignore[no-any-return]


async def test_a_csv_export_is_audited_formula_safe_and_says_what_the_json_says(
    client: httpx.AsyncClient, world: World, suppressed_below: int
) -> None:
    f = await finished_programme(client, world)
    some_class = sorted(f.roster.classes)[0]
    async with db.open_session(system_scope("test: a class named like a formula")) as session:
        await session.execute(
            update(SchoolClass)
            .where(col(SchoolClass.id) == some_class)
            .values(name="=HYPERLINK(1)")
        )
    url = f"programmes/{f.scenario.programme_id}"
    body = (await get(client, world, url)).json()
    assert await exports() == [], "reading the JSON is not an export"

    response = await get(client, world, f"{url}/export.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    (entry,) = await exports()
    assert entry.actor_id == world.login(Role.SCHOOL_ADMIN).staff_id
    assert (entry.subject_type, entry.subject_id) == ("programme_report", f.scenario.programme_id)
    assert entry.school_id == world.trusts[0].schools[0].id

    (totals,) = [r for r in rows if r["section"] == "totals"]
    assert {k: int(totals[k]) if totals[k] else None for k in body["reach"]["totals"]} == body[
        "reach"
    ]["totals"]
    classes = {r["class_id"]: r for r in rows if r["section"] == "class"}
    assert len(classes) == len(body["reach"]["classes"])
    assert classes[str(some_class)]["class_name"] == "'=HYPERLINK(1)"
    assert [r["day"] for r in rows if r["section"] == "day"] == [
        d["day"] for d in body["reach"]["days"]
    ]
    groups = {r["group"]: r for r in rows if r["section"] == "group"}
    assert groups["looked_after"]["children"] == ""
    fsm = next(g for g in body["reach"]["groups"] if g["group"] == "free_school_meals")
    assert groups["free_school_meals"]["children"] == str(fsm["pupils"])
    assert groups["free_school_meals"]["children_visited"] == str(fsm["visited"])
    # Children and households stay in their own columns: a group's row names no households.
    assert groups["free_school_meals"]["visited"] == ""
    assert totals["children_visited"] == ""
    figures = {r["measure"]: r["value"] for r in rows if r["section"] == "figure"}
    assert figures["staff_adult_days"] == str(body["staff_load"]["adult_days"])
    assert figures["suppressed_below"] == "10"
    assert figures["survey_parent_invited"] == "0"


async def exports() -> list[AuditEntry]:
    async with db.open_session(system_scope("test: read the audit")) as session:
        found = await session.scalars(
            select(AuditEntry).where(col(AuditEntry.action) == "report.exported")
        )
        return list(found)


async def test_who_reads_which_report(client: httpx.AsyncClient, world: World) -> None:
    f = await finished_programme(client, world)
    home = world.trusts[0]
    programme = f"programmes/{f.scenario.programme_id}"
    school = f"schools/{home.schools[0].id}"
    trust = f"trusts/{home.trust.id}"
    answers: dict[tuple[str, str], int] = {}
    for who, role, at in (
        ("slt", Role.SCHOOL_ADMIN, {}),
        ("other_slt", Role.SCHOOL_ADMIN, {"school": 1}),
        ("teacher", Role.TEACHER, {}),
        ("office", Role.OFFICE, {}),
        ("trust_admin", Role.TRUST_ADMIN, {}),
        ("other_trust_admin", Role.TRUST_ADMIN, {"trust": 1}),
    ):
        for name, url in (("programme", programme), ("school", school), ("trust", trust)):
            for suffix in ("", "/export.csv"):
                response = await get(client, world, url + suffix, role, **at)
                answers[(who, name + suffix)] = response.status_code
    ok, refused, hidden = 200, 403, 404
    for suffix in ("", "/export.csv"):
        assert answers[("slt", "programme" + suffix)] == ok
        assert answers[("slt", "school" + suffix)] == ok
        assert answers[("slt", "trust" + suffix)] == refused
        assert answers[("other_slt", "programme" + suffix)] == hidden
        assert answers[("other_slt", "school" + suffix)] == hidden
        assert answers[("teacher", "programme" + suffix)] == refused
        assert answers[("office", "school" + suffix)] == refused
        for name in ("programme", "school", "trust"):
            assert answers[("trust_admin", name + suffix)] == ok
            assert answers[("other_trust_admin", name + suffix)] == hidden
    assert len(await exports()) == 5, "one audit entry per export answered"


async def test_the_school_and_trust_reports_hold_the_programme(
    client: httpx.AsyncClient, world: World
) -> None:
    f = await finished_programme(client, world)
    home = world.trusts[0]
    one = (await get(client, world, f"programmes/{f.scenario.programme_id}")).json()
    school = (await get(client, world, f"schools/{home.schools[0].id}")).json()
    trust = (
        await get(
            client, world, f"trusts/{home.trust.id}?academic_year={ACADEMIC_YEAR}", Role.TRUST_ADMIN
        )
    ).json()
    for body in (school, trust):
        assert [p["programme_id"] for p in body["programmes"]] == [str(f.scenario.programme_id)]
        assert body["reach"]["totals"] == one["reach"]["totals"]
        assert body["reach"]["groups"] == one["reach"]["groups"]
        assert body["staff_load"] == one["staff_load"]
    (part,) = trust["reach"]["schools"]
    assert part["school_id"] == str(home.schools[0].id)
    assert part["school_name"] == home.schools[0].name
    assert {k: part[k] for k in one["reach"]["totals"]} == one["reach"]["totals"]
    assert trust["reach"]["classes"] == []
    assert school["reach"]["classes"] == one["reach"]["classes"]
    empty = (await get(client, world, f"schools/{home.schools[1].id}", Role.TRUST_ADMIN)).json()
    assert empty["programmes"] == []
    assert empty["reach"]["pupils"] == 0


@pytest.mark.parametrize("suppressed_below", [1, 10], indirect=True)
async def test_concerns_raised_during_the_visit_days_are_counted(
    client: httpx.AsyncClient, world: World, suppressed_below: int
) -> None:
    """Concerns are append-only (raised now, for good), so the programme's days move instead:
    through today, then ending yesterday, then starting tomorrow."""
    f = await finished_programme(client, world)
    pupil = sorted(f.roster.pupil_class)[0]
    raised = [await _raise(client, world, pupil) for _ in range(3)]
    today = london_today()
    url = f"programmes/{f.scenario.programme_id}"
    for days, expected in (
        ([today - timedelta(days=1), today], 3 if suppressed_below == 1 else None),
        ([today - timedelta(days=2), today - timedelta(days=1)], 0),
        ([today + timedelta(days=1)], 0),
    ):
        async with db.open_session(system_scope("test: the programme's days")) as session:
            await session.execute(
                update(VisitProgramme)
                .where(col(VisitProgramme.id) == f.scenario.programme_id)
                .values(visit_days=[d.isoformat() for d in days])
            )
        body = (await get(client, world, url)).json()
        assert body["concerns_raised"] == expected, days
        assert str(raised[0]) not in str(body)


async def _raise(client: httpx.AsyncClient, world: World, pupil: UUID) -> UUID:
    response = await client.post(
        f"/api/v1/schools/{world.trusts[0].schools[0].id}/concerns",
        json={
            "pupils": [{"pupil_id": str(pupil), "role": "subject"}],
            "category": "neglect",
            "urgency": "routine",
            "account": "Seen during the visit",
            "occurred_at": "2026-09-08T10:40:00+01:00",
        },
        headers=await bearer(world.login(Role.TEACHER)),
    )
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


async def test_a_trust_report_takes_a_few_statements(
    client: httpx.AsyncClient, world: World
) -> None:
    """However many schools and classes: one statement per kind of row, none per school."""
    await finished_programme(client, world)
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    statements: list[Any] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = db.get_database().engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = await client.get(
            f"/api/v1/reports/trusts/{world.trusts[0].trust.id}", headers=headers
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.text
    assert response.json()["reach"]["pupils"] > 200
    assert len(statements) <= 14, statements
