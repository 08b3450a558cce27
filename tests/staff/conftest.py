"""Fixtures shared by the sign-in tests."""

import pytest

from app.core.settings import get_settings


@pytest.fixture
def few_failures(monkeypatch: pytest.MonkeyPatch) -> int:
    """A lower failure allowance, so reaching it takes few argon2 checks; the rule is unchanged."""
    monkeypatch.setattr(get_settings(), "login_max_failures", 2)
    return 2
