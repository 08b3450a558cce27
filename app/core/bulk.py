"""Bulk writes, the lean path: rows go to PostgreSQL through COPY, elsewhere through one
multi-row INSERT. Callers give plain dicts with every column they set (defaults included,
since neither path runs the models' Python-side defaults)."""

from operator import itemgetter
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
    # Threshold's enums are StrEnums, which the driver writes as the text they are.
    pick = itemgetter(*columns)
    records = [pick(row) if len(columns) > 1 else (pick(row),) for row in rows]
    raw = await connection.get_raw_connection()
    # COPY runs on the session's own connection, inside its transaction: it commits or rolls
    # back with everything else the request did.
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, columns=columns, records=records
    )
