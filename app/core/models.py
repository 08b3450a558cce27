"""Mixins every table builds on: public UUID ids, timestamps, a row version, tenancy columns."""

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import MetaData
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utcnow

# Named constraints make migrations reviewable and let SQLite batch mode drop them by name.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


class Identified(SQLModel):
    id: UUID = Field(default_factory=uuid4, primary_key=True)


class Timestamped(SQLModel):
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


class Versioned(SQLModel):
    """A row version, the source of a resource's ETag and of optimistic locking on PATCH."""

    version: int = Field(default=1, nullable=False)


class TrustScoped(SQLModel):
    """Rows that belong to one trust. The tenancy floor adds `trust_id = :scope` to every query."""

    trust_id: UUID = Field(foreign_key="trust.id", index=True, nullable=False)


class SchoolScoped(TrustScoped):
    """Rows that belong to one school of a trust; repositories narrow them to the caller's schools."""

    school_id: UUID = Field(foreign_key="school.id", index=True, nullable=False)
