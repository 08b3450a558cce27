"""Letters for the families nothing else reaches: a page per household with its code, a CSV for
a mail merge safe to open in a spreadsheet, every listing audited, and marking them posted."""

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import col, update

from app.core import db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.notifications.models import MessageStatus
from app.roster.models import Household
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.notifications.helpers import Issued, issued, message


async def _code(client: httpx.AsyncClient, world: World, state: Issued) -> dict[str, Any]:
    office = await bearer(world.login(Role.OFFICE))
    url = f"/api/v1/programmes/{state.programme_id}/households/{state.browns}/invitation"
    answer = await client.get(url, headers=office)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def _audited(client: httpx.AsyncClient, world: World, action: str) -> list[str]:
    trust_admin = await bearer(world.login(Role.TRUST_ADMIN))
    answer = await client.get(
        "/api/v1/audit-events", params={"action": action}, headers=trust_admin
    )
    assert answer.status_code == 200, answer.text
    return [e["subject_id"] for e in answer.json()["items"]]


async def test_a_printable_page_per_household_with_its_code(
    client: httpx.AsyncClient, world: World
) -> None:
    state = await issued(client, world)
    office = await bearer(world.login(Role.OFFICE))
    answer = await client.get(f"/api/v1/programmes/{state.programme_id}/letters", headers=office)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["letters-listed-at"]
    page = answer.text
    # Only the Browns: the Khans are texted.
    assert page.count('<section class="letter"') == 1
    assert "page-break-after: always" in page
    school = world.trusts[0].schools[0].name
    assert school in page
    assert "The parent or carer of Sam Brown" in page
    assert "3 Castle View" in page
    assert "ME1 1AA" in page
    code = await _code(client, world, state)
    assert code["code"] in page
    assert code["link"] in page
    assert code["delivery"]["summary"] == "letter to post"
    assert "Khan" not in page
    assert await _audited(client, world, "invitation.letter_printed") == [str(state.browns)]


async def test_the_mail_merge_csv_and_its_cells_are_safe(
    client: httpx.AsyncClient, world: World
) -> None:
    state = await issued(client, world)
    async with db.open_session(system_scope("test: a hostile address")) as session:
        await session.execute(
            update(Household)
            .where(col(Household.id) == state.browns)
            .values(address_line1='=HYPERLINK("http://evil.example","x")')
        )
    office = await bearer(world.login(Role.OFFICE))
    answer = await client.get(
        f"/api/v1/programmes/{state.programme_id}/letters.csv", headers=office
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == [
        "household_reference",
        "addressee",
        "address_line1",
        "address_line2",
        "town",
        "postcode",
        "code",
        "link",
        "language",
        "message_id",
    ]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["address_line1"].startswith("'=HYPERLINK")
    assert row["addressee"] == "The parent or carer of Sam Brown"
    assert row["postcode"] == "ME1 1AA"
    assert row["code"] == (await _code(client, world, state))["code"]
    # Zoë Brown's language is Polish; with no Polish wording the letter is in English.
    assert row["language"] == "en"
    assert row["message_id"] == str(state.letter.id)
    assert await _audited(client, world, "invitation.letter_exported") == [str(state.browns)]


async def test_letters_marked_posted_leave_the_list(
    client: httpx.AsyncClient, world: World
) -> None:
    state = await issued(client, world)
    office = await bearer(world.login(Role.OFFICE))
    base = f"/api/v1/programmes/{state.programme_id}/letters"
    # A list printed before the letter was written does not mark it posted.
    earlier = (utcnow() - timedelta(hours=1)).isoformat()
    none = await client.post(
        base + "/posted", json={"all_listed": True, "listed_at": earlier}, headers=office
    )
    assert none.status_code == 200, none.text
    assert none.json() == {"posted": 0}
    for bad in (
        {},
        {"all_listed": True},
        {"message_ids": [str(state.letter.id)], "all_listed": True},
    ):
        assert_problem(await client.post(base + "/posted", json=bad, headers=office), 422)
    # The text message is not a letter: naming it posts nothing.
    posted = await client.post(
        base + "/posted",
        json={"message_ids": [str(state.letter.id), str(state.sms.id)]},
        headers=office,
    )
    assert posted.json() == {"posted": 1}
    letter = await message(state.letter.id)
    assert letter.status is MessageStatus.SENT
    assert letter.sent_at is not None
    assert (await message(state.sms.id)).status is MessageStatus.CREATED
    listed = await client.get(base, headers=office)
    assert "There are no letters to post." in listed.text
    assert (await _code(client, world, state))["delivery"]["summary"] == "letter posted"
    assert await _audited(client, world, "letters.posted") != []
    unreached = await client.get(
        f"/api/v1/programmes/{state.programme_id}/unreached-households", headers=office
    )
    assert unreached.json() == []


async def test_only_the_schools_chasers_with_contact_details_read_letters(
    client: httpx.AsyncClient, world: World
) -> None:
    state = await issued(client, world)
    for path in ("letters", "letters.csv"):
        url = f"/api/v1/programmes/{state.programme_id}/{path}"
        other = await bearer(world.login(Role.OFFICE, school=1))
        assert_problem(await client.get(url, headers=other), 404)
        teacher = await bearer(world.login(Role.TEACHER))
        assert_problem(await client.get(url, headers=teacher), 403)
        dsl = await bearer(world.login(Role.DSL))
        assert_problem(await client.get(url, headers=dsl), 403)
    other = await bearer(world.login(Role.OFFICE, school=1))
    refused = await client.post(
        f"/api/v1/programmes/{state.programme_id}/letters/posted",
        json={"message_ids": [str(state.letter.id)]},
        headers=other,
    )
    assert_problem(refused, 404)
    assert (await message(state.letter.id)).status is MessageStatus.CREATED
    assert await _audited(client, world, "invitation.letter_printed") == []
