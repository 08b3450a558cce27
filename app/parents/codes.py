"""Invitation codes: 20 characters of Crockford base32 (100 random bits), shown in groups of four.

100 bits make guessing hopeless even with every household of a trust holding a live code (an
attacker at the throttled rate would need ~10^22 years per expected hit); Crockford's alphabet
has no I, L, O or U, so a code read aloud or retyped survives the usual confusions.
"""

import secrets

from app.core.security import digest

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 20
_CONFUSED = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, LENGTH, 4))


def normalise(text: str) -> str | None:
    """The code as issued, from what a parent typed (any case, spaces or dashes), or None."""
    code = "".join(text.split()).replace("-", "").upper().translate(_CONFUSED)
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def code_digest(code: str) -> str:
    return digest(code)
