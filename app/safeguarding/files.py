"""A pupil's child protection file: its review date and legal hold, and its transfer to the
school the pupil moves to.

Retention: a file is due for review on the pupil's date of birth plus the trust's
`safeguarding_review_years` (25 by default). Nothing is ever deleted automatically: the review
command lists what is due, and skips files on legal hold, which a DSL sets with its reason.

Transfer (KCSIE: a child's file follows them to their new school, separately from the main
record, with confirmation of receipt): within the trust the receiving school's DSLs give a
receipt, and from then on read the concerns the file carried (the sending DSLs keep theirs);
to an outside school the sending DSL records the receiving school's confirmation. A file with
neither after THRESHOLD_SAFEGUARDING_TRANSFER_OVERDUE_DAYS (5) alerts the sending school's DSLs.

Only the DSLs of the schools concerned and the trust's DSLs see any of it (404 to everyone
else); every read and write is audited, with ids only.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.concurrency import etag
from app.core.db import open_session
from app.core.errors import NotFound
from app.core.london import local_time, london_today
from app.core.permissions import Permission, Role
from app.core.phones import spoken
from app.core.principal import Principal
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.notifications import outbox, reach
from app.notifications.models import MessageKind
from app.programmes.messages import NO_PHONE
from app.roster.models import Pupil
from app.roster.repository import PupilRepository
from app.safeguarding import files_repository, repository, service
from app.safeguarding.exceptions import TransferRefused, TransferUnknownSchool
from app.safeguarding.files_repository import TransferRepository
from app.safeguarding.files_schemas import (
    ConfirmationWrite,
    LegalHoldRead,
    LegalHoldWrite,
    ProtectionFileRead,
    SchoolTransferRead,
    TransferDirection,
    TransferRead,
    TransferWrite,
)
from app.safeguarding.models import ProtectionFile, ProtectionFileTransfer, TransferredConcern
from app.visits.messages import first_name

TRANSFER_CAUSE = "safeguarding_transfer_overdue"
READ = Permission.SAFEGUARDING_READ


def review_date(date_of_birth: date, years: int) -> date:
    """The birthday `years` on; 29 February falls on 28 February in a common year."""
    try:
        return date_of_birth.replace(year=date_of_birth.year + years)
    except ValueError:
        return date_of_birth.replace(year=date_of_birth.year + years, day=28)


async def _pupil(session: AsyncSession, who: Principal, pupil_id: UUID) -> Pupil:
    """The pupil, to their school's DSLs and the trust's; 404 to anyone else, as if no file."""
    pupil = await PupilRepository(session, who).find(pupil_id)
    if pupil is None or not who.can(READ, pupil.school_id):
        raise NotFound(f"There is no child protection file of pupil {pupil_id} you can see.")
    return pupil


async def _review_date(session: AsyncSession, pupil: Pupil) -> date:
    trust = await files_repository.trust_of(session, pupil.trust_id)
    assert trust is not None, "a pupil's trust is kept"
    return review_date(pupil.date_of_birth, trust.safeguarding_review_years)


async def read_file(session: AsyncSession, who: Principal, pupil_id: UUID) -> ProtectionFileRead:
    """The file: its concerns oldest first (received ones included), review date, hold and
    transfers. Audited as a read of each concern it lists."""
    pupil = await _pupil(session, who, pupil_id)
    concerns = await service.file_of_pupil(session, who, pupil.id)
    held = await files_repository.file_of(session, pupil.id)
    transfers = await TransferRepository(session, who).of_pupil(pupil.id)
    return ProtectionFileRead(
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        review_date=await _review_date(session, pupil),
        on_hold=held.on_hold if held else False,
        hold_reason=held.hold_reason if held else None,
        concerns=concerns,
        transfers=await _transfers(session, transfers),
    )


async def set_legal_hold(
    session: AsyncSession, who: Principal, pupil_id: UUID, body: LegalHoldWrite
) -> LegalHoldRead:
    """Set (with its reason) or lift the file's legal hold. 404 outside need-to-know."""
    pupil = await _pupil(session, who, pupil_id)
    held = await files_repository.file_of(session, pupil.id)
    if held is None:
        held = ProtectionFile(trust_id=pupil.trust_id, school_id=pupil.school_id, pupil_id=pupil.id)
        session.add(held)
    held.on_hold = body.on_hold
    held.hold_reason = body.reason if body.on_hold else None
    held.hold_changed_at = utcnow()
    held.hold_changed_by = who.id
    await session.flush()
    action = "safeguarding.legal_hold_set" if body.on_hold else "safeguarding.legal_hold_lifted"
    await _audit(session, who, action, "pupil", pupil.id, pupil.school_id)
    return LegalHoldRead(
        pupil_id=pupil.id,
        on_hold=held.on_hold,
        hold_reason=held.hold_reason,
        hold_changed_at=held.hold_changed_at,
        hold_changed_by=held.hold_changed_by,
        review_date=await _review_date(session, pupil),
    )


async def record_transfer(
    session: AsyncSession, who: Principal, pupil_id: UUID, body: TransferWrite
) -> TransferRead:
    """The sending DSL records the file sent, carrying every concern naming the pupil. 422 for
    a receiving school not of the trust (or the pupil's own) or a day still to come."""
    pupil = await _pupil(session, who, pupil_id)
    if body.sent_date > london_today():
        raise TransferUnknownSchool(
            f"The file cannot have been sent on {body.sent_date}, a day still to come."
        )
    to_pupil_id = None
    if body.to_school_id is not None:
        school = await files_repository.school_in_trust(session, body.to_school_id)
        if school is None or school.id == pupil.school_id:
            raise TransferUnknownSchool(
                f"There is no other school {body.to_school_id} of your trust. Name an outside "
                "school by its name and URN instead. Nothing was recorded."
            )
        to_pupil_id = await _match(session, school.id, pupil)
    transfer = ProtectionFileTransfer(
        trust_id=pupil.trust_id,
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        sent_by=who.id,
        recorded_at=utcnow(),
        to_pupil_id=to_pupil_id,
        **body.model_dump(),
    )
    session.add(transfer)
    await session.flush()
    session.add_all(
        TransferredConcern(
            trust_id=pupil.trust_id,
            school_id=pupil.school_id,
            transfer_id=transfer.id,
            concern_id=concern_id,
        )
        for concern_id in await files_repository.concern_ids_of_pupil(session, pupil.id)
    )
    await session.flush()
    await _audit(
        session, who, "safeguarding.transfer_recorded", "transfer", transfer.id, pupil.school_id
    )
    return (await _transfers(session, [transfer]))[0]


async def _match(session: AsyncSession, school_id: UUID, pupil: Pupil) -> UUID | None:
    """The same child at the receiving school, by UPN (the one identifier that follows them)."""
    if not pupil.upn:
        return None
    return await files_repository.pupil_by_upn(session, school_id, pupil.upn)


async def list_transfers(
    session: AsyncSession, who: Principal, school_id: UUID
) -> list[SchoolTransferRead]:
    """The school's outgoing and incoming transfers, newest first: its DSLs and the trust's."""
    if not who.can(READ, school_id):
        raise NotFound(f"There are no protection file transfers of school {school_id} you can see.")
    school = await files_repository.school_in_trust(session, school_id)
    if school is None:
        raise NotFound(f"There are no protection file transfers of school {school_id} you can see.")
    found = await TransferRepository(session, who).at_school(school.id)
    await audit.record(
        session,
        who,
        "safeguarding.transfers_listed",
        subject_type="school",
        subject_id=school.id,
        school_id=school.id,
        details={"transfers": [str(t.id) for t in found]},
    )
    return [
        SchoolTransferRead.model_validate(
            read.model_dump()
            | {
                "direction": TransferDirection.OUTGOING
                if read.school_id == school.id
                else TransferDirection.INCOMING
            }
        )
        for read in await _transfers(session, found)
    ]


async def get_transfer(
    session: AsyncSession, who: Principal, transfer_id: UUID
) -> tuple[TransferRead, str]:
    """One transfer and its ETag, for the DSLs of the school that sent it or of the trust's
    school it went to (and the trust's DSLs); 404 to anyone else. Read as the file's other
    records are: audited."""
    transfer = await TransferRepository(session, who).get(transfer_id)
    await _audit(
        session, who, "safeguarding.transfer_read", "transfer", transfer.id, transfer.school_id
    )
    # A transfer changes only by its receipt or its confirmation, each given once: counting
    # them versions it without a version column.
    steps = 1 + (transfer.received_at is not None) + (transfer.confirmed_date is not None)
    return (await _transfers(session, [transfer]))[0], etag(transfer.id, steps)


async def give_receipt(session: AsyncSession, who: Principal, transfer_id: UUID) -> TransferRead:
    """The receiving school's DSL confirms the file arrived; from then on its DSLs read the
    concerns it carried. 403 to the sending school's DSLs; 409 for an outside school's
    transfer or a receipt already given."""
    transfers = TransferRepository(session, who)
    transfer = await transfers.get_for_update(transfer_id)
    if transfer.to_school_id is None:
        raise TransferRefused(
            "This file went to a school outside the trust: record that school's confirmation "
            "instead (POST …/confirmation)."
        )
    transfers.permit_at(transfer.to_school_id, READ)
    if transfer.received_at is not None:
        raise TransferRefused(f"The receipt was already given at {transfer.received_at}.")
    transfer.received_at = utcnow()
    transfer.received_by = who.id
    if transfer.to_pupil_id is None:
        pupil = await PupilRepository(session, who).find(transfer.pupil_id)
        if pupil is not None:
            transfer.to_pupil_id = await _match(session, transfer.to_school_id, pupil)
    await session.flush()
    await _audit(
        session,
        who,
        "safeguarding.transfer_received",
        "transfer",
        transfer.id,
        transfer.to_school_id,
    )
    return (await _transfers(session, [transfer]))[0]


async def record_confirmation(
    session: AsyncSession, who: Principal, transfer_id: UUID, body: ConfirmationWrite
) -> TransferRead:
    """The sending DSL records an outside school's confirmation of receipt. 403 to any other
    school's DSLs; 409 within the trust (its DSLs give a receipt) or when already confirmed."""
    transfers = TransferRepository(session, who)
    transfer = await transfers.get_for_update(transfer_id)
    transfers.permit_at(transfer.school_id, READ)
    if transfer.to_school_id is not None:
        raise TransferRefused(
            "This file went to a school of the trust: its DSLs give the receipt themselves."
        )
    if transfer.confirmed_date is not None:
        raise TransferRefused(f"Its receipt was already confirmed on {transfer.confirmed_date}.")
    if body.confirmed_date < transfer.sent_date:
        raise TransferRefused("A confirmation cannot come before the file was sent.")
    transfer.confirmed_date = body.confirmed_date
    transfer.confirmed_by_name = body.confirmed_by_name
    transfer.confirmation_recorded_by = who.id
    await session.flush()
    await _audit(
        session, who, "safeguarding.transfer_confirmed", "transfer", transfer.id, transfer.school_id
    )
    return (await _transfers(session, [transfer]))[0]


async def _transfers(
    session: AsyncSession, transfers: list[ProtectionFileTransfer]
) -> list[TransferRead]:
    carried = await files_repository.carried(session, [t.id for t in transfers])
    return [
        TransferRead.model_validate(t.model_dump() | {"concerns": len(carried[t.id])})
        for t in transfers
    ]


async def _audit(
    session: AsyncSession,
    who: Principal,
    action: str,
    subject_type: str,
    subject_id: UUID,
    school_id: UUID,
) -> None:
    """Ids only: never a name, a school's name or a reason."""
    await audit.record(
        session, who, action, subject_type=subject_type, subject_id=subject_id, school_id=school_id
    )


@dataclass(frozen=True)
class DueFile:
    trust_id: UUID
    school_id: UUID
    pupil_id: UUID
    review_date: date
    on_hold: bool


async def due_for_review(on: date, trust_id: UUID | None = None) -> list[DueFile]:
    """Files whose review date is on or before `on`, held ones included (flagged): the command
    lists them; it deletes nothing."""
    async with open_session(system_scope("list child protection files due for review")) as session:
        found = []
        for pupil, trust, held in await files_repository.files_for_review(session, trust_id):
            due = review_date(pupil.date_of_birth, trust.safeguarding_review_years)
            if due <= on:
                found.append(
                    DueFile(trust.id, pupil.school_id, pupil.id, due, bool(held and held.on_hold))
                )
        return found


async def plan_overdue_transfers(now: datetime) -> int:
    """The planner: alert the sending school's DSLs (the trust's, if it has none) about each
    file with neither receipt nor confirmation the set number of days after it was sent, once.
    How many messages it wrote."""
    days = get_settings().safeguarding_transfer_overdue_days
    cutoff = local_time(now).date() - timedelta(days=days)
    async with open_session(
        system_scope("alert about overdue protection file transfers")
    ) as session:
        drafts: dict[UUID, list[outbox.Draft]] = defaultdict(list)
        for transfer in await files_repository.overdue(session, cutoff):
            drafts[transfer.trust_id] += await _overdue_drafts(session, transfer, days)
        written = 0
        for trust_id, for_trust in drafts.items():
            written += len(await outbox.write(session, trust_id, for_trust, now=now))
        return written


async def _overdue_drafts(
    session: AsyncSession, transfer: ProtectionFileTransfer, days: int
) -> list[outbox.Draft]:
    people = await repository.holders(session, Role.DSL, transfer.trust_id, transfer.school_id)
    people = people or await repository.holders(session, Role.TRUST_DSL, transfer.trust_id, None)
    school = await repository.school(session, transfer.school_id)
    assert school is not None, "a transfer's school is kept"
    values = {
        "school_name": school.name,
        "school_phone": spoken(school.phone) if school.phone else NO_PHONE,
        "days": str(days),
    }
    return [
        outbox.Draft(
            kind=MessageKind.SAFEGUARDING_TRANSFER,
            school_id=transfer.school_id,
            recipient=reach.staff(staff_id),
            cause_kind=TRANSFER_CAUSE,
            cause_id=uuid.uuid5(transfer.id, "overdue"),
            values={**values, "staff_name": first_name(name)},
        )
        for staff_id, name in people
    ]
