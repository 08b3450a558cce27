"""Machine clients: an MIS or an aggregator that keeps the roster true and reads visits back."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped, Timestamped, TrustScoped, Versioned
from app.core.types import UTCDateTime


class IntegrationClient(Identified, Timestamped, Versioned, TrustScoped, table=True):
    __tablename__ = "integration_client"

    name: str = Field(max_length=200)
    client_id: str = Field(max_length=64, unique=True)
    secret_digest: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    created_by: UUID | None = Field(default=None, foreign_key="staff_member.id")
    secret_rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Counts rotations; access tokens carry the count they were issued under, so a rotation
    # ends them at once (their `iat` has whole seconds, too coarse to compare with a time).
    secret_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IntegrationClientSchool(Identified, SchoolScoped, table=True):
    """A school the client may read or write; it sees nothing of the trust's other schools."""

    __tablename__ = "integration_client_school"
    __table_args__ = (UniqueConstraint("client_id", "school_id"),)

    client_id: UUID = Field(foreign_key="integration_client.id", index=True, ondelete="CASCADE")
