"""Hot reads, the lean path: a Core statement built once, compiled once per dialect, and run on the
request's own connection with no ORM in between (no entity hydration, no per-statement criteria
options, no statement building per request).

On PostgreSQL the compiled SQL goes straight to asyncpg on the session's connection, so it runs in
the request's transaction if one has begun (and a read-only request never sends BEGIN at all);
elsewhere it runs through SQLAlchemy Core on the same connection. Rows come back as mappings.

Bypassing the ORM bypasses the tenancy floor too (core/tenancy.py), so a lean statement names the
trust itself: it takes `trust_id` as a parameter, and callers fill it with `trust_of(session)`,
the scope the request was authenticated with, never with input.
"""

from collections.abc import Mapping, Sequence
from typing import Any, cast
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import pydantic_core
from sqlalchemy import ColumnElement, event, false, true
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql import Select
from sqlalchemy.util import greenlet_spawn
from starlette.responses import Response

from app.core.errors import NotFound
from app.core.tenancy import Scope, get_scope

Row = Mapping[str, Any]


class LeanQuery:
    """A statement with named bind parameters (`bindparam("visit_id")`), run many times."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {}

    def _for(self, dialect: Dialect) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            if any(b.expanding for b in compiled.binds.values()):
                raise ValueError("lean statements take no IN lists; use a join or ANY()")
            found = (str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params))
            self._compiled[dialect.name] = found
        return found

    async def all(self, session: AsyncSession, **params: Any) -> Sequence[Row]:
        found: tuple[Dialect, Any] | None = session.info.get(_DRIVER)
        if found is None:
            found = await greenlet_spawn(_driver_of, session.sync_session)
            session.info[_DRIVER] = found
        dialect, driver = found
        if driver is None:
            result = await (await session.connection()).execute(self.statement, params)
            mappings: Sequence[Row] = result.mappings().all()
            return mappings
        sql, names, defaults = self._for(dialect)
        values = defaults | params
        try:
            rows = await driver.fetch(sql, *[values[n] for n in names])
        except Exception as exc:
            raise driver_error(sql, exc) from exc
        return cast(Sequence[Row], rows)

    async def first(self, session: AsyncSession, **params: Any) -> Row | None:
        rows = await self.all(session, **params)
        return rows[0] if rows else None


_DRIVER = "threshold.lean.driver"


def driver_error(sql: str, exc: Exception) -> Exception:
    """The driver's own error as SQLAlchemy would have raised it, since the lean path skips
    SQLAlchemy's translation: the error handlers then answer as for any statement (503 for a
    database gone, restarting or too slow, by its SQLSTATE; 409 for a constraint; 500 for a
    bug). Anything that is not a database error is left as it is."""
    state = str(getattr(exc, "sqlstate", "") or "")
    if state.startswith("23"):
        return IntegrityError(sql, None, exc)
    if state:
        return DBAPIError(sql, None, exc)
    if isinstance(exc, OSError):
        return OperationalError(sql, None, exc)
    if isinstance(exc, asyncpg.exceptions.InterfaceError):
        # "connection is closed": the server ended it (as SQLAlchemy's dialect reads it too).
        closed = "closed" in str(exc)
        return DBAPIError(sql, None, exc, connection_invalidated=closed)
    if isinstance(exc, asyncpg.exceptions.InternalClientError):
        # The driver's protocol state broken mid-statement: met when the server went away
        # during a restart (bench/faults.py); the connection is of no further use.
        return DBAPIError(sql, None, exc, connection_invalidated=True)
    return exc


@event.listens_for(Session, "after_transaction_end")
def _forget_driver(session: Session, transaction: SessionTransaction) -> None:
    # The session holds its connection until its transaction ends; then it may get another.
    if transaction.parent is None:
        session.info.pop(_DRIVER, None)


def _driver_of(session: Session) -> tuple[Dialect, Any]:
    """The session's connection (checked out now if need be) and, on asyncpg, its driver
    connection: one hop into SQLAlchemy's greenlet instead of two."""
    connection = session.connection()
    if connection.dialect.driver != "asyncpg":
        return connection.dialect, None
    return connection.dialect, connection.connection.driver_connection


def trust_of(session: AsyncSession) -> UUID:
    """The trust the request's scope allows. Lean reads serve callers inside one trust; the
    platform operator (every trust, no trust of its own) holds none of their permissions."""
    trust_id = get_scope(session).trust_id
    if trust_id is None:
        raise NotFound("Nothing here is visible to an account outside every trust.")
    return trust_id


def in_trust(model: Any, scope: Scope) -> ColumnElement[bool]:
    """The trust floor written into a statement, for statements that run without the ORM."""
    if scope.all_trusts:
        return true()
    if scope.trust_id is None:
        return false()
    return model.trust_id == scope.trust_id  # type: ignore[no-any-return]


def json_response(content: Any, *, headers: Mapping[str, str] | None = None) -> Response:
    """Content already shaped as its response model (field order, withheld fields as None),
    serialized once by pydantic-core: the same bytes the model would give, without building
    and re-validating a model per row."""
    return Response(pydantic_core.to_json(content), headers=headers, media_type="application/json")
