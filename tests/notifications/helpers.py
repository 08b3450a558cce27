"""A programme whose invitations have been issued: the Khans (F-1) are texted, the Browns (F-2)
get a letter (Zoë Brown never agreed to texts and has no email)."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select, update

from app.core import db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.notifications.models import Message, MessageStatus
from app.parents.models import Invitation
from app.synthetic.generator import World
from tests.conftest import bearer
from tests.parents.helpers import collecting_programme, household_of

TOKEN = "notify-callback-token-for-tests"
RECEIPTS = "/api/v1/notify/delivery-receipts"


@dataclass(frozen=True)
class Issued:
    programme: dict[str, Any]
    khans: UUID
    browns: UUID
    sms: Message
    letter: Message

    @property
    def programme_id(self) -> str:
        return str(self.programme["id"])


async def issued(
    client: httpx.AsyncClient, world: World, programme: dict[str, Any] | None = None
) -> Issued:
    programme = programme or await collecting_programme(client, world)
    office = await bearer(world.login(Role.OFFICE))
    answer = await client.post(f"/api/v1/programmes/{programme['id']}/invitations", headers=office)
    assert answer.status_code == 200, answer.text
    khans, browns = await household_of("P-1"), await household_of("P-4")
    by_household = {m.household_id: m for m in await messages()}
    return Issued(programme, khans, browns, by_household[khans], by_household[browns])


async def messages() -> list[Message]:
    async with db.open_session(system_scope("test: read the outbox")) as session:
        return list((await session.scalars(select(Message).order_by(col(Message.id)))).all())


async def message(message_id: UUID) -> Message:
    async with db.open_session(system_scope("test: read a message")) as session:
        found = await session.get(Message, message_id)
    assert found is not None
    return found


async def invitation(invitation_id: UUID) -> Invitation:
    async with db.open_session(system_scope("test: read an invitation")) as session:
        found = await session.get(Invitation, invitation_id)
    assert found is not None
    return found


async def mark_sent(message_id: UUID, notify_id: str) -> None:
    """As the worker leaves a message Notify accepted."""
    async with db.open_session(system_scope("test: the worker sent it")) as session:
        await session.execute(
            update(Message)
            .where(col(Message.id) == message_id)
            .values(status=MessageStatus.SENT, notify_id=notify_id, sent_at=utcnow(), attempts=1)
        )


def receipt(message: Message, status: str, **fields: Any) -> dict[str, Any]:
    """Notify's callback body, as its documentation gives it."""
    return {
        "id": message.notify_id or "740e5834-3a29-46b4-9a6f-16142fde533a",
        "reference": str(message.id),
        "to": "07911123456",
        "status": status,
        "created_at": "2026-07-01T10:00:00.000000Z",
        "completed_at": "2026-07-01T10:00:05.000000Z",
        "sent_at": "2026-07-01T10:00:01.000000Z",
        "notification_type": "sms",
        "template_id": "f33517ff-2a88-4f6e-b855-c550268ce08a",
        "template_version": 1,
    } | fields


def notify_headers(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
