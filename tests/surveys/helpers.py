"""A published programme in the field, its visits recorded, and the surveys' rows as stored."""

from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select

from app.core import db
from app.core.permissions import Role
from app.core.sealing import unseal
from app.core.tenancy import system_scope
from app.notifications.models import Message, MessageKind
from app.parents.models import Invitation
from app.surveys.models import SurveyAudience, SurveyInvitation, SurveyResponse
from app.synthetic.generator import World
from tests.conftest import bearer
from tests.parents.helpers import household_of, parent_headers
from tests.visits.helpers import published_programme, pupil_of, visit_begun


async def in_the_field(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """The published programme (two families, each visited by the home teacher and the support
    assistant), with each family's visit by its home pupil: `f1` (P-1's) and `f2` (P-3's)."""
    programme = await published_programme(client, world)
    p1, p3 = await pupil_of("P-1"), await pupil_of("P-3")
    by_pupil = {pupil: visit for visit in programme["visits"] for pupil in visit["pupil_ids"]}
    return programme | {"f1": by_pupil[p1], "f2": by_pupil[p3]}


async def record(
    client: httpx.AsyncClient, world: World, visit: dict[str, Any], outcome: str = "completed"
) -> None:
    await visit_begun(visit["id"])
    body: dict[str, Any] = {"outcome": outcome}
    if outcome != "completed":
        body["reason"] = "Nobody was in"
    recorded = await client.post(
        f"/api/v1/visits/{visit['id']}/outcome",
        json=body,
        headers=await bearer(world.login(Role.TEACHER)),
    )
    assert recorded.status_code == 200, recorded.text


async def invitations(audience: SurveyAudience | None = None) -> list[SurveyInvitation]:
    async with db.open_session(system_scope("test: surveys issued")) as session:
        statement = select(SurveyInvitation).order_by(col(SurveyInvitation.issued_at))
        if audience is not None:
            statement = statement.where(col(SurveyInvitation.audience) == audience)
        return list(await session.scalars(statement))


async def responses() -> list[SurveyResponse]:
    async with db.open_session(system_scope("test: responses stored")) as session:
        return list(await session.scalars(select(SurveyResponse)))


async def survey_messages(kind: MessageKind) -> list[Message]:
    async with db.open_session(system_scope("test: survey messages")) as session:
        found = await session.scalars(
            select(Message).where(col(Message.kind) == kind).order_by(col(Message.created_at))
        )
        return list(found)


async def programme_messages(programme_id: str) -> list[Message]:
    """The messages counted against the programme's daily cap."""
    async with db.open_session(system_scope("test: the programme's messages")) as session:
        found = await session.scalars(
            select(Message).where(col(Message.programme_id) == UUID(programme_id))
        )
        return list(found)


async def family_headers(
    client: httpx.AsyncClient, programme_id: str, pupil_mis_id: str
) -> dict[str, str]:
    """A parent of the pupil's household signed in to the portal with the household's live
    code (the one the survey's message carries)."""
    household = await household_of(pupil_mis_id)
    async with db.open_session(system_scope("test: the family's code")) as session:
        sealed = await session.scalar(
            select(Invitation.code_sealed).where(
                col(Invitation.household_id) == household,
                col(Invitation.programme_id) == UUID(programme_id),
                col(Invitation.revoked_at).is_(None),
            )
        )
    code = unseal(sealed) if sealed else None
    assert code is not None, "the household was given a portal code"
    return await parent_headers(client, code)


def teacher_id(world: World) -> UUID:
    staff_id = world.login(Role.TEACHER).staff_id
    assert staff_id is not None
    return staff_id
