"""Text the databases cannot store (NUL, unpaired surrogates) is refused with 422 wherever it
comes in, naming the place and never the value, and nothing is written. On PostgreSQL it was a
500 whose log carried the row; SQLite stored it."""

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from app.core import db
from app.core.permissions import Role
from app.core.storable import unstorable_in
from app.core.tenancy import system_scope
from app.parents.answers_models import HouseholdAnswer
from app.roster.models import RosterImport
from app.synthetic.generator import World
from tests.conftest import all_rows, assert_problem, bearer, load_roster
from tests.parents.helpers import a_collecting_programme, answer_url, household_of, parent_bearer
from tests.roster.importing.test_pupil_csv import sims_file
from tests.roster.snapshots import small_snapshot
from tests.roster.test_imports import imports_url
from tests.roster.test_sync import roster_url

JSON = {"Content-Type": "application/json"}


def refused_at(response: httpx.Response, *pointers: str) -> dict[str, Any]:
    body = assert_problem(response, 422, "validation-error")
    # A body field by its pointer; a query or path parameter, which is not in the body, by name.
    found = [e.get("pointer") or f"{e['in']} {e['parameter']}" for e in body["errors"]]
    assert found == list(pointers)
    assert all("cannot be stored" in e["detail"] for e in body["errors"])
    return body


@pytest.fixture
async def parent(world: World) -> tuple[str, dict[str, str]]:
    await load_roster(world, small_snapshot(world))
    programme_id = await a_collecting_programme(world)
    home = await household_of("P-1")
    return answer_url(str(programme_id), home), await parent_bearer(programme_id, home)


async def answer_count() -> int:
    async with db.open_session(system_scope("test count")) as session:
        return await session.scalar(select(func.count()).select_from(HouseholdAnswer)) or 0


async def test_a_nul_in_a_pupils_name_refuses_the_snapshot_and_writes_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    snapshot = small_snapshot(world)
    snapshot["pupils"][1]["legal_first_name"] = "Zephyr\x00ine"
    before = await all_rows()
    response = await client.put(roster_url(world), json=snapshot, headers=headers)
    refused_at(response, "#/pupils/1/legal_first_name")
    assert "Zephyr" not in response.text
    assert await all_rows() == before


async def test_a_nul_in_a_parents_notes_refuses_the_answer_and_writes_nothing(
    client: httpx.AsyncClient, parent: tuple[str, dict[str, str]]
) -> None:
    url, headers = parent
    before = await all_rows()
    response = await client.put(
        url, json={"notes_for_visitors": "Mum works nights\x00, ring first"}, headers=headers
    )
    refused_at(response, "#/notes_for_visitors")
    assert "nights" not in response.text
    assert await all_rows() == before
    accepted = await client.put(url, json={"notes_for_visitors": "Ring first"}, headers=headers)
    assert accepted.status_code == 200, accepted.text


async def test_an_unpaired_surrogate_is_refused_and_a_pair_accepted(
    client: httpx.AsyncClient, parent: tuple[str, dict[str, str]]
) -> None:
    url, headers = parent
    lone = b'{"notes_for_visitors": "ring \\uD83D first", "accessibility": "step \\udc00"}'
    response = await client.put(url, content=lone, headers=headers | JSON)
    refused_at(response, "#/notes_for_visitors", "#/accessibility")
    assert await answer_count() == 0
    # An emoji as JSON escapes it (a surrogate pair), and an escaped backslash before "u0000",
    # are both text a database stores.
    fine = b'{"notes_for_visitors": "ring first \\ud83d\\ude00", "accessibility": "C:\\\\u0000"}'
    accepted = await client.put(url, content=fine, headers=headers | JSON)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["notes_for_visitors"] == "ring first \U0001f600"
    assert accepted.json()["accessibility"] == "C:\\u0000"


async def test_a_nul_in_a_query_or_path_parameter_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    response = await client.get("/api/v1/audit-events?action=login%00", headers=headers)
    refused_at(response, "query action")
    school = world.trusts[0].schools[0].id
    response = await client.get(f"/api/v1/schools/{school}%00", headers=headers)
    refused_at(response, "path school_id")


async def test_a_nul_in_a_form_field_is_refused(client: httpx.AsyncClient, world: World) -> None:
    login = world.login(Role.OFFICE)
    response = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": login.email + "\x00", "password": "x"},
    )
    refused_at(response, "#/username")


async def test_a_csv_upload_with_a_nul_in_a_cell_is_refused_at_once(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    lines = sims_file().split(b"\r\n")
    lines[2] = lines[2].replace(b",", b"\x00,", 1)  # the end of the first cell of a pupil's row
    response = await client.post(
        imports_url(world),
        files={"file": ("pupils.csv", b"\r\n".join(lines))},
        data={"format": "pupil_csv"},
        headers=headers,
    )
    body = assert_problem(response, 422, "roster-import-unreadable-csv")
    assert "line 3" in body["detail"]
    assert "cannot be stored" in body["detail"]
    async with db.open_session(system_scope("test count")) as session:
        assert await session.scalar(select(func.count()).select_from(RosterImport)) == 0


async def test_a_nul_in_an_uploads_column_mapping_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    # The form field is storable text; the JSON document in it decodes to a NUL.
    mapping = json.dumps({"upn": "UPN\x00"})
    assert "\x00" not in mapping
    response = await client.post(
        imports_url(world),
        files={"file": ("pupils.csv", sims_file())},
        data={"format": "pupil_csv", "mapping": mapping},
        headers=headers,
    )
    refused_at(response, "#/mapping/upn")


def test_every_unstorable_string_and_key_is_located_in_document_order() -> None:
    value = {"a": ["ok", "x\x00"], "b\x00": {"c": "\ud800", "d": 1}, "e": "\ufffd fine"}
    assert list(unstorable_in(value, ("body",))) == [
        ("body", "a", 1),
        ("body", "b\ufffd"),
        ("body", "b\ufffd", "c"),
    ]
