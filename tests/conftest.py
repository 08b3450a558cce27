"""Test fixtures. The suite runs on SQLite by default and on PostgreSQL when
THRESHOLD_TEST_DATABASE_URL points at one. The schema is built once with `alembic upgrade head`
(never create_all); each test commits for real (so concurrency can be tested honestly) and the
tables are emptied after it. Data comes from app/synthetic, the generator the demo uses."""

import asyncio
import functools
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_TMP = Path(tempfile.mkdtemp(prefix="threshold-tests-"))
TEST_DATABASE_URL = os.environ.get("THRESHOLD_TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"
os.environ["DATABASE_URL"] = TEST_DATABASE_URL
os.environ["THRESHOLD_ENVIRONMENT"] = "test"
os.environ["THRESHOLD_DATA_DIR"] = str(_TMP)
os.environ.pop("THRESHOLD_JWT_PRIVATE_KEYS", None)

from app.cli import upgrade_database  # noqa: E402
from app.core import db  # noqa: E402
from app.core.models import metadata  # noqa: E402
from app.core.permissions import Role  # noqa: E402
from app.core.settings import get_settings  # noqa: E402
from app.core.tenancy import system_scope  # noqa: E402
from app.main import create_app  # noqa: E402
from app.registry import wire  # noqa: E402
from app.synthetic.generator import Generator, Login, World, insert_world  # noqa: E402

IS_POSTGRES = TEST_DATABASE_URL.startswith("postgres")
# Tests that call services and run jobs without creating an app need the hooks and handlers too.
wire()


def _reset_postgres_schema() -> None:
    async def reset() -> None:
        database = db.Database(get_settings())
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
            # A throw-away database need not wait for each commit to reach the disk (2-5 ms a
            # commit here, and a test commits many times). What other sessions see, and when,
            # is unchanged; only durability across a server crash is given up. New connections
            # (all of the suite's: the engine is made afresh below) take the setting.
            name = await connection.scalar(text("SELECT current_database()"))
            await connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        await database.dispose()

    asyncio.run(reset())


@pytest.fixture(scope="session", autouse=True)
def migrated_database() -> None:
    if IS_POSTGRES:
        _reset_postgres_schema()
    db.use_database(None)
    upgrade_database()
    db.use_database(None)  # the engine above belonged to alembic's own event loop


@pytest.fixture(scope="session")
def app(migrated_database: None) -> Any:
    return create_app()


def _table_names() -> list[str]:
    """Every table of the app, parents before children."""
    return [table.name for table in metadata.sorted_tables]


def _with_descendants(names: set[str]) -> set[str]:
    """`names` and every table that references one of them, directly or not: deleting a
    table's rows takes its children's with it (or is refused while they remain)."""
    children: dict[str, set[str]] = {}
    for table in metadata.sorted_tables:
        for key in table.foreign_keys:
            children.setdefault(key.column.table.name, set()).add(table.name)
    found, todo = set(names), list(names)
    while todo:
        for child in children.get(todo.pop(), set()) - found:
            found.add(child)
            todo.append(child)
    return found


async def _run_script(connection: AsyncConnection, statements: list[str]) -> None:
    """Run `statements` as one transaction. On PostgreSQL they go in a single round trip: asyncpg
    sends an argument-less script through the simple query protocol, which runs it as one
    implicit transaction."""
    if IS_POSTGRES:
        raw = await connection.get_raw_connection()
        await raw.driver_connection.execute(";\n".join(statements))  # type: ignore[union-attr]
        return
    async with connection.begin():
        for statement in statements:
            await connection.exec_driver_sql(statement)


# Safeguarding's tables refuse UPDATE and DELETE on PostgreSQL (a trigger): the tests' resets,
# run as the superuser, skip ordinary triggers for their own transaction, as a replica would.
_SKIP_TRIGGERS = "SET LOCAL session_replication_role = replica"


def _delete_statements(names: set[str] | None = None) -> list[str]:
    skip = [_SKIP_TRIGGERS] if IS_POSTGRES else []
    return skip + [
        f'DELETE FROM "{name}"'  # noqa: S608 (the app's own table names)
        for name in reversed(_table_names())
        if names is None or name in names
    ]


_VACUUM_EVERY = 100
_deletes_since_vacuum = 0


async def _after_deleting() -> None:
    """VACUUM the app's tables every `_VACUUM_EVERY` resets. Emptying and refilling the same
    small tables thousands of times leaves dead rows faster than autovacuum (at most once a
    minute) clears them, and every DELETE and unique check wades through them: restoring the
    matrix's rows grew from ~25 ms to ~145 ms over a thousand restores without it."""
    global _deletes_since_vacuum
    if not IS_POSTGRES:
        return
    _deletes_since_vacuum += 1
    if _deletes_since_vacuum < _VACUUM_EVERY:
        return
    _deletes_since_vacuum = 0
    async with db.get_database().engine.connect() as connection:
        raw = await connection.get_raw_connection()
        tables = ", ".join(f'"{name}"' for name in _table_names())
        await raw.driver_connection.execute(f"VACUUM {tables}")  # type: ignore[union-attr]


async def empty_tables() -> None:
    """Delete every row of every table, children first.

    DELETE rather than TRUNCATE: a test leaves a few dozen rows, and a PostgreSQL TRUNCATE of
    every table (new files for each table and index, then a commit) took ~170 ms a test where
    these DELETEs take a few milliseconds."""
    async with db.get_database().engine.connect() as connection:
        await _run_script(connection, _delete_statements())
    await _after_deleting()


@pytest.fixture(autouse=True)
async def clean_tables(migrated_database: None) -> AsyncIterator[None]:
    yield
    await empty_tables()


async def all_rows() -> dict[str, list[str]]:
    """Every row of every non-empty table, as sorted texts: for comparing whole database states.

    Read in one statement, each row written out as text by the database itself: the route matrix
    compares states around hundreds of refused requests, and a query per table made this the
    dearest part of a case."""
    found: dict[str, list[str]] = {}
    async with db.get_database().engine.connect() as connection:
        rows: list[Any] = list((await connection.exec_driver_sql(_every_row_as_text())).all())
    for name, row in rows:
        found.setdefault(name, []).append(row)
    return {name: sorted(found[name]) for name in _table_names() if name in found}


@functools.cache
def _every_row_as_text() -> str:
    def row_text(table: Any) -> str:
        if IS_POSTGRES:
            return "whole_row::text"
        return " || ',' || ".join(f'quote("{c.name}")' for c in table.columns)

    return " UNION ALL ".join(
        f"SELECT '{table.name}', {row_text(table)} FROM \"{table.name}\" whole_row"  # noqa: S608 (the app's own table names)
        for table in metadata.sorted_tables
    )


class TableSnapshot:
    """A copy of every row in the database, to be put back in place of whatever is there.

    For fixtures whose state is costly to build and is needed afresh by many tests: build it
    once, `take()` a snapshot, and `restore()` it before each test, which then starts from
    exactly the rows the build left (including whatever the build committed as a side effect,
    such as audit entries and rate-limit counters).

    On SQLite the copy is kept in memory as the raw stored values and every table is refilled.
    On PostgreSQL it is kept server-side, in a schema of its own, and only the tables a test
    changed are refilled (with every table that references them). A table is unchanged when it
    holds as many rows as the snapshot and every one of them still carries the `xmin` (the id
    of the transaction that wrote the row version) of the restore that wrote it: an INSERT or
    UPDATE makes a row version with a newer `xmin`, and a DELETE changes the count. Any doubt
    (the first restore, a table written since) refills the table."""

    SCHEMA = "test_snapshot"

    def __init__(self) -> None:
        self.tables: list[str] = []  # the non-empty ones, parents first
        self.rows: dict[str, list[tuple[Any, ...]]] = {}  # SQLite only
        self.counts: dict[str, int] = {}  # PostgreSQL: every table's row count in the snapshot
        self.xmins: dict[str, str] = {}  # PostgreSQL: the xmin of the restore that wrote it

    async def take(self) -> None:
        await self.drop()
        async with db.get_database().engine.connect() as connection:
            for name in _table_names():
                select_all = f'SELECT * FROM "{name}"'  # noqa: S608 (the app's own table names)
                rows = (await connection.exec_driver_sql(select_all)).all()
                self.counts[name] = len(rows)
                if rows:
                    self.tables.append(name)
                    if not IS_POSTGRES:
                        self.rows[name] = [tuple(row) for row in rows]
            if IS_POSTGRES:
                await connection.rollback()
                await _run_script(
                    connection,
                    [f'CREATE SCHEMA "{self.SCHEMA}"']
                    + [
                        f'CREATE TABLE "{self.SCHEMA}"."{name}" AS SELECT * FROM public."{name}"'  # noqa: S608
                        for name in self.tables
                    ],
                )

    async def restore(self) -> None:
        """Make every table hold exactly the snapshot's rows, in one transaction."""
        if IS_POSTGRES:
            await self._restore_postgres()
        else:
            await self._restore_sqlite()
        await _after_deleting()

    async def _changed_tables(self, connection: AsyncConnection) -> set[str]:
        checks = [
            f"SELECT '{name}', count(*), "  # noqa: S608 (the app's own table names)
            f"count(*) FILTER (WHERE xmin::text <> '{self.xmins.get(name, '')}') "
            f'FROM public."{name}"'
            for name in _table_names()
        ]
        result = await connection.exec_driver_sql(" UNION ALL ".join(checks))
        rows: list[Any] = list(result.all())
        changed = set()
        for name, count, foreign in rows:
            if count != self.counts[name] or (count and name not in self.xmins) or foreign:
                changed.add(name)
        await connection.rollback()
        return changed

    async def _restore_postgres(self) -> None:
        async with db.get_database().engine.connect() as connection:
            changed = _with_descendants(await self._changed_tables(connection))
            if not changed:
                return
            refill = [name for name in self.tables if name in changed]
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            async with raw.transaction():
                await raw.execute(
                    ";\n".join(
                        _delete_statements(changed)
                        + [
                            f'INSERT INTO public."{name}" SELECT * FROM "{self.SCHEMA}"."{name}"'  # noqa: S608
                            for name in refill
                        ]
                    )
                )
                xid = await raw.fetchval("SELECT (txid_current() % 4294967296)::text")
        for name in changed:
            self.xmins.pop(name, None)
        self.xmins |= dict.fromkeys(refill, xid)

    async def _restore_sqlite(self) -> None:
        async with db.get_database().engine.connect() as connection, connection.begin():
            for statement in _delete_statements():
                await connection.exec_driver_sql(statement)
            for name in self.tables:
                rows = self.rows[name]
                marks = ", ".join("?" * len(rows[0]))
                insert = f'INSERT INTO "{name}" VALUES ({marks})'  # noqa: S608
                await connection.exec_driver_sql(insert, rows)

    async def drop(self) -> None:
        self.tables, self.rows, self.counts, self.xmins = [], {}, {}, {}
        if IS_POSTGRES:
            async with db.get_database().engine.connect() as connection:
                await _run_script(connection, [f'DROP SCHEMA IF EXISTS "{self.SCHEMA}" CASCADE'])


async def insert_generated_world() -> World:
    """The generated world (seed 7), committed."""
    generated = Generator(seed=7).world()
    async with db.open_session(system_scope("test fixture")) as session:
        await insert_world(session, generated)
    return generated


@pytest.fixture
async def world() -> World:
    return await insert_generated_world()


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def sign_in(login: Login) -> dict[str, Any]:
    """A real sign-in session for `login` without the deliberately slow password check."""
    from app.staff.models import StaffMember
    from app.staff.signin import start_session

    async with db.open_session(system_scope("test sign-in")) as session:
        staff = await session.get(StaffMember, login.staff_id)
        assert staff is not None
        pair = await start_session(session, staff)
    return pair.model_dump()


async def bearer(login: Login) -> dict[str, str]:
    return {"Authorization": f"Bearer {(await sign_in(login))['access_token']}"}


def assert_problem(
    response: httpx.Response, status: int, type_slug: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://threshold.education/problems/")
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if type_slug is not None:
        assert body["type"].endswith("/" + type_slug), body["type"]
    return body


async def integration_bearer(
    world: World,
    schools: list[int],
    *,
    trust: int = 0,
    scopes: tuple[str, ...] = ("roster:read", "roster:write"),
) -> tuple[UUID, dict[str, str]]:
    """A machine client of `schools` (indexes in `trust`) and a bearer header for it."""
    from app.core.security import digest
    from app.integrations.models import IntegrationClient, IntegrationClientSchool
    from app.integrations.service import issue_token

    trust_world = world.trusts[trust]
    secret = f"secret-{uuid4().hex}"
    async with db.open_session(system_scope("test integration client")) as session:
        client = IntegrationClient(
            trust_id=trust_world.trust.id,
            name="Test MIS",
            client_id=f"thc_{uuid4().hex[:12]}",
            secret_digest=digest(secret),
            scopes=list(scopes),
        )
        session.add(client)
        await session.flush()
        for index in schools:
            session.add(
                IntegrationClientSchool(
                    trust_id=client.trust_id,
                    school_id=trust_world.schools[index].id,
                    client_id=client.id,
                )
            )
    async with db.open_session(system_scope("test token")) as session:
        pair = await issue_token(
            session, client_id=client.client_id, client_secret=secret, ip_address="127.0.0.1"
        )
    return client.id, {"Authorization": f"Bearer {pair.access_token}"}


async def staff_with_roles(
    world: World, roles: list[tuple[Role, int | None]], *, trust: int = 0
) -> Login:
    """A new staff member of `trust` holding each (role, school index or None for the trust);
    the login names the first role."""
    from app.staff.models import RoleGrant, StaffMember

    trust_world = world.trusts[trust]
    schools = [None if i is None else trust_world.schools[i].id for _, i in roles]
    member = StaffMember(
        trust_id=trust_world.trust.id,
        email=f"many.roles.{uuid4().hex[:8]}@example.org",
        full_name="Many Roles",
    )
    async with db.open_session(system_scope("test staff")) as session:
        session.add(member)
        await session.flush()
        for (role, _), school_id in zip(roles, schools, strict=True):
            session.add(
                RoleGrant(
                    trust_id=member.trust_id, staff_id=member.id, role=role, school_id=school_id
                )
            )
    return Login(
        member.email, "", roles[0][0], member.trust_id, schools[0], member.id, member.full_name
    )


async def load_roster(
    world: World, snapshot: dict[str, Any], *, trust: int = 0, school: int = 0
) -> None:
    """Sync a snapshot into a school as its MIS would, through the real sync."""
    from app.roster.service import apply_snapshot
    from app.roster.snapshot import RosterSnapshot
    from app.trusts.models import School

    async with db.open_session(system_scope("test roster")) as session:
        target = await session.get(School, world.trusts[trust].schools[school].id)
        assert target is not None
        await apply_snapshot(
            session,
            target,
            RosterSnapshot.model_validate(snapshot),
            dry_run=False,
            skip_rejected=False,
        )
