"""A child protection file's review date (date of birth + the trust's years), its legal hold,
and the review command, which lists what is due, skips files on hold and deletes nothing."""

import json
from datetime import date
from uuid import UUID

import httpx
from sqlmodel import col, func, select

from app.cli import review_listing
from app.core import db
from app.core.audit import AuditEntry
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.safeguarding.files import due_for_review, review_date
from app.safeguarding.models import Concern
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.safeguarding.helpers import a_roster, concern_body
from tests.visits.helpers import pupil_of

HOLD = {"on_hold": True, "reason": "Held for the county court: case 4821"}


async def _raise_about(client: httpx.AsyncClient, world: World, *pupil_ids: str) -> None:
    url = f"/api/v1/schools/{world.trusts[0].schools[0].id}/concerns"
    teacher = await bearer(world.login(Role.TEACHER))
    for pupil_id in pupil_ids:
        raised = await client.post(url, json=concern_body(pupil_id, "routine"), headers=teacher)
        assert raised.status_code == 201, raised.text


async def _actions(pupil_id: str) -> list[str]:
    async with db.open_session(system_scope("test: the audit log")) as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .where(col(AuditEntry.subject_id) == UUID(pupil_id))
            .order_by(col(AuditEntry.at))
        )
        return list(rows)


def test_the_review_date_is_the_birthday_the_trusts_years_on() -> None:
    assert review_date(date(2021, 10, 1), 25) == date(2046, 10, 1)
    assert review_date(date(2020, 2, 29), 25) == date(2045, 2, 28)
    assert review_date(date(2020, 2, 29), 28) == date(2048, 2, 29)


async def test_the_file_carries_its_review_date_from_the_trusts_setting(
    client: httpx.AsyncClient, world: World
) -> None:
    pupil_id = await a_roster(world)  # P-1, born 2021-10-01
    await _raise_about(client, world, pupil_id)
    dsl = await bearer(world.login(Role.DSL))
    url = f"/api/v1/pupils/{pupil_id}/protection-file"
    file = (await client.get(url, headers=dsl)).json()
    assert (file["review_date"], file["on_hold"], len(file["concerns"])) == ("2046-10-01", False, 1)

    trust_url = f"/api/v1/trusts/{world.trusts[0].trust.id}"
    admin = await bearer(world.login(Role.TRUST_ADMIN))
    changed = await client.patch(
        trust_url, json={"safeguarding_review_years": 30}, headers=admin | {"If-Match": "*"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["safeguarding_review_years"] == 30
    assert (await client.get(url, headers=dsl)).json()["review_date"] == "2051-10-01"
    assert "safeguarding.file_read" in await _actions(pupil_id)


async def test_a_legal_hold_is_set_with_its_reason_and_lifted_by_dsls_only(
    client: httpx.AsyncClient, world: World
) -> None:
    pupil_id = await a_roster(world)
    await _raise_about(client, world, pupil_id)
    url = f"/api/v1/pupils/{pupil_id}/protection-file/legal-hold"
    dsl = await bearer(world.login(Role.DSL))
    assert_problem(await client.put(url, json={"on_hold": True}, headers=dsl), 422)
    for role, school in ((Role.TEACHER, 0), (Role.SCHOOL_ADMIN, 0), (Role.DSL, 1)):
        other = await bearer(world.login(role, school=school))
        assert_problem(await client.put(url, json=HOLD, headers=other), 404)
        assert_problem(
            await client.get(f"/api/v1/pupils/{pupil_id}/protection-file", headers=other), 404
        )
    held = await client.put(url, json=HOLD, headers=dsl)
    assert held.status_code == 200, held.text
    assert (held.json()["on_hold"], held.json()["hold_reason"]) == (True, HOLD["reason"])
    file = (await client.get(f"/api/v1/pupils/{pupil_id}/protection-file", headers=dsl)).json()
    assert file["on_hold"] is True
    lifted = await client.put(url, json={"on_hold": False}, headers=dsl)
    assert (lifted.json()["on_hold"], lifted.json()["hold_reason"]) == (False, None)
    actions = await _actions(pupil_id)
    assert actions.count("safeguarding.legal_hold_set") == 1
    assert actions.count("safeguarding.legal_hold_lifted") == 1


async def test_the_review_lists_files_due_skips_those_on_hold_and_deletes_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    due_one = await a_roster(world)  # born 2021-10-01: due 2046-10-01
    held_one = await pupil_of("P-2")  # born 2018-02-11: due 2043-02-11
    not_yet = await pupil_of("P-3")  # born 2018-05-30: due 2043-05-30
    await _raise_about(client, world, due_one, held_one, not_yet)
    dsl = await bearer(world.login(Role.DSL))
    held = await client.put(
        f"/api/v1/pupils/{held_one}/protection-file/legal-hold", json=HOLD, headers=dsl
    )
    assert held.status_code == 200, held.text

    assert await due_for_review(date(2043, 3, 1)) != []
    found = await due_for_review(date(2043, 5, 29), world.trusts[0].trust.id)
    assert [(str(f.pupil_id), f.on_hold) for f in found] == [(held_one, True)]
    found = await due_for_review(date(2046, 10, 1))
    listing = review_listing(found, date(2046, 10, 1), as_json=True)
    assert held_one not in listing
    (trust,) = json.loads(listing)["trusts"]
    assert trust["held"] == 1
    assert {f["pupil_id"] for f in trust["due"]} == {due_one, not_yet}
    assert "review date 2046-10-01" in review_listing(found, date(2046, 10, 1), as_json=False)
    assert await due_for_review(date(2043, 2, 10)) == []
    async with db.open_session(system_scope("test: nothing deleted")) as session:
        assert await session.scalar(select(func.count()).select_from(Concern)) == 3
