"""Bulk writes, the lean path: rows go to PostgreSQL through COPY, elsewhere through one
multi-row INSERT; updates as one executemany per shape of row. Callers give plain dicts with
every column they set (defaults included, since neither path runs the models' Python-side
defaults).

None of them passes through the ORM, so none gets the trust floor (core/tenancy.py): each
writer checks its rows against the session's scope, or names the trust in its statement.
"""

import json
from operator import itemgetter
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, ColumnElement, Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import next_version
from app.core.tenancy import get_scope


def ensure_in_trust(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """The floor for rows written without the ORM: a trust-scoped table takes rows of the
    session's own trust only (a system scope writes for any)."""
    scope = get_scope(session)
    if "trust_id" not in table.c or scope.all_trusts:
        return
    if any(row.get("trust_id") != scope.trust_id for row in rows):
        raise ValueError(f"{table.name}: a row outside the session's trust was refused")


async def insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    ensure_in_trust(session, table, rows)
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        # tenancy-exempt: the rows were checked against the session's trust just above
        await session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    # Threshold's enums are StrEnums, which the driver writes as the text they are; COPY takes
    # JSON columns as their text.
    as_json = [c for c in columns if isinstance(table.c[c].type, JSON)]
    if as_json:
        rows = [row | {c: json.dumps(row[c]) for c in as_json} for row in rows]
    pick = itemgetter(*columns)
    records = [pick(row) if len(columns) > 1 else (pick(row),) for row in rows]
    raw = await connection.get_raw_connection()
    # COPY runs on the session's own connection, inside its transaction: it commits or rolls
    # back with everything else the request did.
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, columns=columns, records=records
    )


async def update_rows(
    session: AsyncSession,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    trust_id: UUID,
    also: ColumnElement[bool] | None = None,
) -> None:
    """Update rows of one trust in place. Each row names the column it is matched on with a
    leading underscore ("_id": ...) and gives the values to set; `also` narrows every statement
    further (a school's own rows, say). Rows are grouped by the columns they set, as executemany needs
    one shape per statement: one statement per shape, never one per row."""
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_shape.setdefault(tuple(sorted(row)), []).append(row)
    for shape, group in by_shape.items():
        (match,) = [k for k in shape if k.startswith("_")]
        # Bound names may not be column names in an UPDATE's SET: prefix them.
        statement = (
            update(table)
            .where(table.c.trust_id == trust_id, table.c[match[1:]] == bindparam("b" + match))
            .values({k: bindparam("b_" + k) for k in shape if k != match})
        )
        if also is not None:
            statement = statement.where(also)
        params = [
            {("b" if k.startswith("_") else "b_") + k: v for k, v in row.items()} for row in group
        ]
        await session.execute(statement, params)


async def upsert_row(
    session: AsyncSession,
    table: Table,
    values: dict[str, Any],
    *,
    conflict: list[str],
    keep: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Insert one row, or replace the existing row with the same `conflict` columns in the same
    statement (so concurrent writers never race between a read and an insert). Columns in
    `keep` are left as they were on replace; `version` counts each replacement. Returns the row.

    The statement is built once per table and set of columns, its values bound per call, and run
    on the session's connection in its transaction (a hot write: the parent's answer)."""
    ensure_in_trust(session, table, [values])
    await session.flush()  # what session.execute would do first: pending ORM rows go ahead
    connection = await session.connection()
    dialect = connection.dialect.name
    key = (table.name, dialect, tuple(values), tuple(conflict), keep)
    statement = _upserts.get(key)
    if statement is None:
        statement = _upsert(table, dialect, list(values), conflict, keep)
        _upserts[key] = statement
    row = (await connection.execute(statement, values)).mappings().one()
    return dict(row)


_upserts: dict[tuple[Any, ...], Any] = {}


def _upsert(
    table: Table, dialect: str, columns: list[str], conflict: list[str], keep: frozenset[str]
) -> Any:
    module = postgresql if dialect == "postgresql" else sqlite
    # tenancy-exempt: upsert_row checks each row against the session's trust before it runs this
    statement = module.insert(table).values(
        {name: bindparam(name, type_=table.c[name].type) for name in columns}
    )
    replace = {k: statement.excluded[k] for k in columns if k not in keep and k not in conflict}
    if "version" in table.c:
        replace["version"] = next_version(table)
    statement = statement.on_conflict_do_update(index_elements=conflict, set_=replace)
    return statement.returning(*table.c)
