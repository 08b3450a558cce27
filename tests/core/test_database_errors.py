"""A database that is down, restarting or too slow answers 503 problem+json with Retry-After,
never a 500 (bench/faults.py shows each against the real service)."""

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core.db import SessionDep
from app.main import create_app
from tests.conftest import IS_POSTGRES, assert_problem


class DriverError(Exception):
    """What a driver raises, with the SQLSTATE PostgreSQL sent."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__("the driver's message, with internals: SELECT * FROM pupil")
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
