"""Test fixtures. The suite runs on SQLite by default and on PostgreSQL when
THRESHOLD_TEST_DATABASE_URL points at one. The schema is built once with `alembic upgrade head`
(never create_all); each test commits for real (so concurrency can be tested honestly) and the
tables are emptied after it. Data comes from app/synthetic, the generator the demo uses."""

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import text

_TMP = Path(tempfile.mkdtemp(prefix="threshold-tests-"))
TEST_DATABASE_URL = os.environ.get("THRESHOLD_TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"
os.environ["DATABASE_URL"] = TEST_DATABASE_URL
os.environ["THRESHOLD_ENVIRONMENT"] = "test"
os.environ["THRESHOLD_DATA_DIR"] = str(_TMP)
os.environ.pop("THRESHOLD_JWT_PRIVATE_KEYS", None)

from app.cli import upgrade_database  # noqa: E402
from app.core import db  # noqa: E402
from app.core.models import metadata  # noqa: E402
from app.core.settings import get_settings  # noqa: E402
from app.core.tenancy import system_scope  # noqa: E402
from app.main import create_app  # noqa: E402
from app.synthetic.generator import Generator, Login, World, insert_world  # noqa: E402

IS_POSTGRES = TEST_DATABASE_URL.startswith("postgres")


def _reset_postgres_schema() -> None:
    async def reset() -> None:
        database = db.Database(get_settings())
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
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


@pytest.fixture(autouse=True)
async def clean_tables(migrated_database: None) -> AsyncIterator[None]:
    yield
    names = [t.name for t in reversed(metadata.sorted_tables)]
    async with db.get_database().engine.begin() as connection:
        if IS_POSTGRES:
            await connection.execute(text(f"TRUNCATE {', '.join(names)} CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                await connection.execute(table.delete())


@pytest.fixture
async def world() -> World:
    generated = Generator(seed=7).world()
    async with db.open_session(system_scope("test fixture")) as session:
        await insert_world(session, generated)
    return generated


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
