"""The audit log: who did or read what, when. Entries hold ids, never names, notes or contact details.

`record` appends in the caller's transaction (so a rolled-back change leaves no entry claiming it
happened); `record_now` writes in its own transaction for events that must survive a refusal,
such as a failed login.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field

from app.core.bulk import insert_rows
from app.core.db import open_session
from app.core.models import Identified, TrustScoped
from app.core.principal import Principal
from app.core.requestctx import current_request_id
from app.core.tenancy import system_scope
from app.core.types import UTCDateTime, utcnow

# Safeguarding's entries (a concern raised, read, moved on) are need-to-know: only its own area
# reads them (a DSL lists who read a file); the trust's audit log never shows them.
NEED_TO_KNOW_ACTIONS = "safeguarding."


class AuditEntry(Identified, TrustScoped, table=True):
    __tablename__ = "audit_entry"

    # Platform events (a failed login for an unknown address) have no trust; trusts never see them.
    trust_id: UUID | None = Field(default=None, foreign_key="trust.id", index=True)  # type: ignore[assignment]
    school_id: UUID | None = Field(default=None, foreign_key="school.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    actor_kind: str | None = Field(default=None, max_length=20)
    actor_id: UUID | None = Field(default=None, index=True)
    action: str = Field(max_length=64, index=True)
    subject_type: str | None = Field(default=None, max_length=40)
    subject_id: UUID | None = Field(default=None, index=True)
    request_id: str | None = Field(default=None, max_length=64)
    ip_address: str | None = Field(default=None, max_length=45)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)


def _entry(
    principal: Principal | None,
    action: str,
    *,
    subject_type: str | None,
    subject_id: UUID | None,
    trust_id: UUID | None,
    school_id: UUID | None,
    ip_address: str | None,
    details: dict[str, Any] | None,
) -> AuditEntry:
    return AuditEntry(
        trust_id=trust_id if trust_id is not None else (principal.trust_id if principal else None),
        school_id=school_id,
        actor_kind=principal.kind.value if principal else None,
        actor_id=principal.id if principal else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        request_id=current_request_id(),
        ip_address=ip_address,
        details=details or {},
    )


async def record(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    *,
    subject_type: str | None = None,
    subject_id: UUID | None = None,
    trust_id: UUID | None = None,
    school_id: UUID | None = None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        _entry(
            principal,
            action,
            subject_type=subject_type,
            subject_id=subject_id,
            trust_id=trust_id,
            school_id=school_id,
            ip_address=ip_address,
            details=details,
        )
    )


async def record_each(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    *,
    subject_type: str,
    subject_ids: Sequence[UUID],
    school_id: UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One entry per subject of a bulk change, written in one statement (the lean path) in the
    caller's transaction: each subject's history reads as if it had been changed alone."""
    entries = [
        _entry(
            principal,
            action,
            subject_type=subject_type,
            subject_id=subject_id,
            trust_id=None,
            school_id=school_id,
            ip_address=None,
            details=details,
        ).model_dump()
        for subject_id in subject_ids
    ]
    await insert_rows(session, AuditEntry.__table__, entries)  # type: ignore[attr-defined]


async def record_now(
    principal: Principal | None,
    action: str,
    *,
    subject_type: str | None = None,
    subject_id: UUID | None = None,
    trust_id: UUID | None = None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    async with open_session(system_scope("audit an event that outlives its request")) as session:
        await record(
            session,
            principal,
            action,
            subject_type=subject_type,
            subject_id=subject_id,
            trust_id=trust_id,
            ip_address=ip_address,
            details=details,
        )
