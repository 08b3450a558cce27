"""Letters for the families no text or email can reach: one printable page per household with
its code and link, a CSV for a mail merge, and marking them posted.

Each letter carries a live invitation code, so listing them is a disclosure of secrets: audited
per household like reading one code (invitations.read_code), and only for those who chase
families and may see their addresses. A letter whose invitation has since been revoked or
reissued is not listed (the new invitation wrote its own message).
"""

import html
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.csvio import write_csv
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import utcnow
from app.notifications import outbox, wording
from app.notifications.models import Message, MessageChannel, MessageKind
from app.parents import answers_repository
from app.parents import messages_repository as repository
from app.parents.messages_schemas import LettersPosted, LettersPostedRead
from app.parents.repository import InvitationRepository
from app.programmes.households import family_labels
from app.programmes.models import VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.trusts.repository import SchoolRepository

CSV_COLUMNS = (
    "household_reference",
    "addressee",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "code",
    "link",
    "language",
    "message_id",
)


@dataclass(frozen=True)
class Letter:
    message_id: UUID
    household_id: UUID
    reference: str | None
    addressee: str
    address: tuple[str | None, str | None, str | None, str | None]  # line 1, line 2, town, code
    code: str
    link: str
    language: str
    body: str


async def _programme(session: AsyncSession, who: Principal, programme_id: UUID) -> VisitProgramme:
    programme: VisitProgramme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.FAMILIES_CHASE, Permission.ROSTER_CONTACTS
    )
    return programme


async def letters(
    session: AsyncSession, who: Principal, programme_id: UUID, *, action: str
) -> tuple[VisitProgramme, str, list[Letter]]:
    """The programme, its school's name and its letters still to post (audited as `action`)."""
    programme = await _programme(session, who, programme_id)
    school = await SchoolRepository(session, who).get(programme.school_id)
    pending = await _live(
        session, programme, await repository.letters_to_post(session, programme.id)
    )
    households = [m.household_id for m in pending if m.household_id is not None]
    labels = await family_labels(session, who, programme, households)
    homes = await repository.households(session, households)
    names = await _first_names(session, programme, households)
    wordings = await repository.trust_wordings(
        session, MessageKind.INVITATION, MessageChannel.LETTER
    )
    found = []
    for message in pending:
        household = message.household_id
        if household is None:
            continue
        home = homes.get(household)
        values = outbox.opened(message.values)
        chosen, language = wording.choose(
            MessageKind.INVITATION, MessageChannel.LETTER, message.language, wordings
        )
        found.append(
            Letter(
                message_id=message.id,
                household_id=household,
                reference=labels[household].reference,
                addressee=_addressee(names.get(household, []), labels[household].name),
                address=(
                    home.address_line1 if home else None,
                    home.address_line2 if home else None,
                    home.town if home else None,
                    home.postcode if home else None,
                ),
                code=values.get("code", ""),
                link=values.get("link", ""),
                language=language,
                body=wording.render(chosen, values).body,
            )
        )
    if found:
        await audit.record_each(
            session,
            who,
            action,
            subject_type="household",
            subject_ids=[letter.household_id for letter in found],
            school_id=programme.school_id,
            details={"programme_id": str(programme.id)},
        )
    return programme, school.name, found


async def _live(
    session: AsyncSession, programme: VisitProgramme, pending: Sequence[Message]
) -> list[Message]:
    households = sorted({m.household_id for m in pending if m.household_id is not None})
    live = {i.id for i in await InvitationRepository(session).live_for(programme.id, households)}
    return [m for m in pending if m.cause_id in live]


async def _first_names(
    session: AsyncSession, programme: VisitProgramme, households: list[UUID]
) -> dict[UUID, list[str]]:
    names: dict[UUID, list[str]] = defaultdict(list)
    if households:
        for child in await answers_repository.children_in_scope(session, programme, households):
            names[child.household_id].append(child.first_name)
    return names


def _addressee(first_names: list[str], family_name: str) -> str:
    """ "The parent or carer of Aisha and Omar Khan": the children the school knows."""
    if not first_names:
        return f"The parent or carer of the {family_name} family"
    listed = (
        first_names[0]
        if len(first_names) == 1
        else (", ".join(first_names[:-1]) + " and " + first_names[-1])
    )
    return f"The parent or carer of {listed} {family_name}"


def as_csv(found: list[Letter]) -> str:
    """For a mail merge; every cell made safe to open in a spreadsheet."""
    return write_csv(
        CSV_COLUMNS,
        (
            (
                letter.reference,
                letter.addressee,
                *letter.address,
                letter.code,
                letter.link,
                letter.language,
                str(letter.message_id),
            )
            for letter in found
        ),
    )


_STYLE = """
body { font-family: Arial, sans-serif; font-size: 12pt; margin: 0; }
.letter { page-break-after: always; break-after: page; padding: 2cm; }
.letter:last-child { page-break-after: auto; break-after: auto; }
.school { font-weight: bold; font-size: 14pt; }
.address { margin: 1.5em 0; white-space: pre-line; }
.code { font-family: monospace; font-size: 16pt; letter-spacing: 0.1em; }
"""


def as_html(school_name: str, found: list[Letter], listed_at: datetime) -> str:
    """One page per household (CSS page breaks), every value escaped."""
    pages = [_page(school_name, letter) for letter in found] or [
        '<section class="letter"><p>There are no letters to post.</p></section>'
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Letters to post: {html.escape(school_name)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<!-- listed at {listed_at.isoformat()} -->{''.join(pages)}</body></html>"
    )


def _page(school_name: str, letter: Letter) -> str:
    address = "\n".join(part for part in (letter.addressee, *letter.address) if part)
    return (
        f'<section class="letter" lang="{html.escape(letter.language)}">'
        f'<p class="school">{html.escape(school_name)}</p>'
        f'<p class="address">{html.escape(address)}</p>'
        f"<p>{html.escape(letter.body)}</p>"
        f'<p>Your code: <span class="code">{html.escape(letter.code)}</span></p>'
        f"<p>Or go to: {html.escape(letter.link)}</p>"
        "</section>"
    )


async def mark_posted(
    session: AsyncSession, who: Principal, programme_id: UUID, body: LettersPosted
) -> LettersPostedRead:
    """The letters given (or every one listed up to `listed_at`) are posted: they leave the
    list and read as sent."""
    programme = await _programme(session, who, programme_id)
    if body.message_ids is not None:
        wanted = list(body.message_ids)
    else:
        listed = await _live(
            session, programme, await repository.letters_to_post(session, programme.id)
        )
        wanted = [m.id for m in listed if body.listed_at and m.created_at <= body.listed_at]
    posted = await repository.mark_posted(session, programme.id, wanted, utcnow())
    await audit.record(
        session,
        who,
        "letters.posted",
        subject_type="visit_programme",
        subject_id=programme.id,
        school_id=programme.school_id,
        details={"programme_id": str(programme.id), "posted": len(posted)},
    )
    return LettersPostedRead(posted=len(posted))
