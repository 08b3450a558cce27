"""A database that is down, restarting or too slow answers 503 problem+json with Retry-After,
never a 500 (bench/faults.py shows each against the real service)."""

import asyncio
import logging
import time

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.core import db
from app.core.db import SessionDep, make_engine
from app.core.lean import LeanQuery, driver_error
from app.core.permissions import Role
from app.core.settings import Settings, get_settings
from app.main import create_app
from app.synthetic.generator import World
from tests.conftest import IS_POSTGRES, assert_problem, bearer, load_roster
from tests.parents.helpers import a_collecting_programme, answer_url, household_of, parent_bearer
from tests.roster.snapshots import small_snapshot


class DriverError(Exception):
    """What a driver raises, with the SQLSTATE PostgreSQL sent."""

    def __init__(
        self,
        sqlstate: str,
        message: str = "the driver's message, with internals: SELECT * FROM pupil",
    ) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


async def _get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


@pytest.mark.parametrize(
    ("sqlstate", "invalidated", "status", "slug"),
    [
        ("57014", False, 503, "database-timeout"),  # statement timeout
        ("55P03", False, 503, "database-timeout"),  # lock timeout
        ("57P01", True, 503, "service-unavailable"),  # terminated: the server is shutting down
        ("57P03", False, 503, "service-unavailable"),  # starting up: not accepting connections
        ("08006", False, 503, "service-unavailable"),  # the connection failed
        ("", True, 503, "service-unavailable"),  # the connection dropped mid-statement
        ("42P01", False, 500, "internal-error"),  # a bug: no such table
    ],
)
async def test_driver_errors_map_to_a_clear_problem(
    sqlstate: str, invalidated: bool, status: int, slug: str
) -> None:
    app = create_app()

    @app.get("/database")
    async def database() -> None:
        raise DBAPIError(
            "SELECT 1", None, DriverError(sqlstate), connection_invalidated=invalidated
        )

    response = await _get(app, "/database")
    body = assert_problem(response, status, slug)
    assert "SELECT" not in response.text
    if status == 503:
        assert response.headers["retry-after"]
        assert "retry" in body["detail"].lower()


@pytest.mark.skipif(not IS_POSTGRES, reason="the statement timeout is PostgreSQL's")
async def test_a_statement_over_the_timeout_is_503_database_timeout() -> None:
    app = create_app()

    @app.get("/slow")
    async def slow(session: SessionDep) -> None:
        await session.execute(text("SET LOCAL statement_timeout = 50"))
        await session.execute(text("SELECT pg_sleep(2)"))

    response = await _get(app, "/slow")
    assert_problem(response, 503, "database-timeout")
    assert response.headers["retry-after"]


@pytest.mark.parametrize(
    ("error", "status", "slug"),
    [
        (
            asyncpg.exceptions.AdminShutdownError("terminating connection"),
            503,
            "service-unavailable",
        ),
        (
            asyncpg.exceptions.ConnectionDoesNotExistError("connection closed"),
            503,
            "service-unavailable",
        ),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), 503, "service-unavailable"),
        (asyncpg.exceptions.QueryCanceledError("statement timeout"), 503, "database-timeout"),
        (ConnectionResetError("reset by peer"), 503, "service-unavailable"),
        (asyncpg.exceptions.InterfaceError("connection is closed"), 503, "service-unavailable"),
        (
            asyncpg.exceptions.InternalClientError("cannot switch to state 15"),
            503,
            "service-unavailable",
        ),
        (
            asyncpg.exceptions.InterfaceError("another operation is in progress"),
            500,
            "internal-error",
        ),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), 409, "conflict"),
        (asyncpg.exceptions.UndefinedTableError("no such table"), 500, "internal-error"),
    ],
)
async def test_the_lean_paths_driver_errors_map_as_any_statements_do(
    error: Exception, status: int, slug: str
) -> None:
    """The lean path runs SQL on asyncpg itself, without SQLAlchemy's translation of its errors
    (the restart fault found a 500 there)."""
    app = create_app()

    @app.get("/lean")
    async def lean() -> None:
        try:
            raise error
        except Exception as exc:
            raise driver_error("SELECT secret FROM pupil", exc) from exc

    response = await _get(app, "/lean")
    assert_problem(response, status, slug)
    assert "secret" not in response.text


@pytest.mark.skipif(not IS_POSTGRES, reason="the lean path reaches the driver on PostgreSQL only")
async def test_a_lean_read_on_a_connection_the_server_ended_is_503() -> None:
    app = create_app()
    backend = LeanQuery(select(func.pg_backend_pid().label("pid")))

    @app.get("/lean")
    async def lean(session: SessionDep) -> None:
        # Only lean reads, as a request's authentication makes: SQLAlchemy never uses the
        # connection itself, so nothing of its own raises in the driver's place.
        pid = (await backend.all(session))[0]["pid"]
        async with db.get_database().engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.2)  # the driver has heard the connection end
        await backend.all(session)

    response = await _get(app, "/lean")
    assert_problem(response, 503, "service-unavailable")
    assert response.headers["retry-after"]


# --- Nothing a request submitted reaches the logs ------------------------------------------------

PERSONAL = ("Amelia Okafor", "EHCP review on 14 March", "foster carer")


async def _run(statements: list[str]) -> None:
    async with db.get_database().engine.begin() as connection:
        for statement in statements:
            await connection.exec_driver_sql(statement)


# The database refuses the answer, as a constraint or a bad value would. PostgreSQL's own error
# texts quote values ("Failing row contains (...)", "invalid input for query argument $1: ..."),
# so this one does too.
REFUSE_ANSWERS = (
    [
        "CREATE FUNCTION test_refuse_answer() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'refused: %', NEW.notes_for_visitors; END $$",
        "CREATE TRIGGER test_refuse_answer BEFORE INSERT OR UPDATE ON household_answer "
        "FOR EACH ROW EXECUTE FUNCTION test_refuse_answer()",
    ]
    if IS_POSTGRES
    else [
        "CREATE TRIGGER test_refuse_answer BEFORE INSERT ON household_answer "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ]
)
ALLOW_ANSWERS = (
    ["DROP TRIGGER test_refuse_answer ON household_answer", "DROP FUNCTION test_refuse_answer()"]
    if IS_POSTGRES
    else ["DROP TRIGGER test_refuse_answer"]
)


async def test_a_database_error_on_a_real_write_logs_none_of_the_values(
    client: httpx.AsyncClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await load_roster(world, small_snapshot(world))
    programme_id = await a_collecting_programme(world)
    home = await household_of("P-1")
    parent = await parent_bearer(programme_id, home)
    answer = {
        "notes_for_visitors": f"{PERSONAL[0]}: {PERSONAL[1]}",
        "accessibility": f"Lives with a {PERSONAL[2]}",
    }
    await _run(REFUSE_ANSWERS)
    try:
        with caplog.at_level(logging.DEBUG):
            response = await client.put(
                answer_url(str(programme_id), home), json=answer, headers=parent
            )
    finally:
        await _run(ALLOW_ANSWERS)
    # PostgreSQL's raise is an unexpected error (500); SQLite's abort is a constraint (409).
    body = assert_problem(response, 500 if IS_POSTGRES else 409)
    logged = caplog.text + "".join(repr(r.__dict__) for r in caplog.records)
    for value in PERSONAL:
        assert value not in response.text
        assert value not in logged, value
    if IS_POSTGRES:
        (record,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
        assert getattr(record, "request_id", None) == body["request_id"]
        assert record.error_class == "sqlalchemy.exc.DBAPIError"  # type: ignore[attr-defined]
        assert "asyncpg.exceptions.RaiseError" in record.error_causes  # type: ignore[attr-defined]
        assert any("app/core/bulk.py" in f for f in record.error_frames)  # type: ignore[attr-defined]


async def test_an_unexpected_error_is_logged_as_its_class_never_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app()

    @app.get("/driver")
    async def driver() -> None:
        # What asyncpg says of a value it cannot send: the value itself.
        raise DBAPIError(
            "INSERT INTO pupil VALUES ($1)",
            {"legal_first_name": PERSONAL[0]},
            DriverError("22000", f"invalid input for query argument $1: '{PERSONAL[0]}'"),
        )

    @app.get("/bug")
    async def bug() -> None:
        raise KeyError(PERSONAL[1])

    with caplog.at_level(logging.DEBUG):
        for path in ("/driver", "/bug"):
            assert_problem(await _get(app, path), 500, "internal-error")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert {r.error_class for r in errors} == {"sqlalchemy.exc.DBAPIError", "KeyError"}  # type: ignore[attr-defined]
    assert all(r.exc_info is None and r.error_frames for r in errors)  # type: ignore[attr-defined]
    for value in PERSONAL[:2]:
        assert value not in caplog.text


@pytest.mark.parametrize(
    "url", ["sqlite+aiosqlite:///var/x.db", "postgresql+asyncpg://postgres@127.0.0.1:1/x"]
)
@pytest.mark.parametrize("pooled", [True, False])
async def test_every_engine_hides_statement_parameters(url: str, pooled: bool) -> None:
    engine = make_engine(url, get_settings(), pooled=pooled)
    try:
        assert engine.sync_engine.hide_parameters
    finally:
        await engine.dispose()


# --- A full pool answers 503 quickly --------------------------------------------------------------


async def test_a_request_that_cannot_get_a_connection_answers_503_within_the_pool_timeout(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    timeout_ms = 300
    settings = get_settings().model_copy(
        update={"database_pool_size": 1, "database_pool_timeout_ms": timeout_ms}
    )
    previous, small = db.get_database(), db.Database(settings)
    db.use_database(small)
    try:
        async with small.engine.connect() as held:  # the pool's only connection, kept busy
            await held.execute(text("SELECT 1"))
            started = time.perf_counter()
            response = await client.get("/api/v1/schools", headers=headers)
            waited = time.perf_counter() - started
        served = await client.get("/api/v1/schools", headers=headers)
    finally:
        db.use_database(previous)
        await small.dispose()
    body = assert_problem(response, 503, "service-unavailable")
    assert response.headers["retry-after"]
    assert "retry" in body["detail"].lower()
    assert timeout_ms / 1000 <= waited < timeout_ms / 1000 + 1.0
    assert served.status_code == 200, served.text


@pytest.mark.parametrize("pool_ms", [2_000, 3_000])
def test_the_pool_wait_must_be_below_the_statement_timeout(pool_ms: int) -> None:
    with pytest.raises(ValidationError, match="POOL_TIMEOUT"):
        Settings(database_statement_timeout_ms=2_000, database_pool_timeout_ms=pool_ms)
    assert Settings().database_pool_timeout_ms < Settings().database_statement_timeout_ms
