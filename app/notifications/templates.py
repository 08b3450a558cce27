"""A trust's wording of its messages: what it has written, the defaults where it has not, saving
(each placeholder checked against what its kind provides), returning to the default, and
previews with sample values.

A template is the trust's, not a school's: every school of the trust writes to its families in
the same words. The resource for (kind, channel, language) always exists: without the trust's
own wording it answers what would be sent instead (the trust's English, else the default).
"""

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.concurrency import ensure_current, ensure_matches, etag, etag_of, save_versioned
from app.core.errors import NotFound, Unprocessable, json_pointer
from app.core.permissions import Permission
from app.core.principal import Principal
from app.notifications import templates_repository
from app.notifications.models import MessageChannel, MessageKind, MessageTemplate
from app.notifications.rendering import forget_wordings
from app.notifications.templates_schemas import (
    PreviewRead,
    PreviewRequest,
    SmsLengthRead,
    TemplateRead,
    TemplateWrite,
    WordingSource,
)
from app.notifications.wording import (
    ENGLISH,
    PLACEHOLDERS,
    REQUIRED,
    SAMPLES,
    SMS_MAX_CHARACTERS,
    Wording,
    channels_for,
    default_wording,
    missing_required,
    render,
    sms_length,
    unknown_placeholders,
)
from app.trusts.repository import TrustRepository

# Ids of the resources that have no row (a default), so that each still has an ETag of its own.
_DEFAULT_NAMESPACE = uuid.UUID("6f1e4a52-3c1b-4d0e-9a57-1b7c1f0d2e11")


@dataclass(frozen=True)
class Target:
    """The resource a request names: one kind on one channel in one language."""

    trust_id: UUID
    kind: MessageKind
    channel: MessageChannel
    language: str

    @property
    def label(self) -> str:
        return f"{self.kind} {self.channel} wording in '{self.language}'"


async def list_templates(
    session: AsyncSession,
    who: Principal,
    trust_id: UUID,
    kind: MessageKind | None = None,
    channel: MessageChannel | None = None,
) -> list[TemplateRead]:
    """Every wording the trust has written, and the English default for each kind and channel
    it has not written in English."""
    await TrustRepository(session, who).get(trust_id)
    own = {
        (t.kind, t.channel, t.language): t
        for t in await templates_repository.templates_of(session, trust_id)
    }
    answer: list[TemplateRead] = []
    for each_kind in MessageKind if kind is None else (kind,):
        for each_channel in channels_for(each_kind):
            if channel is not None and each_channel != channel:
                continue
            languages = {lang for k, c, lang in own if (k, c) == (each_kind, each_channel)}
            for language in sorted(languages | {ENGLISH}):
                target = Target(trust_id, each_kind, each_channel, language)
                row = own.get((each_kind, each_channel, language))
                answer.append(_read(target, row) if row else _default_read(target))
    return answer


async def get_template(
    session: AsyncSession, who: Principal, target: Target
) -> tuple[TemplateRead, str]:
    """The wording of one kind, channel and language, with its ETag."""
    await _load_trust(session, who, target)
    return await _current(session, target)


async def save_template(
    session: AsyncSession, who: Principal, target: Target, body: TemplateWrite, if_match: str | None
) -> tuple[TemplateRead, str]:
    """Write the trust's own wording. Without one yet, If-Match is optional (it may name the
    default's ETag, or `*`); over the trust's own, it must name the version read (428, 412).
    Raises Unprocessable (422) for placeholders the kind does not provide, a required one
    missing, a subject where none belongs, or a text too long to send."""
    await _load_trust(session, who, target, manage=True)
    _check(target, body.subject, body.body)
    row = await templates_repository.find(
        session, target.trust_id, target.kind, target.channel, target.language, for_update=True
    )
    if row is None:
        ensure_matches(_default_etag(target), if_match)
        row = MessageTemplate(
            trust_id=target.trust_id,
            kind=target.kind,
            channel=target.channel,
            language=target.language,
            subject=body.subject,
            body=body.body,
            updated_by=who.id,
        )
        session.add(row)
        await session.flush()
        created = True
    else:
        changes = {"subject": body.subject, "body": body.body, "updated_by": who.id}
        await save_versioned(session, row, changes, if_match)
        created = False
    await _audit(session, who, "message_template.saved", row, created=created)
    forget_wordings(session)
    return _read(target, row), etag_of(row)


async def delete_template(
    session: AsyncSession, who: Principal, target: Target, if_match: str | None
) -> tuple[TemplateRead, str]:
    """Remove the trust's own wording, so that what would be sent instead (the trust's English,
    else the default) is used; answer that. Without the trust's own wording nothing changes."""
    await _load_trust(session, who, target, manage=True)
    row = await templates_repository.find(
        session, target.trust_id, target.kind, target.channel, target.language, for_update=True
    )
    if row is None:
        ensure_matches(_default_etag(target), if_match)
    else:
        ensure_current(row, if_match)
        await _audit(session, who, "message_template.removed", row, created=False)
        await session.delete(row)
        await session.flush()
        forget_wordings(session)
    return await _current(session, target)


async def preview(
    session: AsyncSession, who: Principal, target: Target, request: PreviewRequest | None
) -> PreviewRead:
    """The wording filled with sample values: words given in the request (checked as a save
    would check them), else what would be sent to a family in `language` now."""
    await _load_trust(session, who, target)
    if request is not None and request.body is not None:
        _check(target, request.subject, request.body)
        wording, language, source = Wording(request.body, request.subject), target.language, None
    else:
        shown, _ = await _current(session, target)
        wording = Wording(shown.body, shown.subject)
        language, source = shown.language_used, shown.source
    filled = render(_for_channel(wording, target.channel), SAMPLES)
    return PreviewRead(
        kind=target.kind,
        channel=target.channel,
        language=target.language,
        language_used=language,
        source=source,
        subject=filled.subject,
        body=filled.body,
        sms=_sms(target.channel, filled.body),
    )


async def _load_trust(
    session: AsyncSession, who: Principal, target: Target, *, manage: bool = False
) -> None:
    """404 for a trust the caller cannot see or a channel the kind is never sent on; then, to
    change wording, the permission held for the whole trust (403)."""
    trusts = TrustRepository(session, who)
    if manage:
        # Writers of one trust's templates take turns: two creating the same one cannot both.
        trust = await trusts.get_for_update(target.trust_id)
    else:
        trust = await trusts.get(target.trust_id)
    if target.channel not in channels_for(target.kind):
        sent_on = ", ".join(channels_for(target.kind))
        raise NotFound(
            f"{target.kind} messages are sent by {sent_on} only: there is no {target.channel} "
            "wording for them."
        )
    if manage:
        trusts.permit(trust, Permission.MESSAGES_TEMPLATES)


async def _current(session: AsyncSession, target: Target) -> tuple[TemplateRead, str]:
    """The trust's own wording for the target, else what would be sent instead."""
    row = await templates_repository.find(
        session, target.trust_id, target.kind, target.channel, target.language
    )
    if row is not None:
        return _read(target, row), etag_of(row)
    english = None
    if target.language != ENGLISH:
        english = await templates_repository.find(
            session, target.trust_id, target.kind, target.channel, ENGLISH
        )
    read = _read(target, english, own=False) if english else _default_read(target)
    return read, _default_etag(target)


def _check(target: Target, subject: str | None, body: str) -> None:
    """Every problem with the words at once, each at its JSON pointer."""
    errors: list[dict[str, str]] = []
    for field, text in (("subject", subject), ("body", body)):
        for name in unknown_placeholders(target.kind, text):
            errors.append(
                {
                    "pointer": json_pointer(field),
                    "detail": f"(({name})) is not a placeholder {target.kind} messages provide",
                    "placeholder": name,
                }
            )
    for name in missing_required(target.kind, body):
        errors.append(
            {
                "pointer": json_pointer("body"),
                "detail": f"a {target.kind} message must include (({name}))",
                "placeholder": name,
            }
        )
    errors.extend(_channel_errors(target, subject, body))
    if errors:
        raise Unprocessable(
            "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors),
            extra={
                "errors": errors,
                "placeholders": list(PLACEHOLDERS[target.kind]),
                "required": list(REQUIRED[target.kind]),
            },
        )


def _channel_errors(target: Target, subject: str | None, body: str) -> list[dict[str, str]]:
    if target.channel is MessageChannel.EMAIL and not subject:
        return [{"pointer": json_pointer("subject"), "detail": "an email needs a subject"}]
    if target.channel is MessageChannel.SMS:
        if subject is not None:
            return [{"pointer": json_pointer("subject"), "detail": "a text has no subject"}]
        length = sms_length(render(Wording(body), SAMPLES).body)
        if length.characters > SMS_MAX_CHARACTERS:
            return [
                {
                    "pointer": json_pointer("body"),
                    "detail": f"with sample values this text is {length.characters} characters; "
                    f"GOV.UK Notify sends at most {SMS_MAX_CHARACTERS}",
                }
            ]
    return []


def _read(target: Target, row: MessageTemplate, *, own: bool = True) -> TemplateRead:
    """The trust's own wording: for the target itself (`own`), or its English shown instead."""
    wording = Wording(row.body, row.subject)
    return _shown(target, wording, WordingSource.TRUST, row.language, row, own=own)


def _default_read(target: Target) -> TemplateRead:
    wording = _for_channel(default_wording(target.kind, target.channel), target.channel)
    return _shown(target, wording, WordingSource.DEFAULT, ENGLISH, None, own=False)


def _shown(
    target: Target,
    wording: Wording,
    source: WordingSource,
    language_used: str,
    row: MessageTemplate | None,
    *,
    own: bool,
) -> TemplateRead:
    return TemplateRead(
        kind=target.kind,
        channel=target.channel,
        language=target.language,
        source=source,
        own=own,
        language_used=language_used,
        subject=wording.subject,
        body=wording.body,
        placeholders=list(PLACEHOLDERS[target.kind]),
        required=list(REQUIRED[target.kind]),
        sms=_sms(target.channel, render(Wording(wording.body), SAMPLES).body),
        updated_at=row.updated_at if row else None,
        updated_by=row.updated_by if row else None,
    )


def _for_channel(wording: Wording, channel: MessageChannel) -> Wording:
    return Wording(wording.body) if channel is MessageChannel.SMS else wording


def _sms(channel: MessageChannel, text: str) -> SmsLengthRead | None:
    if channel is not MessageChannel.SMS:
        return None
    length = sms_length(text)
    return SmsLengthRead(
        characters=length.characters, fragments=length.fragments, unicode=length.unicode
    )


def _default_etag(target: Target) -> str:
    """The ETag of a resource without the trust's own wording (its default, or its English)."""
    name = f"{target.trust_id}/{target.kind}/{target.channel}/{target.language}"
    return etag(uuid.uuid5(_DEFAULT_NAMESPACE, name), "default")


async def _audit(
    session: AsyncSession, who: Principal, action: str, row: MessageTemplate, *, created: bool
) -> None:
    details: dict[str, Any] = {
        "kind": str(row.kind),
        "channel": str(row.channel),
        "language": row.language,
    }
    if action.endswith("saved"):
        details["created"] = created
    await audit.record(
        session,
        who,
        action,
        subject_type="message_template",
        subject_id=row.id,
        trust_id=row.trust_id,
        details=details,
    )
