"""A concern raised through the API, about a pupil of the home school's roster."""

from typing import Any

import httpx
from sqlmodel import col, select

from app.core import db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.notifications.models import Message, MessageKind
from app.synthetic.generator import World
from tests.conftest import bearer, load_roster
from tests.roster.snapshots import small_snapshot
from tests.visits.helpers import pupil_of

ACCOUNT = "Bruising on both forearms; said a grown-up at home grabbed him."


def concern_body(pupil_id: str, urgency: str = "urgent") -> dict[str, Any]:
    return {
        "pupils": [{"pupil_id": pupil_id, "role": "subject"}],
        "category": "physical",
        "urgency": urgency,
        "account": ACCOUNT,
        "occurred_at": "2026-09-08T10:40:00+01:00",
        "place": "The family's kitchen, during the home visit",
        "said": "Pupil: 'Dad grabbed me when I spilt the milk.'",
        "action_taken": "None beyond telling the DSL.",
    }


async def a_roster(world: World) -> str:
    """The home school's roster loaded; the id of its pupil P-1."""
    await load_roster(world, small_snapshot(world))
    return await pupil_of("P-1")


async def raise_one(
    client: httpx.AsyncClient, world: World, urgency: str = "urgent", by: Role = Role.TEACHER
) -> dict[str, Any]:
    pupil_id = await a_roster(world)
    school_id = world.trusts[0].schools[0].id
    raised = await client.post(
        f"/api/v1/schools/{school_id}/concerns",
        json=concern_body(pupil_id, urgency),
        headers=await bearer(world.login(by)),
    )
    assert raised.status_code == 201, raised.text
    body: dict[str, Any] = raised.json()
    return body


async def alerts_written() -> list[Message]:
    async with db.open_session(system_scope("test: the outbox")) as session:
        rows = await session.scalars(
            select(Message)
            .where(col(Message.kind) == MessageKind.SAFEGUARDING_CONCERN)
            .order_by(col(Message.created_at), col(Message.recipient_id))
        )
        return list(rows)
