from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from app.core.schemas import Input, Output, ShownOnce

Scope = Literal["roster:read", "roster:write", "visits:read"]


class IntegrationClientCreate(Input):
    name: str = Field(min_length=1, max_length=200, examples=["Arbor roster feed"])
    school_ids: list[UUID] = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=3)


class IntegrationClientRead(Output):
    id: UUID
    name: str
    client_id: str
    school_ids: list[UUID]
    scopes: list[str]
    created_at: datetime
    secret_rotated_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class IntegrationClientCredentials(IntegrationClientRead):
    client_secret: Annotated[str | None, ShownOnce()] = Field(
        description="Shown once, now: Threshold keeps only a digest of it. Null only in the "
        "replay of a request with an Idempotency-Key, which never stores it (rotate the secret)."
    )
