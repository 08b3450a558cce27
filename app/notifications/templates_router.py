"""The trust's wording of its messages, in every language it writes to families in."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from app.core.auth import require
from app.core.concurrency import IfMatch
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.permissions import Permission as P
from app.core.principal import Principal
from app.notifications import templates
from app.notifications.models import MessageChannel, MessageKind
from app.notifications.templates_schemas import (
    PreviewRead,
    PreviewRequest,
    TemplateRead,
    TemplateWrite,
)
from app.notifications.wording import LANGUAGE_SHAPE

router = APIRouter(
    prefix="/trusts/{trust_id}/message-templates",
    tags=["messages"],
    route_class=IdempotentRoute,
)

Reader = Annotated[Principal, require(P.MESSAGES_TEMPLATES_READ)]
Writer = Annotated[Principal, require(P.MESSAGES_TEMPLATES)]
Language = Annotated[
    str,
    Path(
        pattern=LANGUAGE_SHAPE,
        description="ISO 639-1 code (cy, pl, ur), or ISO 639-3 for a language without one (yue).",
        examples=["cy"],
    ),
]
ONE = "/{kind}/{channel}/{language}"


def _target(
    trust_id: UUID, kind: MessageKind, channel: MessageChannel, language: str
) -> templates.Target:
    return templates.Target(trust_id=trust_id, kind=kind, channel=channel, language=language)


@router.get(
    "",
    summary="The trust's wording of every message, and the English defaults where it has none",
)
async def list_templates(
    trust_id: UUID,
    session: SessionDep,
    who: Reader,
    kind: Annotated[MessageKind | None, Query()] = None,
    channel: Annotated[MessageChannel | None, Query()] = None,
) -> list[TemplateRead]:
    return await templates.list_templates(session, who, trust_id, kind, channel)


@router.get(ONE, summary="One wording: the trust's own, or what would be sent instead")
async def get_template(
    trust_id: UUID,
    kind: MessageKind,
    channel: MessageChannel,
    language: Language,
    session: SessionDep,
    response: Response,
    who: Reader,
) -> TemplateRead:
    read, tag = await templates.get_template(
        session, who, _target(trust_id, kind, channel, language)
    )
    response.headers["ETag"] = tag
    return read


@router.put(
    ONE,
    summary="Write the trust's wording (trust admins); placeholders are checked against the kind",
    responses={422: {"description": "An unknown or missing placeholder, or a text too long"}},
)
async def save_template(
    trust_id: UUID,
    kind: MessageKind,
    channel: MessageChannel,
    language: Language,
    body: TemplateWrite,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Writer,
) -> TemplateRead:
    read, tag = await templates.save_template(
        session, who, _target(trust_id, kind, channel, language), body, if_match
    )
    response.headers["ETag"] = tag
    return read


@router.delete(
    ONE,
    summary="Return to the default: remove the trust's own wording (trust admins)",
    description="Answers the wording now in force: the trust's English, else the default.",
)
async def delete_template(
    trust_id: UUID,
    kind: MessageKind,
    channel: MessageChannel,
    language: Language,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: Writer,
) -> TemplateRead:
    read, tag = await templates.delete_template(
        session, who, _target(trust_id, kind, channel, language), if_match
    )
    response.headers["ETag"] = tag
    return read


@router.post(
    ONE + "/preview",
    status_code=200,
    summary="Preview a wording with sample values (creates nothing)",
    description="Without a body, the wording a family in this language would be sent now; with "
    "one, those words, checked as a save would check them.",
)
async def preview_template(
    trust_id: UUID,
    kind: MessageKind,
    channel: MessageChannel,
    language: Language,
    session: SessionDep,
    who: Reader,
    body: PreviewRequest | None = None,
) -> PreviewRead:
    return await templates.preview(session, who, _target(trust_id, kind, channel, language), body)
