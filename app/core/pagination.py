"""The one way to list: keyset pagination on a stable order that ends in `id`.

Keyset rather than offset because roster syncs insert rows while staff and parents page; an
offset would skip or repeat rows. Cursors are opaque to clients, and sealed (core/sealing.py):
a cursor holds the last row's sort values, which for pupils are children's legal names, and
cursors travel in URLs, browser histories and proxy logs. Sealing also means every cursor that
opens is one this API issued, so its values need no more checking than their types.
"""

import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, bindparam, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeDecorator

from app.core.errors import Unprocessable
from app.core.lean import LeanQuery, Row
from app.core.sealing import seal, unseal

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None


# `async` though it awaits nothing: FastAPI runs a plain `def` dependency in a worker thread,
# a hand-off that cost more than the rest of a small request.
async def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        # Sealed sort values: a little under 200 characters for two short names, up to about
        # 1,200 for two of 100 characters outside Latin-1.
        Query(max_length=2048, description="The `next_cursor` of the previous page."),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageDep = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class SortKey:
    # Model attributes are typed as their values under SQLModel; at run time they are columns.
    column: Any
    descending: bool = False


class InvalidCursor(Unprocessable):
    type, title = "invalid-cursor", "Invalid cursor"


# Sealed with the same keys as invitation codes; the prefix keeps one kind of sealed text from
# ever being read as the other.
_PURPOSE = "cursor:"


def _encode(values: Sequence[Any]) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":"), ensure_ascii=False)
    return seal(_PURPOSE + raw).rstrip("=")


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _decode(cursor: str, keys: Sequence[SortKey]) -> list[Any]:
    opened = unseal(cursor + "=" * (-len(cursor) % 4))
    try:
        if opened is None or not opened.startswith(_PURPOSE):
            raise ValueError
        values = json.loads(opened.removeprefix(_PURPOSE))
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError  # a cursor of another list
        return [_typed(key, value) for key, value in zip(keys, values, strict=True)]
    except (ValueError, TypeError, AttributeError):
        raise InvalidCursor(
            "The cursor is not one this API issued for this list (or was issued under a "
            "retired key); start again without it."
        ) from None


def _typed(key: SortKey, value: Any) -> Any:
    column_type = key.column.type
    if isinstance(column_type, TypeDecorator):  # UTCDateTime: the type it stores as
        column_type = column_type.impl_instance
    python_type = column_type.python_type
    if value is None:
        return None
    if python_type is UUID:
        return UUID(hex=value)
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if not isinstance(value, python_type):
        raise ValueError
    return value


def _after(keys: Sequence[SortKey], values: Sequence[Any]) -> Any:
    clauses = []
    for i, key in enumerate(keys):
        equal = [keys[j].column == values[j] for j in range(i)]
        step = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal, step))
    return or_(*clauses)


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    params: PageParams,
    keys: Sequence[SortKey],
    *,
    mappings: bool = False,
) -> tuple[list[Any], str | None]:
    """Rows of one page and the cursor of the next. `keys` must end in a unique column.

    With `mappings`, a statement of columns gives plain row mappings instead of ORM objects;
    the hottest lists take `lean_page` below.
    """
    if params.cursor:
        statement = statement.where(_after(keys, _decode(params.cursor, keys)))
    order = [k.column.desc() if k.descending else k.column.asc() for k in keys]
    statement = statement.order_by(*order).limit(params.limit + 1)
    result = await session.execute(statement)
    rows: list[Any] = list(result.mappings().all() if mappings else result.scalars().all())
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        values = [last[k.column.key] if mappings else getattr(last, k.column.key) for k in keys]
        next_cursor = _encode(values)
    return rows, next_cursor


_lean_pages: dict[Hashable, LeanQuery] = {}


async def lean_page(
    session: AsyncSession,
    shape: Hashable,
    build: Callable[[], Select[Any]],
    params: PageParams,
    keys: Sequence[SortKey],
    values: dict[str, Any],
) -> tuple[list[Row], str | None]:
    """`paginate` for hot lists on the lean path (core/lean.py). `build` makes the statement with
    named bind parameters, once per `shape` (whatever decides which clauses it has); `values`
    fills them, the trust's included. The page's rows come back as mappings."""
    after = _decode(params.cursor, keys) if params.cursor else None
    key = (shape, after is not None, params.limit)
    query = _lean_pages.get(key)
    if query is None:
        statement = build()
        if after is not None:
            statement = statement.where(
                _after(keys, [bindparam(f"after_{i}") for i in range(len(keys))])
            )
        order = [k.column.desc() if k.descending else k.column.asc() for k in keys]
        query = LeanQuery(statement.order_by(*order).limit(params.limit + 1))
        if len(_lean_pages) >= 1024:  # shapes are few; page sizes and filters bound the rest
            _lean_pages.clear()
        _lean_pages[key] = query
    bound = values | {f"after_{i}": v for i, v in enumerate(after or ())}
    rows = list(await query.all(session, **bound))
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        next_cursor = _encode([rows[-1][k.column.key] for k in keys])
    return rows, next_cursor
