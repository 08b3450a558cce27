"""Models and migrations agree, and the chain runs up, down and up again on a fresh database."""

import asyncio
import uuid
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli import ROOT
from app.core import db
from app.core.models import metadata
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.core.types import UTCDateTime, utcnow
from app.staff.models import AuthSession, RoleGrant, StaffMember
from app.synthetic.generator import Generator, World
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


async def _fresh_database(tmp_path: Any) -> tuple[str, str]:
    """A new empty database: its URL and its name (for dropping it on PostgreSQL)."""
    name = f"threshold_mig_{uuid.uuid4().hex[:8]}"
    if IS_POSTGRES:
        await _admin(f"CREATE DATABASE {name}")
        return TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{name}", name
    return f"sqlite:///{tmp_path / 'fresh.db'}", name


STORED = {"id": "x", "invitation": {"staff_id": "y", "token": "secret-token"}}


async def _insert_world_as_of(session: AsyncSession, world: World) -> None:
    """insert_world for a database at an older revision: only the columns its tables have then
    (later migrations add columns the models already carry), written with Core."""
    connection = await session.connection()
    staff = [world.platform_admin, *(m for tw in world.trusts for m in tw.staff)]
    schools = [s for tw in world.trusts for s in tw.schools]
    groups: list[list[Any]] = [[tw.trust for tw in world.trusts], schools, staff, world.grants]
    for objects in groups:
        table: Any = type(objects[0]).__table__

        def present(sync: Any, name: str = table.name) -> set[str]:
            return {c["name"] for c in inspect(sync).get_columns(name)}

        columns = [c for c in table.columns if c.name in await connection.run_sync(present)]
        rows = [{c.name: getattr(obj, c.key) for c in columns} for obj in objects]
        # A bare table of those columns: the model's own would add its client-side defaults for
        # columns a later migration adds (the trust's safeguarding_review_years).
        bare = sa.table(table.name, *(sa.column(c.name, c.type) for c in columns))
        await session.execute(bare.insert(), rows)


async def _staff_rows_before_per_trust_emails(settings: Any) -> tuple[World, dict[Any, int | None]]:
    """A world at the revision before per-trust emails, with a sign-in session, a stored
    response holding a token, and an invitation to an account that has a password."""
    from app.core.idempotency import IdempotencyRecord

    await asyncio.to_thread(_alembic, ("upgrade", "2026_11_23_visits"))
    db.use_database(db.Database(settings))
    world = Generator(seed=3).world(trusts=2, schools_per_trust=1)
    used = world.trusts[0].staff[0]
    used.invitation_digest = "a" * 64
    async with db.open_session(system_scope("migration test")) as session:
        await _insert_world_as_of(session, world)
        session.add(AuthSession(staff_id=used.id))
        session.add(
            IdempotencyRecord(principal_key="s", key="k", request_digest="d", response_body=STORED)
        )
    async with db.open_session(system_scope("migration test")) as session:
        counts = {
            model: await session.scalar(select(func.count()).select_from(model))
            for model in (StaffMember, RoleGrant, AuthSession)
        }
    await db.get_database().dispose()
    return world, counts


async def test_per_trust_emails_keep_every_staff_row_and_drop_stored_tokens(
    tmp_path: Any,
) -> None:
    """The staff table is rebuilt on SQLite (batch mode): its role grants and sessions, which
    cascade from it, must survive, and no invitation token may survive in a stored response."""
    from app.core.idempotency import IdempotencyRecord

    url, name = await _fresh_database(tmp_path)
    previous = db.get_database()
    settings = get_settings().model_copy(update={"database_url": url})
    try:
        db.use_database(db.Database(settings))
        world, counts = await _staff_rows_before_per_trust_emails(settings)
        db.use_database(db.Database(settings))
        await asyncio.to_thread(_alembic, ("upgrade", "head"))
        db.use_database(db.Database(settings))
        used = world.trusts[0].staff[0]
        async with db.open_session(system_scope("migration test")) as session:
            for model, count in counts.items():
                assert await session.scalar(select(func.count()).select_from(model)) == count
            record = await session.scalar(select(IdempotencyRecord))
            assert record is not None
            assert record.response_body == STORED | {"invitation": {"staff_id": "y", "token": None}}
            staff = await session.get(StaffMember, used.id)
            assert staff is not None
            assert staff.invitation_digest is None
            # The same address in the other trust is now a separate account.
            other_trust = world.trusts[1].trust.id
            session.add(StaffMember(trust_id=other_trust, email=used.email, full_name="B"))
        await db.get_database().dispose()
    finally:
        db.use_database(previous)
        if IS_POSTGRES:
            await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


SECRET_VERSION_PARENT = "2026_12_03_programme_life"


async def _a_client_before_secret_versions(settings: Any) -> None:
    """A world and one client of its school, at the revision before secret versions (written
    as rows: the models already have the new column)."""
    await asyncio.to_thread(_alembic, ("upgrade", SECRET_VERSION_PARENT))
    db.use_database(db.Database(settings))
    world = Generator(seed=3).world(trusts=1, schools_per_trust=1)
    trust_id, school_id = world.trusts[0].trust.id, world.trusts[0].schools[0].id
    client_id = uuid.uuid4()
    async with db.open_session(system_scope("migration test")) as session:
        await _insert_world_as_of(session, world)
    now = utcnow()
    clients = sa.table(
        "integration_client",
        *(sa.column(c, sa.Uuid()) for c in ("id", "trust_id")),
        *(sa.column(c, sa.String()) for c in ("name", "client_id", "secret_digest")),
        sa.column("scopes", sa.JSON()),
        *(sa.column(c, UTCDateTime()) for c in ("created_at", "updated_at")),
    )
    schools = sa.table(
        "integration_client_school",
        *(sa.column(c, sa.Uuid()) for c in ("id", "trust_id", "school_id", "client_id")),
    )
    async with db.get_database().engine.begin() as connection:
        await connection.execute(
            clients.insert().values(
                id=client_id,
                trust_id=trust_id,
                name="MIS",
                client_id="thc_x",
                secret_digest="d" * 64,
                scopes=[],
                created_at=now,
                updated_at=now,
            )
        )
        await connection.execute(
            schools.insert().values(
                id=uuid.uuid4(), trust_id=trust_id, school_id=school_id, client_id=client_id
            )
        )
    await db.get_database().dispose()


async def _client_rows(settings: Any) -> tuple[int, int]:
    db.use_database(db.Database(settings))
    async with db.get_database().engine.connect() as connection:
        clients = await connection.scalar(text("SELECT count(*) FROM integration_client"))
        schools = await connection.scalar(text("SELECT count(*) FROM integration_client_school"))
    await db.get_database().dispose()
    return int(clients or 0), int(schools or 0)


async def test_secret_versions_keep_every_clients_schools_up_and_down(tmp_path: Any) -> None:
    """Dropping the column rebuilds the table on SQLite: the client's schools, which cascade
    from it, must survive; going up, existing clients start at version 1."""
    url, name = await _fresh_database(tmp_path)
    previous = db.get_database()
    settings = get_settings().model_copy(update={"database_url": url})
    try:
        db.use_database(db.Database(settings))
        await _a_client_before_secret_versions(settings)
        await asyncio.to_thread(_alembic, ("upgrade", "head"))
        db.use_database(db.Database(settings))
        async with db.get_database().engine.connect() as connection:
            version = await connection.scalar(text("SELECT secret_version FROM integration_client"))
        await db.get_database().dispose()
        assert version == 1
        assert await _client_rows(settings) == (1, 1)
        await asyncio.to_thread(_alembic, ("downgrade", SECRET_VERSION_PARENT))
        assert await _client_rows(settings) == (1, 1)
    finally:
        db.use_database(previous)
        if IS_POSTGRES:
            await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
