"""Tenancy, in two layers.

The floor: every ORM statement run by a session is limited to the trust of the session's scope
(SQLAlchemy's global-criteria recipe, `with_loader_criteria` on `TrustScoped`). A session with no
scope refuses to query scoped tables at all, so a forgotten scope fails loudly instead of leaking.

The narrowing: each domain's repository derives from `ScopedRepository` and limits rows further to
the caller's schools (or household, or need-to-know). Out-of-scope rows are simply not found, so
they answer 404 exactly like rows that do not exist.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

from sqlalchemy import event, false
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlmodel import SQLModel

from app.core.models import TrustScoped

SCOPE_KEY = "threshold.scope"


@dataclass(frozen=True, slots=True)
class Scope:
    """What a session may see. Built from the authenticated principal, never from input."""

    trust_id: UUID | None
    school_ids: frozenset[UUID] | None = None  # None: every school of the trust
    all_trusts: bool = False  # the platform operator and explicit system work only
    reason: str | None = None  # why a system scope was opened (greppable)

    def sees_school(self, school_id: UUID) -> bool:
        if self.all_trusts:
            return True
        return self.school_ids is None or school_id in self.school_ids


NO_SCOPE = Scope(trust_id=None)


def system_scope(reason: str) -> Scope:
    """Unrestricted scope for workers, the CLI and authentication itself; say why."""
    if not reason:
        raise ValueError("a system scope needs a reason")
    return Scope(trust_id=None, all_trusts=True, reason=reason)


def set_scope(session: Any, scope: Scope) -> None:
    """Attach a scope to a session (sync or async)."""
    session.info[SCOPE_KEY] = scope


def get_scope(session: Any) -> Scope:
    return session.info.get(SCOPE_KEY, NO_SCOPE)  # type: ignore[no-any-return]


@contextmanager
def scoped(session: Any, scope: Scope) -> Iterator[None]:
    previous = session.info.get(SCOPE_KEY)
    set_scope(session, scope)
    try:
        yield
    finally:
        if previous is None:
            session.info.pop(SCOPE_KEY, None)
        else:
            set_scope(session, previous)


@event.listens_for(Session, "do_orm_execute")
def _apply_trust_floor(state: ORMExecuteState) -> None:
    if state.is_column_load or state.is_relationship_load:
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    scope = get_scope(state.session)
    if scope.all_trusts:
        return
    state.statement = state.statement.options(*_floor(scope.trust_id))


@lru_cache(maxsize=1024)
def _floor(trust_id: UUID | None) -> tuple[Any, ...]:
    """The criteria for one trust, built once and reused by every statement of its requests:
    building them per statement was the dearest part of a small query. Plain expressions, so
    the trust id is a bound value and one compiled statement serves every trust."""
    return tuple(
        with_loader_criteria(
            model,
            false() if trust_id is None else model.trust_id == trust_id,
            include_aliases=True,
        )
        for model in _trust_scoped_models()
    )


def _trust_scoped_models() -> list[type[Any]]:
    # Listed per mapped class: the mixin itself is a pydantic class SQLAlchemy cannot inspect.
    if not _models:
        _models.extend(
            mapper.class_
            for mapper in SQLModel._sa_registry.mappers
            if issubclass(mapper.class_, TrustScoped)
        )
    return _models


_models: list[type[Any]] = []

__all__ = ["NO_SCOPE", "Scope", "get_scope", "scoped", "set_scope", "system_scope"]
