"""Child protection files over HTTP: the file, its legal hold and its transfers. Every route
admits every kind of caller past the gate, so that outside need-to-know a file or a transfer
answers 404 as if it did not exist, never 403."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Response

from app.core.auth import require
from app.core.db import SessionDep
from app.core.idempotency import IdempotentRoute
from app.core.principal import Principal, PrincipalKind
from app.safeguarding import files
from app.safeguarding.files_schemas import (
    ConfirmationWrite,
    LegalHoldRead,
    LegalHoldWrite,
    ProtectionFileRead,
    SchoolTransferRead,
    TransferRead,
    TransferWrite,
)

pupils = APIRouter(prefix="/pupils", tags=["safeguarding"], route_class=IdempotentRoute)
schools = APIRouter(prefix="/schools", tags=["safeguarding"], route_class=IdempotentRoute)
transfers = APIRouter(
    prefix="/protection-file-transfers", tags=["safeguarding"], route_class=IdempotentRoute
)

# Need-to-know is decided by the file's repositories (404), not at the gate (403).
Anyone = Annotated[Principal, require(kinds=frozenset(PrincipalKind))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "There is no such file or transfer, or it is not yours to know"}
}
STEP: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    403: {"description": "The step is another school's to take"},
    409: {"description": "The transfer cannot take this step (see the detail)"},
}


@pupils.get(
    "/{pupil_id}/protection-file",
    summary="A pupil's child protection file: concerns, review date, legal hold and transfers",
    responses=NOT_FOUND,
)
async def get_protection_file(
    pupil_id: UUID, session: SessionDep, who: Anyone
) -> ProtectionFileRead:
    """The school's DSLs and the trust's. Every read is written to the audit log."""
    return await files.read_file(session, who, pupil_id)


@pupils.put(
    "/{pupil_id}/protection-file/legal-hold",
    summary="Set (with its reason) or lift a child protection file's legal hold (DSLs)",
    responses=NOT_FOUND,
)
async def set_legal_hold(
    pupil_id: UUID, body: LegalHoldWrite, session: SessionDep, who: Anyone
) -> LegalHoldRead:
    """While on hold nothing in the file is deleted, whatever its review date says."""
    return await files.set_legal_hold(session, who, pupil_id, body)


@pupils.post(
    "/{pupil_id}/protection-file/transfers",
    status_code=201,
    summary="Record a child protection file sent to the school the pupil moved to (DSLs)",
    responses=NOT_FOUND,
)
async def record_transfer(
    pupil_id: UUID, body: TransferWrite, session: SessionDep, who: Anyone
) -> TransferRead:
    """Within the trust the receiving school's DSLs give a receipt; to an outside school,
    record its confirmation. Without either after THRESHOLD_SAFEGUARDING_TRANSFER_OVERDUE_DAYS
    the school's DSLs are alerted."""
    return await files.record_transfer(session, who, pupil_id, body)


@schools.get(
    "/{school_id}/protection-file-transfers",
    summary="The school's child protection file transfers, outgoing and incoming (DSLs)",
    responses=NOT_FOUND,
)
async def list_protection_file_transfers(
    school_id: UUID, session: SessionDep, who: Anyone
) -> list[SchoolTransferRead]:
    return await files.list_transfers(session, who, school_id)


@transfers.get(
    "/{transfer_id}",
    summary="One protection file transfer (the sending and the receiving school's DSLs)",
    responses=NOT_FOUND,
)
async def get_protection_file_transfer(
    transfer_id: UUID, session: SessionDep, response: Response, who: Anyone
) -> TransferRead:
    read, tag = await files.get_transfer(session, who, transfer_id)
    response.headers["ETag"] = tag
    return read


@transfers.post(
    "/{transfer_id}/receipt",
    summary="Give the receipt for a file received from another school of the trust (its DSLs)",
    responses=STEP,
)
async def give_transfer_receipt(
    transfer_id: UUID, session: SessionDep, who: Anyone
) -> TransferRead:
    """From then on the receiving school's DSLs read the concerns the file carried."""
    return await files.give_receipt(session, who, transfer_id)


@transfers.post(
    "/{transfer_id}/confirmation",
    summary="Record an outside school's confirmation that it received the file (sending DSLs)",
    responses=STEP,
)
async def record_transfer_confirmation(
    transfer_id: UUID, body: ConfirmationWrite, session: SessionDep, who: Anyone
) -> TransferRead:
    return await files.record_confirmation(session, who, transfer_id, body)
