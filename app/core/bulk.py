"""Bulk writes, the lean path: rows go to PostgreSQL through COPY, elsewhere through one
multi-row INSERT. Callers give plain dicts with every column they set (defaults included,
since neither path runs the models' Python-side defaults)."""

from enum import Enum
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    records = [tuple(_plain(row[c]) for c in columns) for row in rows]
    raw = await connection.get_raw_connection()
    # COPY runs on the session's own connection, inside its transaction: it commits or rolls
    # back with everything else the request did.
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, columns=columns, records=records
    )


def _plain(value: Any) -> Any:
    # Enums are stored as their values in VARCHAR columns (see core/types.enum_type).
    return value.value if isinstance(value, Enum) else value
