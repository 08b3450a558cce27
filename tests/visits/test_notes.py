"""Notes after the visit: written per child by the adults who made it once it is over, changed by
their author for a while and then locked, every version kept; read by the child's teachers, the
school's SLT and the author, and by nobody else (404, as if missing)."""

from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select, update

from app.core import db
from app.core.audit import AuditEntry
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.synthetic.generator import World
from app.visits.models import Visit
from app.visits.notes_models import VisitNote, VisitNoteVersion
from tests.conftest import assert_problem, bearer
from tests.parents.helpers import household_of
from tests.programmes.test_programmes import publish
from tests.visits.helpers import planned_programme
from tests.visits.test_reading import _other_teacher

NOTE = {
    "enjoys": "Dinosaurs, and drawing them",
    "learns_well_with": "His cousin Adam",
    "family_questions": "How to help with reading at home",
    "interpreter_used": False,
}


async def _visited(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """A published programme whose Khan visit (Yusuf, P-1, in the Robins) is over."""
    programme = await planned_programme(client, world)
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    assert (await publish(client, programme["id"], admin)).status_code == 200
    khans = str(await household_of("P-1"))
    visit: dict[str, Any] = next(v for v in programme["visits"] if v["household_id"] == khans)
    await _ends(visit["id"], utcnow() - timedelta(minutes=5))
    return visit


async def _ends(visit_id: str, at: Any) -> None:
    async with db.open_session(system_scope("test: the visit's time")) as session:
        await session.execute(
            update(Visit)
            .where(col(Visit.id) == UUID(visit_id))
            .values(starts_at=at - timedelta(minutes=30), ends_at=at)
        )


def _url(visit: dict[str, Any]) -> str:
    return f"/api/v1/visits/{visit['id']}/pupils/{visit['pupil_ids'][0]}/note"


async def _notes() -> list[VisitNote]:
    async with db.open_session(system_scope("test: read notes")) as session:
        return list(await session.scalars(select(VisitNote)))


async def test_a_visiting_adult_writes_a_note_once_the_visit_is_over(
    client: httpx.AsyncClient, world: World
) -> None:
    visit = await _visited(client, world)
    teacher = await bearer(world.login(Role.TEACHER))
    written = await client.put(_url(visit), json=NOTE, headers=teacher)
    assert written.status_code == 200, written.text
    note = written.json()
    assert note["enjoys"] == NOTE["enjoys"]
    assert note["author_id"] == str(world.login(Role.TEACHER).staff_id)
    assert note["locked"] is False
    assert [v["version"] for v in note["versions"]] == [1]
    assert written.headers["etag"]
    async with db.open_session(system_scope("test: audit")) as session:
        entry = await session.scalar(
            select(AuditEntry).where(col(AuditEntry.action) == "visit_note.written")
        )
    assert entry is not None
    assert "Dinosaurs" not in str(entry.details)  # ids only, never the words


async def test_no_note_before_the_visit_has_ended(client: httpx.AsyncClient, world: World) -> None:
    visit = await _visited(client, world)
    await _ends(visit["id"], utcnow() + timedelta(minutes=10))  # still under way
    teacher = await bearer(world.login(Role.TEACHER))
    problem = assert_problem(await client.put(_url(visit), json=NOTE, headers=teacher), 409)
    assert problem["type"].endswith("visit-not-over")
    assert "never during it" in problem["detail"]
    assert await _notes() == []


async def test_checking_out_early_lets_the_note_be_written(
    client: httpx.AsyncClient, world: World
) -> None:
    visit = await _visited(client, world)
    await _ends(visit["id"], utcnow() + timedelta(minutes=20))  # planned to end later
    teacher = await bearer(world.login(Role.TEACHER))
    url = f"/api/v1/visits/{visit['id']}"
    assert (await client.post(f"{url}/check-in", headers=teacher)).status_code == 200
    assert_problem(await client.put(_url(visit), json=NOTE, headers=teacher), 409)
    assert (await client.post(f"{url}/check-out", headers=teacher)).status_code == 200
    written = await client.put(_url(visit), json=NOTE, headers=teacher)
    assert written.status_code == 200, written.text
    history = await client.get(f"{url}/changes", headers=teacher)
    kinds = [c["kind"] for c in history.json()["items"]]
    assert kinds[-2:] == ["checked_in", "checked_out"]


async def test_its_author_changes_it_with_its_etag_every_version_kept_then_it_locks(
    client: httpx.AsyncClient, world: World
) -> None:
    visit = await _visited(client, world)
    teacher = await bearer(world.login(Role.TEACHER))
    first = await client.put(_url(visit), json=NOTE, headers=teacher)
    changed = NOTE | {"follow_ups": "Send the phonics leaflet"}
    assert_problem(await client.put(_url(visit), json=changed, headers=teacher), 428)
    second = await client.put(
        _url(visit), json=changed, headers=teacher | {"If-Match": first.headers["etag"]}
    )
    assert second.status_code == 200, second.text
    versions = second.json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["content"]["follow_ups"] is None
    assert versions[1]["content"]["follow_ups"] == "Send the phonics leaflet"
    stale = await client.put(
        _url(visit), json=NOTE, headers=teacher | {"If-Match": first.headers["etag"]}
    )
    assert_problem(stale, 412)

    async with db.open_session(system_scope("test: a week later")) as session:
        await session.execute(update(VisitNote).values(editable_until=utcnow()))
    locked = await client.put(
        _url(visit), json=NOTE, headers=teacher | {"If-Match": second.headers["etag"]}
    )
    assert assert_problem(locked, 409)["type"].endswith("note-locked")
    async with db.open_session(system_scope("test: versions")) as session:
        assert len(list(await session.scalars(select(VisitNoteVersion)))) == 2


async def test_only_the_adults_on_the_visit_write_and_bad_notes_are_refused_whole(
    client: httpx.AsyncClient, world: World
) -> None:
    visit = await _visited(client, world)
    # SLT see the visit but did not make it; another teacher does not see it at all.
    slt = await bearer(world.login(Role.SCHOOL_ADMIN))
    assert_problem(await client.put(_url(visit), json=NOTE, headers=slt), 403)
    stranger = await bearer(_other_teacher(world))
    assert_problem(await client.put(_url(visit), json=NOTE, headers=stranger), 404)
    other_school = await bearer(world.login(Role.SCHOOL_ADMIN, school=1))
    assert_problem(await client.put(_url(visit), json=NOTE, headers=other_school), 404)
    teacher = await bearer(world.login(Role.TEACHER))
    for body, pointer in (
        ({"interpreter_used": False}, ""),
        (NOTE | {"interpreter_language": "Urdu"}, ""),
        (NOTE | {"mood": "anxious"}, "/mood"),
        (NOTE | {"enjoys": "x" * 2001}, "/enjoys"),
    ):
        refused = assert_problem(await client.put(_url(visit), json=body, headers=teacher), 422)
        assert pointer in {e["pointer"].lstrip("#") for e in refused["errors"]}, refused
    # A child who was not on this visit.
    other_pupil = await household_of("P-4")
    url = f"/api/v1/visits/{visit['id']}/pupils/{other_pupil}/note"
    assert_problem(await client.put(url, json=NOTE, headers=teacher), 404)
    assert await _notes() == []


async def test_the_childs_teachers_slt_and_the_author_read_it_nobody_else(
    client: httpx.AsyncClient, world: World
) -> None:
    visit = await _visited(client, world)
    teacher = await bearer(world.login(Role.TEACHER))
    assistant = await bearer(world.login(Role.SUPPORT_STAFF))
    assert (await client.put(_url(visit), json=NOTE, headers=teacher)).status_code == 200
    own = NOTE | {"enjoys": "Lego"}
    assert (await client.put(_url(visit), json=own, headers=assistant)).status_code == 200
    notes_url = f"/api/v1/visits/{visit['id']}/notes"
    pupil_url = f"/api/v1/pupils/{visit['pupil_ids'][0]}/visit-notes"
    for login in (world.login(Role.TEACHER), world.login(Role.SCHOOL_ADMIN)):
        headers = await bearer(login)
        listed = await client.get(notes_url, headers=headers)
        assert listed.status_code == 200, listed.text
        assert {n["enjoys"] for n in listed.json()} == {"Dinosaurs, and drawing them", "Lego"}
        of_pupil = await client.get(pupil_url, headers=headers)
        assert of_pupil.status_code == 200, of_pupil.text
        assert len(of_pupil.json()) == 2
    # The second adult does not teach the Robins: it reads its own note, not the teacher's.
    mine = await client.get(notes_url, headers=assistant)
    assert [n["enjoys"] for n in mine.json()] == ["Lego"]
    assert_problem(await client.get(pupil_url, headers=assistant), 404)
    # The office and the DSL oversee visits, not notes; another class's teacher and another
    # school see nothing either.
    for login in (
        world.login(Role.OFFICE),
        world.login(Role.DSL),
        _other_teacher(world),
        world.login(Role.SCHOOL_ADMIN, school=1),
    ):
        headers = await bearer(login)
        assert_problem(await client.get(notes_url, headers=headers), 404)
        assert_problem(await client.get(pupil_url, headers=headers), 404)
