"""`threshold create-admin`, the first step of running Threshold for real, run as an operator
runs it: its own process (nothing of the app loaded before it), then the account signs in."""

import httpx

from tests.conftest import TEST_DATABASE_URL
from tests.core.test_startup import _threshold

PASSWORD = "operator-pass-2026"


async def test_the_command_makes_a_platform_admin_who_signs_in(
    client: httpx.AsyncClient, clean_tables: None
) -> None:
    made = _threshold(
        "create-admin",
        "Operator@Example.org",
        "--full-name",
        "Op Erator",
        "--password",
        PASSWORD,
        database_url=TEST_DATABASE_URL,
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "platform admin operator@example.org created"
    signed = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "operator@example.org", "password": PASSWORD},
    )
    assert signed.status_code == 200, signed.text
    again = _threshold(
        "create-admin",
        "operator@example.org",
        "--full-name",
        "Someone Else",
        "--password",
        PASSWORD,
        database_url=TEST_DATABASE_URL,
    )
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == "threshold: A staff account with this email address already exists.\n"


def test_a_short_password_is_refused_in_one_line(clean_tables: None) -> None:
    refused = _threshold(
        "create-admin",
        "short@example.org",
        "--full-name",
        "Short",
        "--password",
        "eleven-char",
        database_url=TEST_DATABASE_URL,
    )
    assert refused.returncode == 1
    assert refused.stderr == "threshold: passwords are at least 12 characters\n"
