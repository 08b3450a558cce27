"""How each family is reached: a text to a contact who agreed to texts and has a mobile, else an
email, else a printed letter, so that no family is silently dropped. One contact per household
is written to (the first with parental responsibility who can be reached that way): the code is
the household's, and a cap counts households, not parents."""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.notifications import repository
from app.notifications.models import MessageChannel, RecipientType
from app.notifications.wording import ENGLISH, language_code
from app.roster.models import Contact


@dataclass(frozen=True)
class Recipient:
    type: RecipientType
    id: UUID
    channel: MessageChannel
    language: str = ENGLISH


async def families(
    session: AsyncSession, trust_id: UUID, household_ids: Sequence[UUID]
) -> dict[UUID, Recipient]:
    """The recipient of each household's messages. A household without any contact gets a
    letter addressed to the household ("the parent or carer of …")."""
    by_household: dict[UUID, list[Contact]] = {h: [] for h in household_ids}
    for contact in await repository.contacts_of(session, trust_id, list(by_household)):
        by_household[contact.household_id].append(contact)
    return {h: choose(h, contacts) for h, contacts in by_household.items()}


def choose(household_id: UUID, contacts: Sequence[Contact]) -> Recipient:
    """`contacts` in the order repository.contacts_of gives them."""
    for contact in contacts:
        if contact.sms_consent and contact.mobile:
            return _to(contact, MessageChannel.SMS)
    for contact in contacts:
        if contact.email:
            return _to(contact, MessageChannel.EMAIL)
    if contacts:
        return _to(contacts[0], MessageChannel.LETTER)
    return Recipient(RecipientType.HOUSEHOLD, household_id, MessageChannel.LETTER)


def staff(staff_id: UUID) -> Recipient:
    """Staff are written to by email at their work address (the one they sign in with)."""
    return Recipient(RecipientType.STAFF, staff_id, MessageChannel.EMAIL)


def staff_mobile(staff_id: UUID) -> Recipient:
    """A text to a staff member's work mobile: only for what cannot wait for email (a
    safeguarding alert to a DSL, wording.STAFF_SMS_KINDS)."""
    return Recipient(RecipientType.STAFF, staff_id, MessageChannel.SMS)


def _to(contact: Contact, channel: MessageChannel) -> Recipient:
    return Recipient(
        RecipientType.CONTACT, contact.id, channel, language_code(contact.preferred_language)
    )
