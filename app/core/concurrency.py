"""ETags and If-Match: optimistic concurrency for single resources.

A resource's ETag is made here from its id and row version (which core/models.py raises on
every change); a set replaced whole, with no row of its own (a programme's second-adult pool),
takes its members' digest as its version. Writes that take If-Match (PATCH, a programme's
transitions) must send it (428 without it, 412 when stale), and the write itself is conditional
on the version, so two concurrent writers cannot both succeed.
"""

import hashlib
from collections.abc import Iterable
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, update

from app.core.errors import PreconditionFailed, PreconditionRequired
from app.core.models import Versioned
from app.core.types import utcnow


async def _if_match(  # async: no worker-thread hand-off (see pagination.page_params)
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="The ETag of the version you read; required on PATCH, PUT and DELETE of "
            "a single resource.",
            max_length=200,
        ),
    ] = None,
) -> str | None:
    return if_match


IfMatch = Annotated[str | None, Depends(_if_match)]


def etag(identity: UUID, version: int | str) -> str:
    """The one way an ETag is made: which resource, at which row version."""
    return f'"{identity.hex}.{version}"'


def etag_of(obj: Any) -> str:
    return etag(obj.id, obj.version)


def set_etag(response: Response, obj: Any, *, identity: UUID | None = None) -> None:
    """`identity` names a resource that is not an id's own (a household's answer)."""
    response.headers["ETag"] = etag(identity or obj.id, obj.version)


def members_version(members: Iterable[UUID]) -> str:
    """The version of a set replaced whole: a digest of its members, in any order."""
    return hashlib.sha256(b"".join(sorted(m.bytes for m in members))).hexdigest()[:16]


def ensure_current(obj: Any, if_match: str | None) -> None:
    if if_match is None:
        raise PreconditionRequired(
            "Send If-Match with the ETag you last read, so you cannot overwrite a change you "
            "have not seen."
        )
    ensure_matches(etag_of(obj), if_match)


def ensure_matches(current: str, if_match: str | None) -> None:
    """412 unless `if_match` names the current ETag (or `*`); no If-Match passes, for writes
    where it is optional."""
    if if_match is None:
        return
    # If-Match compares strongly (RFC 9110, 13.1.1): a weak tag W/"..." matches nothing, since
    # it promises only an equivalent representation, not the version being overwritten.
    offered = {tag.strip() for tag in if_match.split(",")}
    if "*" not in offered and current not in offered:
        raise PreconditionFailed(
            "The resource has changed since you read it; fetch it again and reapply your change."
        )


async def save_versioned(
    session: AsyncSession, obj: Versioned, changes: dict[str, Any], if_match: str | None
) -> None:
    """Apply `changes` only if the row is still at the version the client read (the UPDATE
    raises the version, as every one does: see core/models.py)."""
    ensure_current(obj, if_match)
    model = type(obj)
    expected = obj.version
    values = dict(changes)
    if hasattr(obj, "updated_at"):
        values["updated_at"] = utcnow()
    obj_id: UUID = obj.id  # type: ignore[attr-defined]
    result = await session.execute(
        update(model)
        .where(col(model.id) == obj_id, col(model.version) == expected)  # type: ignore[attr-defined]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise PreconditionFailed(
            "The resource was changed by someone else a moment ago; fetch it again."
        )
    # The row is already written; record the new values as loaded, not as pending changes.
    for key, value in (values | {"version": expected + 1}).items():
        set_committed_value(obj, key, value)
