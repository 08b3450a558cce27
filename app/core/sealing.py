"""Sealing: secrets the service must read back later (parents' invitation codes, for the office
and the SMS worker), encrypted at rest with Fernet. Lookups never decrypt: they go by digest."""

import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.core.settings import get_settings


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    settings = get_settings()
    keys = [k.strip() for k in settings.sealing_keys.split(",") if k.strip()]
    if not keys:
        keys = [_development_key(settings.data_dir)]
    return MultiFernet([Fernet(k) for k in keys])


def _development_key(data_dir: Path) -> str:
    """Generated on first run and kept beside the database, so every local process shares it."""
    path = data_dir / "dev-sealing-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode())
    return path.read_text().strip()


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str | None:
    """The secret, or None when no current key opens it (a key was retired)."""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None
