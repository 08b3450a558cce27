"""Liveness and readiness probes (public: they reveal no data)."""

from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.core.db import get_database
from app.core.idempotency import IdempotentRoute

router = APIRouter(tags=["health"], route_class=IdempotentRoute)

ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def migration_head() -> str | None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


@router.get("/healthz", summary="Liveness: the process is serving")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers and its schema is at the migrations' head",
    responses={503: {"description": "Not ready"}},
)
async def readyz() -> Any:
    try:
        async with get_database().engine.connect() as connection:
            current = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception:
        return JSONResponse(
            {"status": "unavailable", "detail": "The database cannot be reached."}, status_code=503
        )
    head = migration_head()
    if current != head:
        return JSONResponse(
            {"status": "migrating", "detail": f"Schema at {current}, expected {head}."},
            status_code=503,
        )
    return {"status": "ok", "schema": current}
