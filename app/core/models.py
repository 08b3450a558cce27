"""Mixins every table builds on: public UUID ids, timestamps, a row version, tenancy columns."""

import functools
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, MetaData, Table, Update, event
from sqlalchemy import inspect as inspect_row
from sqlalchemy.orm import ORMExecuteState, Session
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


FIRST_VERSION = 1


class Versioned(SQLModel):
    """A row version, the source of a resource's ETag and of optimistic locking on PATCH.

    Nothing sets it by hand: every change to a row raises it by one, here, however it is
    written (see the two listeners below)."""

    version: int = Field(default=FIRST_VERSION, nullable=False)


def next_version(table: Table) -> ColumnElement[int]:
    """The one way a row's version is raised in SQL."""
    return table.c.version + 1


@functools.cache
def _is_versioned(table_name: str) -> bool:
    """Asked on every UPDATE statement, so answered once per table: a table exists only once its
    model is defined, so its answer never changes."""
    return table_name in _versioned_tables()


def _versioned_tables() -> set[str]:
    found: set[str] = set()
    pending: list[type[Any]] = [Versioned]
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        table = getattr(model, "__table__", None)
        if isinstance(table, Table):
            found.add(table.name)
    return found


@event.listens_for(Session, "before_flush")
def _bump_changed_rows(session: Session, _context: Any, _instances: Any) -> None:
    """A row changed through the ORM is written at its next version."""
    for row in session.dirty:
        if not isinstance(row, Versioned) or not session.is_modified(row):
            continue
        if not inspect_row(row).attrs.version.history.has_changes():
            row.version += 1


@event.listens_for(Session, "do_orm_execute")
def _bump_updated_rows(state: ORMExecuteState) -> None:
    """An UPDATE statement (the lean path, bulk changes) sets `version = version + 1` in SQL,
    whatever it sets itself, so a row can never keep its ETag through a change."""
    statement = state.statement
    if not state.is_update or not isinstance(statement, Update):
        return
    table = statement.table
    if isinstance(table, Table) and _is_versioned(table.name):
        state.statement = statement.values(version=next_version(table))


class TrustScoped(SQLModel):
    """Rows that belong to one trust. The tenancy floor adds `trust_id = :scope` to every query."""

    trust_id: UUID = Field(foreign_key="trust.id", index=True, nullable=False)


class SchoolScoped(TrustScoped):
    """Rows that belong to one school of a trust; repositories narrow them to the caller's schools."""

    school_id: UUID = Field(foreign_key="school.id", index=True, nullable=False)
