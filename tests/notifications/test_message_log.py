"""The log of what would have been sent: readable by those who set up the trust's or school's
messaging, at their schools, and not at all in production."""

from uuid import UUID, uuid4

import httpx
import pytest

from app.core import db
from app.core.permissions import Role
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.notifications.models import LoggedMessage, Message, MessageChannel
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.notifications.helpers import Issued, issued

LOG = "/api/v1/messages/log"


async def _log(state: Issued, world: World) -> dict[str, UUID]:
    """As the worker in `log` mode writes them: one row per message sent."""
    ids = {}
    async with db.open_session(system_scope("test: the worker logged them")) as session:
        for sent in (state.sms, state.letter):
            found = await session.get(Message, sent.id)
            assert found is not None
            row = LoggedMessage(
                trust_id=found.trust_id,
                school_id=found.school_id,
                message_id=found.id,
                channel=MessageChannel.SMS,
                to="+447911123456",
                language="en",
                body=f"Hello {sent.household_id}",
            )
            session.add(row)
            ids[str(sent.household_id)] = row.id
    return ids


async def test_admins_read_what_would_have_been_sent(
    client: httpx.AsyncClient, world: World
) -> None:
    state = await issued(client, world)
    logged = await _log(state, world)
    for role in (Role.TRUST_ADMIN, Role.SCHOOL_ADMIN):
        answer = await client.get(LOG, headers=await bearer(world.login(role)))
        assert answer.status_code == 200, answer.text
        assert {i["id"] for i in answer.json()["items"]} == {str(i) for i in logged.values()}
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    one = await client.get(LOG, params={"household_id": str(state.khans)}, headers=admin)
    assert [i["body"] for i in one.json()["items"]] == [f"Hello {state.khans}"]
    by_message = await client.get(LOG, params={"message_id": str(state.letter.id)}, headers=admin)
    assert [i["message_id"] for i in by_message.json()["items"]] == [str(state.letter.id)]
    by_programme = await client.get(LOG, params={"programme_id": str(uuid4())}, headers=admin)
    assert by_programme.json()["items"] == []
    # Another school's admin, and another trust's, see none of it.
    for other in (world.login(Role.SCHOOL_ADMIN, school=1), world.login(Role.TRUST_ADMIN, trust=1)):
        answer = await client.get(LOG, headers=await bearer(other))
        assert answer.status_code == 200, answer.text
        assert answer.json()["items"] == []


async def test_a_teacher_and_the_office_are_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    for role in (Role.TEACHER, Role.OFFICE):
        assert_problem(await client.get(LOG, headers=await bearer(world.login(role))), 403)


async def test_there_is_no_log_in_production(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = await issued(client, world)
    await _log(state, world)
    admin = await bearer(world.login(Role.TRUST_ADMIN))
    monkeypatch.setattr(get_settings(), "environment", "production")
    assert_problem(await client.get(LOG, headers=admin), 404)
