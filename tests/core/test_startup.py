"""A DATABASE_URL that is malformed or names a database nobody answers at stops the service at
once, in one line naming the variable: never a healthy-looking start that fails every request."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.core import db
from app.core.settings import ConfigurationError, Settings
from app.main import create_app

ROOT = Path(__file__).resolve().parent.parent.parent
# The password must never be printed, whatever else is.
MALFORMED = "postgresql//threshold:hunter2@db.example.org/threshold"
UNREACHABLE = "postgresql://threshold:hunter2@127.0.0.1:1/threshold"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _threshold(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"DATABASE_URL": database_url}
    return subprocess.run(  # noqa: S603 - our own CLI, arguments fixed by the test
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("database_url", "says"),
    [
        (MALFORMED, "DATABASE_URL is not a database URL (expected postgresql://"),
        (
            UNREACHABLE,
            "cannot reach the database at 127.0.0.1:1 (DATABASE_URL): connection refused",
        ),
    ],
    ids=["malformed", "unreachable"],
)
@pytest.mark.parametrize("command", ["serve", "db upgrade"])
def test_the_cli_refuses_a_bad_database_url_in_one_line(
    command: str, database_url: str, says: str
) -> None:
    args = command.split() + (["--port", str(_free_port())] if command == "serve" else [])
    finished = _threshold(*args, database_url=database_url)
    assert finished.returncode == 1, finished
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("threshold: ")
    assert says in lines[0]
    output = finished.stdout + finished.stderr
    assert "Traceback" not in output
    assert "hunter2" not in output
    assert "startup complete" not in output


def test_settings_name_the_variable_and_never_echo_its_value() -> None:
    with pytest.raises(ValueError, match="DATABASE_URL names mysql://") as refused:
        Settings(database_url="mysql://threshold:hunter2@db/threshold")
    assert "hunter2" not in str(refused.value)
    for accepted in ("postgres://u@h/d", "postgresql://u:p@h:5432/d", "sqlite:///var/x.db"):
        assert Settings(database_url=accepted).database_url == accepted


async def test_the_app_does_not_start_on_an_unreachable_database() -> None:
    app = create_app(Settings(environment="test", database_url=UNREACHABLE))
    with pytest.raises(ConfigurationError, match="connection refused") as refused:
        async with app.router.lifespan_context(app):
            pass
    assert "hunter2" not in str(refused.value)


async def test_readiness_reports_an_unreachable_database_and_liveness_does_not(
    client: httpx.AsyncClient,
) -> None:
    # Liveness stays up on purpose: a database outage must not get every API process restarted.
    working = db.get_database()
    db.use_database(db.Database(Settings(environment="test", database_url=UNREACHABLE)))
    try:
        ready = await client.get("/readyz")
        live = await client.get("/healthz")
    finally:
        await db.get_database().dispose()
        db.use_database(working)
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert live.status_code == 200
