"""Idempotency-Key on creating POSTs: a retried request creates nothing twice.

The key is claimed in the same transaction as the creation, so the record and the object exist
together or not at all; a concurrent duplicate waits on the unique index and then gets 409.
Records live in the database, shared by every API process, and expire after a day.

A record never holds a secret: fields marked ShownOnce (core/schemas.py) are stored, and so
replayed, as null. A client that lost the first answer gets the same status and body without the
secret, and asks for a new one where the API offers it (a staff member's invitation).
"""

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, col, delete, select

from app.core.db import SessionDep
from app.core.errors import Conflict, Unprocessable
from app.core.models import Identified
from app.core.schemas import without_secrets
from app.core.types import UTCDateTime, utcnow

RETENTION = timedelta(hours=24)
M = TypeVar("M", bound=BaseModel)


class IdempotencyRecord(Identified, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("principal_key", "key"),)

    principal_key: str = Field(max_length=80)
    key: str = Field(max_length=255)
    request_digest: str = Field(max_length=64)
    status_code: int | None = None
    response_body: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class Idempotency:
    def __init__(self, session: AsyncSession, request: Request, key: str | None) -> None:
        self.session = session
        self.request = request
        self.key = key

    async def once(
        self, body: BaseModel, create: Callable[[], Awaitable[M]], status_code: int = 201
    ) -> M | JSONResponse:
        if self.key is None:
            return await create()
        principal = getattr(self.request.state, "principal", None)
        owner = f"{principal.kind}:{principal.id}" if principal else "anonymous"
        fingerprint = _fingerprint(self.request, body)
        existing = await self._find(owner)
        if existing is not None:
            return self._replay(existing, fingerprint)
        record = IdempotencyRecord(principal_key=owner, key=self.key, request_digest=fingerprint)
        self.session.add(record)
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict("A request with this Idempotency-Key is already in progress.") from None
        result = await create()
        record.status_code = status_code
        record.response_body = without_secrets(result)
        return result

    async def _find(self, owner: str) -> IdempotencyRecord | None:
        await self.session.execute(
            delete(IdempotencyRecord).where(
                col(IdempotencyRecord.created_at) < utcnow() - RETENTION
            )
        )
        return (
            await self.session.scalars(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.principal_key == owner, IdempotencyRecord.key == self.key
                )
            )
        ).one_or_none()

    @staticmethod
    def _replay(record: IdempotencyRecord, fingerprint: str) -> JSONResponse:
        if record.request_digest != fingerprint:
            raise Unprocessable(
                "This Idempotency-Key was used for a different request; use a new key."
            )
        if record.status_code is None:
            raise Conflict("A request with this Idempotency-Key is already in progress.")
        return JSONResponse(
            record.response_body,
            status_code=record.status_code,
            headers={"Idempotent-Replayed": "true"},
        )


def _fingerprint(request: Request, body: BaseModel) -> str:
    material = f"{request.method} {request.url.path}\n{body.model_dump_json()}"
    return hashlib.sha256(material.encode()).hexdigest()


async def _idempotency(  # async: no worker-thread hand-off (see pagination.page_params)
    request: Request,
    session: SessionDep,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=8,
            max_length=255,
            description="A unique key per intended creation; a retry with the same key and body "
            "returns the first answer instead of creating again.",
        ),
    ] = None,
) -> Idempotency:
    return Idempotency(session, request, key)


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]
