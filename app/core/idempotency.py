"""Idempotency-Key on creating requests: a retried request creates nothing twice.

Every router builds its routes with `IdempotentRoute`, which gives each creating POST (one that
answers 201 Created or 202 Accepted) the `Idempotency-Key` header and wraps its handler, so no
route repeats the mechanism and a new one cannot forget it. `idempotency(...)` on a handler
overrides the rule, with the reason.

The key is claimed in the same transaction as the creation, so the record and the object exist
together or not at all; a concurrent duplicate waits on the unique index and then gets 409.
Records live in the database, shared by every API process, and expire after a day. A key belongs
to its caller, and to one request: the same key with a different method, path, query or body is
refused (422).

A record never holds a secret: fields marked ShownOnce (core/schemas.py) are stored, and so
replayed, as null. A client that lost the first answer gets the same status and body without the
secret, and asks for a new one where the API offers it (a staff member's invitation).
"""

import functools
import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import JSON, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, col, delete, select
from starlette.datastructures import UploadFile

from app.core.db import SessionDep
from app.core.errors import Conflict, Unprocessable
from app.core.models import Identified
from app.core.schemas import without_secrets
from app.core.types import UTCDateTime, utcnow

RETENTION = timedelta(hours=24)
E = TypeVar("E", bound=Callable[..., Any])
# The answers of a request that creates something: made now, or accepted to be made by a job.
CREATED = frozenset({201, 202})


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
        self, route: APIRoute, arguments: dict[str, Any], handle: Callable[[], Awaitable[Any]]
    ) -> Any:
        """The handler's answer, or the stored first answer to a request with this key."""
        if self.key is None:
            return await handle()
        principal = getattr(self.request.state, "principal", None)
        owner = f"{principal.kind}:{principal.id}" if principal else "anonymous"
        fingerprint = await _fingerprint(self.request, route, arguments)
        existing = await self._find(owner)
        if existing is not None:
            return self._replay(existing, fingerprint)
        record = IdempotencyRecord(principal_key=owner, key=self.key, request_digest=fingerprint)
        self.session.add(record)
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict("A request with this Idempotency-Key is already in progress.") from None
        result = await handle()
        record.status_code = route.status_code or 200
        record.response_body = without_secrets(_as_model(route, result))
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


def _as_model(route: APIRoute, result: Any) -> BaseModel:
    if isinstance(result, BaseModel):
        return result
    model: BaseModel = TypeAdapter(route.response_model).validate_python(
        result, from_attributes=True
    )
    return model


async def _fingerprint(request: Request, route: APIRoute, arguments: dict[str, Any]) -> str:
    """The request as the handler received it (validated, so spacing and key order in the
    JSON do not matter; an uploaded file by its content)."""
    digest = hashlib.sha256(f"{request.method} {request.url.path}".encode())
    for field in [*route.dependant.query_params, *route.dependant.body_params]:
        value = await _comparable(arguments.get(field.name))
        digest.update(b"\n" + field.name.encode() + b"=" + value)
    return digest.hexdigest()


async def _comparable(value: Any) -> bytes:
    if isinstance(value, UploadFile):  # Starlette's, which FastAPI's only subclasses
        content = await value.read()
        await value.seek(0)
        return hashlib.sha256(content).hexdigest().encode()
    if isinstance(value, BaseModel):  # serialised in Rust: a whole roster is megabytes
        return value.model_dump_json().encode()
    return json.dumps(jsonable_encoder(value), sort_keys=True).encode()


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
_KEY_PARAMETER = "idempotency_key_"
_HONOURED = "__honours_idempotency_key__"


def idempotency(honoured: bool, *, why: str) -> Callable[[E], E]:
    """Overrides the rule (creating POSTs honour the key) for one handler, saying why."""

    def mark(endpoint: E) -> E:
        setattr(endpoint, _HONOURED, honoured)
        return endpoint

    return mark


class IdempotentRoute(APIRoute):
    """The route class of every router (see the module's description)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        honoured = getattr(endpoint, _HONOURED, None)
        if honoured is None:
            creates = set(options.get("methods") or ()) == {"POST"}
            honoured = creates and options.get("status_code") in CREATED
        self.honours_idempotency_key: bool = honoured
        if honoured:
            endpoint = _once_per_key(endpoint, self)
        super().__init__(path, endpoint, **options)


def _once_per_key(endpoint: Callable[..., Awaitable[Any]], route: APIRoute) -> Callable[..., Any]:
    """`endpoint` with the Idempotency-Key header, answering a retry from its record."""
    if not inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{endpoint.__name__}: a handler that creates must be async")

    @functools.wraps(endpoint)
    async def once_per_key(**arguments: Any) -> Any:
        idempotency: Idempotency = arguments.pop(_KEY_PARAMETER)
        return await idempotency.once(route, arguments, lambda: endpoint(**arguments))

    signature = inspect.signature(endpoint, eval_str=True)
    parameter = inspect.Parameter(
        _KEY_PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=IdempotencyDep
    )
    once_per_key.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), parameter]
    )
    return once_per_key
