"""File imports through the API: uploaded, checked at once, applied by a background job with
the sync's semantics, progress readable; broken files refused whole; hostile ones refused without
unpacking them or holding up other requests."""

import asyncio
import gc
import time
import tracemalloc
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from app.core import db
from app.core.jobs import run_pending
from app.core.permissions import Role
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.roster.importing.pupil_csv import MAX_ROWS as PUPIL_LIST_MAX_ROWS
from app.roster.models import Contact, Household, Pupil, RosterImport, SchoolClass
from app.synthetic.generator import World
from tests.conftest import all_rows, assert_problem, bearer
from tests.roster.importing.bombs import MIB, Entry, deflated, zeros, zip_entries
from tests.roster.importing.bundles import (
    SCHOOL_ID,
    Bundle,
    csv_bytes,
    primary_school,
    zip_bundle,
    zip_of,
)
from tests.roster.importing.test_pupil_csv import sims_file

T = TypeVar("T")


def imports_url(world: World, school: int = 0) -> str:
    return f"/api/v1/schools/{world.trusts[0].schools[school].id}/roster-imports"


def school_bundle(world: World, version: str = "1.1") -> Bundle:
    """Oakfield's bundle as the world's first school exports it: orgs.csv gives its URN."""
    bundle = primary_school(version)
    bundle["orgs.csv"].row("sourcedId", SCHOOL_ID)["identifier"] = world.trusts[0].schools[0].urn
    return bundle


async def upload(
    client: httpx.AsyncClient,
    world: World,
    content: bytes,
    fmt: str,
    headers: dict[str, str] | None = None,
    **form: str,
) -> httpx.Response:
    headers = headers or await bearer(world.login(Role.SCHOOL_ADMIN))
    name = "bundle.zip" if fmt == "oneroster" else "pupils.csv"
    return await client.post(
        imports_url(world),
        files={"file": (name, content)},
        data={"format": fmt, **form},
        headers=headers,
    )


async def answer_times_during(
    client: httpx.AsyncClient, work: Coroutine[Any, Any, T]
) -> tuple[T, list[float]]:
    """`work`'s result, and how long each readiness request waited for its answer, one asked
    every 50 ms while `work` ran. Work that blocks the event loop makes the request (or the
    pause before it) in flight wait until it lets go, and that wait is counted."""
    await client.get("/readyz")  # its first answer reads the migrations from disk
    # A full collection owed by earlier tests stops every thread for a second on a busy machine;
    # it is taken now rather than inside the measured window.
    gc.collect()
    task = asyncio.create_task(work)
    pause = 0.05
    times: list[float] = []
    while not task.done():
        asked = time.perf_counter()
        await asyncio.sleep(pause)
        response = await client.get("/readyz")
        times.append(time.perf_counter() - asked - pause)
        assert response.status_code == 200, response.text
    return await task, times


async def stored_imports() -> int:
    async with db.open_session(system_scope("test read")) as session:
        return await session.scalar(select(func.count()).select_from(RosterImport)) or 0


async def status(client: httpx.AsyncClient, world: World, import_id: str) -> dict[str, Any]:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    response = await client.get(f"{imports_url(world)}/{import_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def table_counts() -> dict[str, int]:
    async with db.open_session(system_scope("test counts")) as session:
        return {
            model.__name__: await session.scalar(select(func.count()).select_from(model)) or 0
            for model in (SchoolClass, Household, Contact, Pupil)
        }


async def test_a_oneroster_bundle_imports_with_the_right_counts(
    client: httpx.AsyncClient, world: World
) -> None:
    for version in ("1.1", "1.2"):
        accepted = await upload(
            client, world, zip_bundle(school_bundle(world, version)), "oneroster", on_error="skip"
        )
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["status"] == "queued"
        assert await run_pending() == 1
        done = await status(client, world, accepted.json()["id"])
        assert done["status"] == "succeeded", done
        assert done["rows_done"] == done["rows_total"] == 7  # eight students, one disabled
        report = done["report"]
        counts = await table_counts()
        assert counts["SchoolClass"] == 3  # the homeroom classes
        assert counts["Pupil"] == 7
        # Khans (s1, s4), Okafor, Evans, Novak (s5, s6); s7 has no guardian so no household.
        assert counts["Household"] == 4
        assert counts["Contact"] == 5, (report["contacts"], report["rejected"])
        assert [r["pointer"] for r in report["rejected"]]  # s7's missing household is reported
        khans = await _household_of("s1"), await _household_of("s4")
        assert khans[0] is not None
        assert khans[0] == khans[1]


async def _household_of(mis_id: str) -> Any:
    async with db.open_session(system_scope("test read")) as session:
        return await session.scalar(select(Pupil.household_id).where(Pupil.mis_id == mis_id))


async def test_rejected_rows_fail_the_import_and_write_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    accepted = await upload(client, world, zip_bundle(school_bundle(world)), "oneroster")
    assert await run_pending() == 1
    done = await status(client, world, accepted.json()["id"])
    assert done["status"] == "failed"
    assert "nothing was changed" in done["error"]
    assert done["errors"]
    assert (await table_counts())["Pupil"] == 0


async def test_dry_run_reports_and_writes_nothing(client: httpx.AsyncClient, world: World) -> None:
    accepted = await upload(
        client, world, zip_bundle(school_bundle(world)), "oneroster", dry_run="true"
    )
    await run_pending()
    done = await status(client, world, accepted.json()["id"])
    assert done["status"] == "succeeded"
    assert done["dry_run"] is True
    assert done["report"]["pupils"]["created"] == 7
    assert (await table_counts())["Pupil"] == 0


async def test_broken_files_are_refused_at_once(client: httpx.AsyncClient, world: World) -> None:
    cases = [
        (b"this is not a zip", 422),
        (zip_of({"../evil.csv": b"x", "manifest.csv": b"propertyName,value\n"}), 422),
        (zip_of({"/etc/passwd": b"x"}), 422),
        (zip_of({"users.csv": b"sourcedId\n1\n"}), 422),  # no manifest
    ]
    for content, expected in cases:
        response = await upload(client, world, content, "oneroster")
        assert_problem(response, expected)
    async with db.open_session(system_scope("test read")) as session:
        assert await session.scalar(select(func.count()).select_from(RosterImport)) == 0
    assert await run_pending() == 0


async def test_an_oversize_file_is_413(client: httpx.AsyncClient, world: World) -> None:
    from app.core.settings import get_settings

    too_big = b"x" * (get_settings().max_bulk_body_bytes + 1)
    assert_problem(await upload(client, world, too_big, "pupil_csv"), 413)


async def test_a_windows_1252_pupil_list_imports(client: httpx.AsyncClient, world: World) -> None:
    accepted = await upload(
        client, world, sims_file("cp1252"), "pupil_csv", academic_year="2026/27", on_error="skip"
    )
    assert accepted.status_code == 202, accepted.text
    await run_pending()
    done = await status(client, world, accepted.json()["id"])
    assert done["status"] == "succeeded", done
    async with db.open_session(system_scope("test read")) as session:
        names = set(await session.scalars(select(Pupil.legal_first_name)))
    assert "Zoë" in names  # Windows-1252 ë, read as such


async def test_another_school_cannot_read_the_import(
    client: httpx.AsyncClient, world: World
) -> None:
    accepted = await upload(client, world, zip_bundle(school_bundle(world)), "oneroster")
    other = await bearer(world.login(Role.SCHOOL_ADMIN, school=1))
    response = await client.get(f"{imports_url(world)}/{accepted.json()['id']}", headers=other)
    assert_problem(response, 404)
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(
        await client.get(f"{imports_url(world)}/{accepted.json()['id']}", headers=teacher), 403
    )


async def _upload_as(
    client: httpx.AsyncClient, headers: dict[str, str], school: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/schools/{school.id}/roster-imports",
        files={"file": ("pupils.csv", sims_file("utf-8"))},
        data={"format": "pupil_csv", "academic_year": "2026/27"},
        headers=headers,
    )


async def test_a_school_cannot_queue_imports_without_end(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    school = world.trusts[0].schools[0]
    allowance = get_settings().jobs_max_per_school
    for _ in range(allowance):
        assert (await _upload_as(client, headers, school)).status_code == 202
    before = await all_rows()
    refused = await _upload_as(client, headers, school)
    body = assert_problem(refused, 429, "too-many-jobs")
    assert int(refused.headers["retry-after"]) > 0
    assert f"{allowance} roster.import" in body["detail"]
    assert body["under_way"] == {"roster.import": allowance}
    assert await all_rows() == before
    assert await run_pending() == allowance  # once they have run, the school may queue again
    assert (await _upload_as(client, headers, school)).status_code == 202


async def test_a_trust_cannot_queue_imports_without_end(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "jobs_max_per_trust", 2)
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    schools = world.trusts[0].schools
    for school in schools[:2]:
        assert (await _upload_as(client, headers, school)).status_code == 202
    before = await all_rows()
    refused = await _upload_as(client, headers, schools[2])
    body = assert_problem(refused, 429, "too-many-jobs")
    assert "The trust already has 2 background jobs" in body["detail"]
    assert await all_rows() == before
    other_trust = await bearer(world.login(Role.TRUST_ADMIN, trust=1))
    accepted = await _upload_as(client, other_trust, world.trusts[1].schools[0])
    assert accepted.status_code == 202, accepted.text


# --- hostile files ------------------------------------------------------------------------------


def _with_users(world: World, users: Entry) -> bytes:
    """The school's bundle with `users` in place of its users.csv."""
    files = {name: csv_bytes(table) for name, table in school_bundle(world).items()}
    entries = [deflated(name, content) for name, content in files.items() if name != "users.csv"]
    return zip_entries([*entries, users])


USERS_HEADER = csv_bytes(primary_school()["users.csv"]).split(b"\r\n")[0] + b"\r\n"
BOMBS: dict[str, tuple[Callable[[], Entry], int]] = {
    # Within the old 200 MB cap on declared bytes, so it used to be unpacked at upload.
    "190 MiB of zeros": (lambda: zeros("users.csv", 190, head=USERS_HEADER), 413),
    "1 GiB of zeros": (lambda: zeros("users.csv", 1024, head=USERS_HEADER), 413),
    "1 GiB declared as 10 kB": (
        lambda: zeros("users.csv", 1024, head=USERS_HEADER, declared=10_000),
        422,
    ),
}


@pytest.mark.parametrize("bomb", BOMBS)
async def test_a_zip_bomb_is_refused_without_unpacking_it_or_holding_up_other_requests(
    client: httpx.AsyncClient, world: World, bomb: str
) -> None:
    build, status = BOMBS[bomb]
    data = _with_users(world, build())
    assert len(data) < 2 * MIB
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    # A route's first request has FastAPI build its state (half a second here): not measured.
    assert_problem(await upload(client, world, b"", "oneroster", headers), 422)

    tracemalloc.start()
    try:
        work = upload(client, world, data, "oneroster", headers)
        response, waits = await answer_times_during(client, work)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert max(waits) < 1, waits
    assert peak < 64 * MIB, f"{peak:,} bytes at the peak"
    body = assert_problem(response, status)
    assert "users.csv" in body["detail"]
    assert await stored_imports() == 0
    assert await run_pending() == 0


async def test_a_file_over_the_row_cap_fails_its_import_without_holding_up_other_requests(
    client: httpx.AsyncClient, world: World
) -> None:
    # Cheap to check at upload (its header row is right); only the job, reading it in a thread,
    # finds that it holds more rows than a school's roster could.
    row = sims_file().split(b"\r\n")[1]
    data = sims_file() + (row + b"\r\n") * PUPIL_LIST_MAX_ROWS
    accepted = await upload(client, world, data, "pupil_csv", academic_year="2026/27")
    assert accepted.status_code == 202, accepted.text

    ran, waits = await answer_times_during(client, run_pending())
    assert ran == 1

    assert max(waits) < 1, waits
    done = await status(client, world, accepted.json()["id"])
    assert done["status"] == "failed"
    assert "The pupil list has more than 20,000 rows" in done["error"]
    assert (await table_counts())["Pupil"] == 0


async def test_another_schools_bundle_is_refused(client: httpx.AsyncClient, world: World) -> None:
    other_urn = world.trusts[0].schools[1].urn
    bundle = school_bundle(world)
    bundle["orgs.csv"].row("sourcedId", SCHOOL_ID)["identifier"] = other_urn

    response = await upload(client, world, zip_bundle(bundle), "oneroster")

    body = assert_problem(response, 422, "roster-import-other-school")
    assert world.trusts[0].schools[0].urn in body["detail"]
    assert f"URN {other_urn}" in body["detail"]
    mismatched = await upload(
        client, world, zip_bundle(school_bundle(world)), "oneroster", school_urn=other_urn
    )
    assert other_urn in assert_problem(mismatched, 422)["detail"]
    assert await stored_imports() == 0
    assert await run_pending() == 0
    assert (await table_counts())["Pupil"] == 0


@pytest.mark.parametrize(
    "mapping",
    [
        "[" * 5_000 + "]" * 5_000,
        '{"contacts": [{"name": [["Contact 1 Name"]]}]}',
        '{"upn": ' + "[" * 9_000 + "]" * 9_000 + "}",
    ],
)
async def test_a_mapping_nested_too_deep_is_a_422(
    client: httpx.AsyncClient, world: World, mapping: str
) -> None:
    response = await upload(client, world, sims_file(), "pupil_csv", mapping=mapping)

    body = assert_problem(response, 422)
    assert "at most 4 levels deep and 20,000 characters long" in body["detail"]
    assert await stored_imports() == 0


async def test_a_mapping_four_levels_deep_is_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    mapping = '{"contacts": [{"name": ["Contact 1 Name"], "mobile": ["Contact 1 Mobile"]}]}'

    response = await upload(client, world, sims_file(), "pupil_csv", mapping=mapping)

    assert response.status_code == 202, response.text


async def test_a_pupil_list_without_a_mapped_column_is_refused_at_once(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await upload(
        client, world, sims_file(), "pupil_csv", mapping='{"free_school_meals": "FSM Eligible"}'
    )

    assert (
        "'FSM Eligible'" in assert_problem(response, 422, "roster-import-missing-columns")["detail"]
    )
    assert await stored_imports() == 0
