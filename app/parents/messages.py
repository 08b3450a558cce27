"""What the office sees of a programme's messages: every message and how it went, the families
it could not reach (to phone), and how each household's invitation reached it. Read-only; never
a message's body or code (letters, which carry the code, are app/parents/letters.py)."""

from collections.abc import Collection, Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.notifications.models import (
    UNREACHED_STATUSES,
    Message,
    MessageChannel,
    MessageKind,
    MessageStatus,
    RecipientType,
)
from app.parents import invitation_messages
from app.parents import messages_repository as repository
from app.parents.messages_schemas import (
    InvitationDelivery,
    OfficeMessage,
    UnreachedContact,
    UnreachedHousehold,
)
from app.programmes.households import family_labels
from app.programmes.models import VisitProgramme
from app.programmes.repository import ProgrammeRepository

_WAITING = {MessageStatus.CREATED: "queued", MessageStatus.SENDING: "sending"}


async def chased_programme(
    session: AsyncSession, who: Principal, programme_id: UUID
) -> VisitProgramme:
    programme: VisitProgramme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.FAMILIES_CHASE
    )
    return programme


async def list_messages(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    page: PageParams,
    *,
    kind: MessageKind | None = None,
    status: MessageStatus | None = None,
    channel: MessageChannel | None = None,
    household_id: UUID | None = None,
) -> tuple[list[OfficeMessage], str | None]:
    """Newest first."""
    programme = await chased_programme(session, who, programme_id)
    statement = repository.messages_of(
        programme.id, kind=kind, status=status, channel=channel, household_id=household_id
    )
    rows, cursor = await paginate(
        session,
        statement,
        page,
        [SortKey(Message.created_at, descending=True), SortKey(Message.id, descending=True)],
    )
    names = await _recipient_names(session, rows)
    return [_office_message(m, names.get(m.recipient_id)) for m in rows], cursor


async def _recipient_names(session: AsyncSession, messages: Sequence[Message]) -> dict[UUID, str]:
    contacts = {m.recipient_id for m in messages if m.recipient_type is RecipientType.CONTACT}
    staff = {m.recipient_id for m in messages if m.recipient_type is RecipientType.STAFF}
    found = await repository.contacts_by_id(session, contacts)
    return {i: c.name for i, c in found.items()} | await repository.staff_names(session, staff)


def _office_message(message: Message, recipient_name: str | None) -> OfficeMessage:
    return OfficeMessage.model_validate(
        message, update={"message_id": message.id, "recipient_name": recipient_name}
    )


def _is_unreached(message: Message) -> bool:
    """Failed for good, or reachable by nothing but a letter still to be posted."""
    if message.status in UNREACHED_STATUSES:
        return True
    return message.channel is MessageChannel.LETTER and message.status is MessageStatus.CREATED


def _reason(message: Message) -> str:
    if message.channel is MessageChannel.LETTER:
        return "No mobile with consent to texts and no email: only a letter, not yet posted."
    return message.status_reason or f"The {message.channel.value} was not delivered."


async def unreached(
    session: AsyncSession, who: Principal, programme_id: UUID
) -> list[UnreachedHousehold]:
    """Households whose latest message to the family failed, or which only a letter not yet
    posted can reach: the office's list to phone, oldest first."""
    programme = await chased_programme(session, who, programme_id)
    latest: dict[UUID, Message] = {}
    for message in await repository.family_messages(session, programme.id):
        if message.household_id is not None:
            latest.setdefault(message.household_id, message)
    wanted = sorted(
        (m for m in latest.values() if _is_unreached(m)),
        key=lambda m: (m.failed_at or m.created_at, m.id),
    )
    households = [m.household_id for m in wanted if m.household_id is not None]
    labels = await family_labels(session, who, programme, households)
    contacts = await _contacts(session, who, programme, households)
    return [
        UnreachedHousehold(
            household_id=household,
            family_name=labels[household].name,
            reference=labels[household].reference,
            message_id=m.id,
            kind=m.kind,
            channel=m.channel,
            status=m.status,
            reason=_reason(m),
            since=m.failed_at or m.created_at,
            contacts=contacts.get(household, []),
        )
        for m in wanted
        if (household := m.household_id) is not None
    ]


async def _contacts(
    session: AsyncSession, who: Principal, programme: VisitProgramme, households: list[UUID]
) -> dict[UUID, list[UnreachedContact]]:
    """Names always; numbers and addresses only to those who may see contact details."""
    details = who.can(Permission.ROSTER_CONTACTS, programme.school_id)
    found: dict[UUID, list[UnreachedContact]] = {}
    for contact in await repository.contacts_of(session, households):
        shown = UnreachedContact.model_validate(contact)
        if not details:
            shown = shown.model_copy(update={"mobile": None, "landline": None, "email": None})
        found.setdefault(contact.household_id, []).append(shown)
    return found


async def invitation_deliveries(
    session: AsyncSession, programme_id: UUID, invitation_ids: Collection[UUID]
) -> dict[UUID, InvitationDelivery]:
    """How each invitation's message went, by invitation id (its cause)."""
    found = await repository.messages_for_causes(
        session, programme_id, invitation_messages.CAUSE, invitation_ids
    )
    by_invitation = {m.cause_id: delivery_of(m) for m in found}
    return {i: by_invitation.get(i, NO_MESSAGE) for i in invitation_ids}


def delivery_of(message: Message) -> InvitationDelivery:
    return InvitationDelivery(
        channel=message.channel,
        status=message.status,
        summary=_summary(message.channel, message.status),
        status_reason=message.status_reason,
        delivered_at=message.delivered_at,
        message_id=message.id,
    )


def _summary(channel: MessageChannel, status: MessageStatus) -> str:
    if channel is MessageChannel.LETTER and status is MessageStatus.CREATED:
        return "letter to post"
    if channel is MessageChannel.LETTER and status is MessageStatus.SENT:
        return "letter posted"
    return f"{channel.value} {_WAITING.get(status, status.value)}"


NO_MESSAGE = InvitationDelivery(channel=None, status=None, summary="no message")
NOT_INVITED = InvitationDelivery(channel=None, status=None, summary="not invited")
