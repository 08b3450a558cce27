"""Alembic runs on the app's own async engine and metadata, for SQLite and PostgreSQL alike."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import app.models  # noqa: F401  - registers every table on the metadata
from app.core.db import get_database, make_engine
from app.core.models import metadata
from app.core.settings import get_settings

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode recreates tables
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    connection_from_caller = config.attributes.get("connection")
    if connection_from_caller is not None:
        _configure(connection_from_caller)
        return
    # Its own unpooled engine: alembic runs on a fresh event loop, and a pooled connection
    # belongs to the loop that opened it.
    engine = make_engine(get_database().url, get_settings(), pooled=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=get_database().url, target_metadata=metadata, render_as_batch=True, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
