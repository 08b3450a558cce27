"""What a queued message says, in the words it will be sent in: the trust's wording in the
family's language, else the trust's English, else the default that ships with Threshold
(wording.choose), filled with the message's values. The worker calls `render_message` once per
message it sends; the body exists only in memory, never in the outbox."""

from collections.abc import Mapping
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.notifications import outbox, templates_repository
from app.notifications.models import Message, MessageChannel, MessageKind
from app.notifications.wording import Wording, choose, render

TrustWordings = Mapping[tuple[MessageKind, MessageChannel, str], Wording]

# Where a session keeps each trust's wordings once read: a worker's batch renders every message
# with one query per trust, and the next batch (a new session) sees any change a trust made.
_CACHE = "threshold.notifications.wordings"


async def wordings_for(session: AsyncSession, trust_id: UUID) -> TrustWordings:
    """The trust's own wordings, read once per session."""
    cache: dict[UUID, TrustWordings] = session.info.setdefault(_CACHE, {})
    if trust_id not in cache:
        cache[trust_id] = {
            (t.kind, t.channel, t.language): Wording(body=t.body, subject=t.subject)
            for t in await templates_repository.templates_of(session, trust_id)
        }
    return cache[trust_id]


def forget_wordings(session: AsyncSession) -> None:
    """Drop what the session has read: a template saved in it is read afresh."""
    session.info.pop(_CACHE, None)


async def render_message(session: AsyncSession, message: Message) -> tuple[Wording, str]:
    """The message's subject and body as they will be sent, and the language they are in (English
    when the trust has no wording in the family's)."""
    wordings = await wordings_for(session, message.trust_id)
    wording, language = choose(message.kind, message.channel, message.language, wordings)
    if message.channel is MessageChannel.SMS:
        wording = Wording(body=wording.body)  # a text has no subject line
    return render(wording, outbox.opened(message.values)), language
