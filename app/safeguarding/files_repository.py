"""Reads and writes of child protection files: the legal hold, transfers and the concerns each
carried. A transfer is seen by the DSLs of the school that sent it, those of the school of the
trust it went to, and the trust's DSLs; to everyone else it does not exist (404)."""

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Select, false, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.core.permissions import Permission
from app.core.repository import ScopedRepository
from app.roster.models import Pupil
from app.safeguarding.models import (
    ConcernPupil,
    ProtectionFile,
    ProtectionFileTransfer,
    TransferredConcern,
)
from app.trusts.models import School, Trust


class TransferRepository(ScopedRepository[ProtectionFileTransfer]):
    model, label = ProtectionFileTransfer, "protection file transfer"

    def base_statement(self) -> Select[Any]:
        schools = self.principal.schools_with(Permission.SAFEGUARDING_READ)
        statement = select(ProtectionFileTransfer)
        if schools is None:  # a trust DSL: every school of the trust (the floor keeps the trust)
            return statement
        if not schools:
            return statement.where(false())
        return statement.where(
            or_(
                col(ProtectionFileTransfer.school_id).in_(schools),
                col(ProtectionFileTransfer.to_school_id).in_(schools),
            )
        )

    async def at_school(self, school_id: UUID) -> list[ProtectionFileTransfer]:
        """Outgoing and incoming, newest first."""
        rows = await self.session.scalars(
            self.base_statement()
            .where(
                or_(
                    col(ProtectionFileTransfer.school_id) == school_id,
                    col(ProtectionFileTransfer.to_school_id) == school_id,
                )
            )
            .order_by(
                col(ProtectionFileTransfer.recorded_at).desc(), col(ProtectionFileTransfer.id)
            )
        )
        return list(rows)

    async def of_pupil(self, pupil_id: UUID) -> list[ProtectionFileTransfer]:
        """Sent from the pupil's record, or received into it."""
        rows = await self.session.scalars(
            self.base_statement()
            .where(
                or_(
                    col(ProtectionFileTransfer.pupil_id) == pupil_id,
                    col(ProtectionFileTransfer.to_pupil_id) == pupil_id,
                )
            )
            .order_by(col(ProtectionFileTransfer.recorded_at), col(ProtectionFileTransfer.id))
        )
        return list(rows)


def received_by(schools: frozenset[UUID]) -> Select[Any]:
    """Ids of the concerns transfers carried to `schools` whose receipt has been given."""
    return (
        select(TransferredConcern.concern_id)  # tenancy: the trust floor; ids for a narrowing
        .join(
            ProtectionFileTransfer,
            col(ProtectionFileTransfer.id) == col(TransferredConcern.transfer_id),
        )
        .where(
            col(ProtectionFileTransfer.to_school_id).in_(schools),
            col(ProtectionFileTransfer.received_at).is_not(None),
        )
    )


def received_into(pupil_id: UUID) -> Select[Any]:
    """Ids of the concerns received into the pupil's file from the school they came from."""
    return (
        select(TransferredConcern.concern_id)  # tenancy: the trust floor; ids for a narrowing
        .join(
            ProtectionFileTransfer,
            col(ProtectionFileTransfer.id) == col(TransferredConcern.transfer_id),
        )
        .where(
            col(ProtectionFileTransfer.to_pupil_id) == pupil_id,
            col(ProtectionFileTransfer.received_at).is_not(None),
        )
    )


async def carried(session: AsyncSession, transfer_ids: Sequence[UUID]) -> dict[UUID, list[UUID]]:
    found: dict[UUID, list[UUID]] = {t: [] for t in transfer_ids}
    if not transfer_ids:
        return found
    rows = await session.execute(
        select(TransferredConcern.transfer_id, TransferredConcern.concern_id)  # tenancy: rows
        # of transfers already read through the scope
        .where(col(TransferredConcern.transfer_id).in_(list(transfer_ids)))
        .order_by(col(TransferredConcern.concern_id))
    )
    for transfer_id, concern_id in rows.all():
        found[transfer_id].append(concern_id)
    return found


async def file_of(session: AsyncSession, pupil_id: UUID) -> ProtectionFile | None:
    found: ProtectionFile | None = await session.scalar(
        select(ProtectionFile).where(  # tenancy: the trust floor; a pupil read through the scope
            col(ProtectionFile.pupil_id) == pupil_id
        )
    )
    return found


async def trust_of(session: AsyncSession, trust_id: UUID) -> Trust | None:
    found: Trust | None = await session.scalar(
        select(Trust).where(col(Trust.id) == trust_id)  # not scoped: the caller's own trust
    )
    return found


async def school_in_trust(session: AsyncSession, school_id: UUID) -> School | None:
    found: School | None = await session.scalar(
        select(School).where(col(School.id) == school_id)  # tenancy: the trust floor
    )
    return found


async def pupil_by_upn(session: AsyncSession, school_id: UUID, upn: str) -> UUID | None:
    found: UUID | None = await session.scalar(
        select(Pupil.id)  # tenancy: the trust floor; the receiving school checked here
        .where(col(Pupil.school_id) == school_id, col(Pupil.upn) == upn)
        .order_by(col(Pupil.on_roll).desc(), col(Pupil.id))
        .limit(1)
    )
    return found


async def overdue(session: AsyncSession, sent_on_or_before: date) -> list[ProtectionFileTransfer]:
    """Transfers sent on or before the day with neither a receipt nor a confirmation (the
    planner's system scope, across trusts by design)."""
    rows = await session.scalars(
        select(ProtectionFileTransfer)  # tenancy: the overdue-transfer planner's system scope
        .where(
            col(ProtectionFileTransfer.sent_date) <= sent_on_or_before,
            col(ProtectionFileTransfer.received_at).is_(None),
            col(ProtectionFileTransfer.confirmed_date).is_(None),
        )
        .order_by(col(ProtectionFileTransfer.sent_date), col(ProtectionFileTransfer.id))
    )
    return list(rows)


async def files_for_review(
    session: AsyncSession, trust_id: UUID | None
) -> list[tuple[Pupil, Trust, ProtectionFile | None]]:
    """Every pupil with a file (a concern names them, or one was received into their file),
    with their trust and the file's hold (the review command's system scope)."""
    named = select(ConcernPupil.pupil_id)  # tenancy: the review command's system scope
    received = select(ProtectionFileTransfer.to_pupil_id).where(  # tenancy: as above
        col(ProtectionFileTransfer.received_at).is_not(None)
    )
    statement = (
        select(Pupil, Trust, ProtectionFile)  # tenancy: the review command's system scope
        .join(Trust, col(Trust.id) == col(Pupil.trust_id))
        .outerjoin(ProtectionFile, col(ProtectionFile.pupil_id) == col(Pupil.id))
        .where(or_(col(Pupil.id).in_(named), col(Pupil.id).in_(received)))
        .order_by(col(Trust.name), col(Pupil.school_id), col(Pupil.date_of_birth), col(Pupil.id))
    )
    if trust_id is not None:
        statement = statement.where(col(Pupil.trust_id) == trust_id)
    rows = await session.execute(statement)
    return [(pupil, trust, file) for pupil, trust, file in rows.all()]


async def concern_ids_of_pupil(session: AsyncSession, pupil_id: UUID) -> list[UUID]:
    """The concerns naming the pupil (the sender's own file, read through need-to-know first)."""
    rows = await session.scalars(
        select(ConcernPupil.concern_id).where(  # tenancy: the trust floor; a pupil in scope
            col(ConcernPupil.pupil_id) == pupil_id
        )
    )
    return list(rows)
