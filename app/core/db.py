"""The async engine, sessions and the request's transaction.

A request gets one session; it commits once when the handler succeeds and rolls back on any
error, before the response is sent (so a client never sees success for a write that failed).
Services flush, never commit.
"""

import asyncio
import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from app.core.settings import ConfigurationError, Settings, get_settings
from app.core.tenancy import Scope, set_scope


class Database:
    """One engine and session factory per process; replaceable as a whole in tests."""

    def __init__(self, settings: Settings, *, pooled: bool = True) -> None:
        self.url = settings.effective_database_url
        self.engine = make_engine(self.url, settings, pooled=pooled)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    async def dispose(self) -> None:
        await self.engine.dispose()


def make_engine(url: str, settings: Settings, *, pooled: bool = True) -> AsyncEngine:
    """`pooled=False` opens a connection per checkout: for callers that drive the app from
    several event loops (a pooled asyncpg connection belongs to the loop that opened it).

    Every engine hides statement parameters from the errors it raises: a driver error's text
    would otherwise carry the row being written (children's names, dates of birth, SEND and
    looked-after flags) into whatever logs or reports it."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite+aiosqlite:///") and ":memory:" not in url:
            path = url.removeprefix("sqlite+aiosqlite:///")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        extra = _pool(settings, pooled) if ":memory:" not in url else {}
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, hide_parameters=True, **extra
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    timeout = settings.database_statement_timeout_ms
    engine = create_async_engine(
        url,
        hide_parameters=True,
        **_pool(settings, pooled),
        connect_args={
            "server_settings": {"statement_timeout": str(timeout), "application_name": "threshold"},
            "timeout": 5,
        },
    )
    event.listen(engine.sync_engine.pool, "checkout", _refuse_closed)
    return engine


def _pool(settings: Settings, pooled: bool) -> dict[str, Any]:
    if not pooled:
        return {"poolclass": NullPool}
    return {
        # Every connection stays open: an overflow connection, opened for a burst and closed
        # when returned, cost a PostgreSQL backend and its setup per request under load
        # (bench/api.py). Beyond the pool, a request waits for a connection, for less than a
        # statement may run: a database too busy or locked to free one answers 503 promptly
        # (bench/faults.py, the slow database) instead of queueing requests for many seconds.
        "pool_size": settings.database_pool_size,
        "max_overflow": 0,
        "pool_timeout": settings.database_pool_timeout_ms / 1000,
    }


# Longer than the driver's own connect timeout (5 s), so its answer is the one reported.
REACH_TIMEOUT_SECONDS = 10


async def ensure_reachable(settings: Settings | None = None) -> None:
    """Connect once and run a query, or raise ConfigurationError saying what failed, where, and
    which variable to change: a server must not start, and report itself healthy, on a database
    it cannot use."""
    settings = settings or get_settings()
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        await asyncio.to_thread(_open_sqlite, url, settings.database_variable)
        return
    engine = make_engine(url, settings, pooled=False)
    try:
        async with asyncio.timeout(REACH_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (OSError, DBAPIError) as failed:
        raise ConfigurationError(_unreachable(url, failed)) from None
    except TimeoutError:
        raise ConfigurationError(
            _unreachable(url, TimeoutError(f"no answer in {REACH_TIMEOUT_SECONDS} s"))
        ) from None
    finally:
        await engine.dispose()


def _unreachable(url: str, failed: BaseException) -> str:
    where = make_url(url)
    host = f"{where.host or 'localhost'}:{where.port or 5432}"
    return f"cannot reach the database at {host} (DATABASE_URL): {_reason(failed)}"


def _reason(failed: BaseException) -> str:
    if isinstance(failed, ConnectionRefusedError):
        return "connection refused"
    if isinstance(failed, socket.gaierror):
        return "no such host"
    if isinstance(failed, DBAPIError):
        failed = failed.orig or failed
    if isinstance(failed, OSError) and failed.strerror:
        return failed.strerror.lower()
    # The driver's own words ('password authentication failed for user "x"', 'database "x" does
    # not exist'): they name the user and the database, never the password.
    return (str(failed).strip().splitlines() or [type(failed).__name__])[0]


def _open_sqlite(url: str, variable: str) -> None:
    path = url.removeprefix("sqlite+aiosqlite:///")
    try:
        if ":memory:" not in path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path, timeout=5) as connection:
            connection.execute("SELECT 1")
        connection.close()
    except (OSError, sqlite3.Error) as failed:
        raise ConfigurationError(
            f"cannot open the SQLite database {path} ({variable}): {_reason(failed)}"
        ) from None


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server has closed (a restart, a failover, an idle timeout) is
    replaced at checkout. asyncpg notices the server's goodbye as it arrives, so this costs no
    round trip, where `pool_pre_ping` costs three (BEGIN, a ping, ROLLBACK) on every request."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_database: Database | None = None


def get_database() -> Database:
    global _database
    if _database is None:
        _database = Database(get_settings())
    return _database


def use_database(database: Database | None) -> None:
    """Install a database for this process (the app factory and tests call this)."""
    global _database
    _database = database


def sync_engine() -> Engine:
    return get_database().engine.sync_engine


async def request_session() -> AsyncIterator[AsyncSession]:
    async with get_database().sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]


@asynccontextmanager
async def open_session(scope: Scope) -> AsyncIterator[AsyncSession]:
    """A unit of work outside a request (workers, the CLI, writes that must outlive a rollback)."""
    async with get_database().sessions() as session:
        set_scope(session, scope)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
