"""Models and migrations agree, and the chain runs up, down and up again on a fresh database."""

import asyncio
import uuid
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text

from app.cli import ROOT
from app.core import db
from app.core.models import metadata
from app.core.settings import get_settings
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL


def _diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_models_match_migrations() -> None:
    async with db.get_database().engine.connect() as connection:
        differences = await connection.run_sync(_diff)
    assert differences == [], (
        f"models and migrations differ; autogenerate a migration: {differences}"
    )


def _alembic(*steps: tuple[str, str]) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    for step, target in steps:
        getattr(command, step)(config, target)


async def _admin(statement: str) -> None:
    base = db.Database(get_settings())
    async with base.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(statement))
    await base.dispose()


async def test_upgrade_downgrade_upgrade_on_a_fresh_database(tmp_path: Any) -> None:
    name = f"threshold_mig_{uuid.uuid4().hex[:8]}"
    if IS_POSTGRES:
        await _admin(f"CREATE DATABASE {name}")
        url = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    previous = db.get_database()
    settings = get_settings().model_copy(update={"database_url": url})
    try:
        fresh = db.Database(settings)
        db.use_database(fresh)
        await asyncio.to_thread(
            _alembic, ("upgrade", "head"), ("downgrade", "base"), ("upgrade", "head")
        )
        db.use_database(db.Database(settings))
        async with db.get_database().engine.connect() as connection:
            differences = await connection.run_sync(_diff)
            tables = await connection.run_sync(lambda c: c.dialect.get_table_names(c))
        await db.get_database().dispose()
        assert differences == []
        assert {"trust", "school", "staff_member", "audit_entry"} <= set(tables)
    finally:
        db.use_database(previous)
        if IS_POSTGRES:
            await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
