"""Bulk writes, the lean path: rows go to PostgreSQL through COPY, elsewhere through one
multi-row INSERT. Callers give plain dicts with every column they set (defaults included,
since neither path runs the models' Python-side defaults)."""

import json
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Table, bindparam, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import next_version


async def insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
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
    statement = module.insert(table).values(
        {name: bindparam(name, type_=table.c[name].type) for name in columns}
    )
    replace = {k: statement.excluded[k] for k in columns if k not in keep and k not in conflict}
    if "version" in table.c:
        replace["version"] = next_version(table)
    statement = statement.on_conflict_do_update(index_elements=conflict, set_=replace)
    return statement.returning(*table.c)
