"""Password hashing, signing keys, access tokens and the JWKS.

Access tokens are JWTs signed with EdDSA (Ed25519) or ES256. Decoding pins the algorithm to the
key named by `kid`, requires every claim, checks audience, issuer and type, and refuses `alg:
none`, HMAC algorithms and any `crit` extension. Refresh tokens and codes are opaque random
strings stored only as SHA-256 digests. Passwords are argon2id hashes, computed and checked in
worker threads, a bounded number at once per process.
"""

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, lru_cache, partial
from pathlib import Path
from typing import Any, TypeVar

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm
from pwdlib import PasswordHash

from app.core.errors import ServiceUnavailable
from app.core.settings import Settings, get_settings
from app.core.types import utcnow

ACCESS_TOKEN_TYP = "at+jwt"

_T = TypeVar("_T")

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


# -- passwords --------------------------------------------------------------------------------

_hasher = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant work whether or not the account exists, so timing reveals nothing."""
    if password_hash is None:
        _hasher.verify(password, _dummy_hash())
        return False
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # a malformed stored hash must never let anyone in
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def prepare_password_checks() -> None:
    """Make the stand-in hash before the first request, so that the first check of an unknown
    account does not cost two hashes (and tell that it was unknown)."""
    _dummy_hash()


class PasswordChecksBusy(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__(
            "Too many sign-ins are being checked at this moment; try again in a second.",
            headers={"Retry-After": "1"},
        )


class _Gate:
    """At most `running` hashes at once, in threads of their own, and at most `waiting` more
    queued for a turn; beyond that a check is refused at once rather than pile up.

    argon2 releases the GIL, so the event loop keeps serving other requests while it runs, and
    the threads run at a lower priority (Linux), so a burst of sign-ins yields the cores to them.
    """

    def __init__(self, running: int, waiting: int) -> None:
        self.sizes = (running, waiting)
        self._pool = ThreadPoolExecutor(
            running, thread_name_prefix="password-hash", initializer=_background_priority
        )
        self._lock = threading.Lock()
        self._admitted = 0

    async def run(self, work: Callable[[], _T]) -> _T:
        with self._lock:
            if self._admitted >= sum(self.sizes):
                raise PasswordChecksBusy()
            self._admitted += 1
        job = self._pool.submit(work)
        # Released when the thread is done with it, not when the request gives up waiting.
        job.add_done_callback(self._finished)
        return await asyncio.wrap_future(job)

    def _finished(self, _job: object) -> None:
        with self._lock:
            self._admitted -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False)


def _background_priority() -> None:
    # Linux keeps a nice value per thread, and argon2's lane threads inherit it from this one.
    if sys.platform == "linux":
        thread = threading.get_native_id()
        with contextlib.suppress(OSError):
            nice = os.getpriority(os.PRIO_PROCESS, thread)
            os.setpriority(os.PRIO_PROCESS, thread, min(19, nice + 10))


_gate_in_use: _Gate | None = None


def _gate() -> _Gate:
    global _gate_in_use
    settings = get_settings()
    sizes = (settings.password_hash_concurrency, settings.password_hash_queue)
    if _gate_in_use is None or _gate_in_use.sizes != sizes:  # the sizes change only in tests
        if _gate_in_use is not None:
            _gate_in_use.close()
        _gate_in_use = _Gate(*sizes)
    return _gate_in_use


def verify_passwords(password: str, password_hashes: Sequence[str]) -> list[bool]:
    """Which of `password_hashes` the password matches. With none, one check against a stand-in:
    an address without an account takes as long as one with an account."""
    if not password_hashes:
        verify_password(password, None)
        return []
    return [verify_password(password, stored) for stored in password_hashes]


def hash_password_unless_opens(password: str, others: Sequence[str]) -> str | None:
    """The password's hash, or None when it matches one of `others` (checked as above)."""
    return None if any(verify_passwords(password, others)) else hash_password(password)


async def verify_passwords_off_loop(password: str, password_hashes: Sequence[str]) -> list[bool]:
    """verify_passwords in a worker thread, a few at a time. Raises PasswordChecksBusy (503)."""
    return await _gate().run(partial(verify_passwords, password, list(password_hashes)))


async def hash_password_unless_opens_off_loop(password: str, others: Sequence[str]) -> str | None:
    """hash_password_unless_opens in a worker thread. Raises PasswordChecksBusy (503)."""
    return await _gate().run(partial(hash_password_unless_opens, password, list(others)))


# -- opaque secrets ---------------------------------------------------------------------------


def new_opaque_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret: the only form in which refresh tokens are stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


# -- signing keys -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private_key: PrivateKey

    @cached_property
    def public_key(self) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    @property
    def public_jwk(self) -> dict[str, Any]:
        public = self.private_key.public_key()
        if isinstance(public, ed25519.Ed25519PublicKey):
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: the kid is the hash of the key's required members, so it names the key itself."""
    members = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("crv", "kty", "x")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return (
        base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    )


def _signing_key(private_key: Any) -> SigningKey:
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        jwk = OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        return SigningKey(_thumbprint(jwk), "EdDSA", private_key)
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(
        private_key.curve, ec.SECP256R1
    ):
        jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        return SigningKey(_thumbprint(jwk), "ES256", private_key)
    raise ValueError("signing keys must be Ed25519 or P-256")


def _split_pem(text: str) -> list[bytes]:
    blocks, current = [], []
    for line in text.strip().splitlines():
        current.append(line.strip())
        if line.startswith("-----END"):
            blocks.append("\n".join(current).encode() + b"\n")
            current = []
    return blocks


class KeyRing:
    """The first key signs; every key verifies (so a retired key keeps verifying during rotation)."""

    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise ValueError("at least one signing key is required")
        self.keys = keys
        self.by_kid = {k.kid: k for k in keys}

    @property
    def current(self) -> SigningKey:
        return self.keys[0]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk for k in self.keys]}

    @classmethod
    def from_settings(cls, settings: Settings) -> "KeyRing":
        if settings.jwt_private_keys.strip():
            pems = _split_pem(settings.jwt_private_keys)
        else:
            pems = [_development_key(settings.data_dir)]
        keys = [_signing_key(serialization.load_pem_private_key(p, password=None)) for p in pems]
        return cls(keys)


def _development_key(data_dir: Path) -> bytes:
    """Generated on first run and kept beside the database, so every local process shares it."""
    path = data_dir / "dev-jwt-key.pem"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    return path.read_bytes()


_keyring: KeyRing | None = None


def get_keyring() -> KeyRing:
    global _keyring
    if _keyring is None:
        _keyring = KeyRing.from_settings(get_settings())
    return _keyring


def use_keyring(keyring: KeyRing | None) -> None:
    global _keyring
    _keyring = keyring
    _verified.clear()


# -- access tokens ----------------------------------------------------------------------------


class TokenError(Exception):
    """Any reason a token is not acceptable; the message is safe to show."""


def issue_access_token(
    *, subject: str, audience: str, ttl: timedelta, claims: dict[str, Any] | None = None
) -> tuple[str, datetime]:
    settings = get_settings()
    key = get_keyring().current
    now = utcnow()
    expires_at = now + ttl
    payload = {
        **(claims or {}),
        "iss": settings.jwt_issuer,
        "aud": audience,
        "sub": subject,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(
        payload,
        key.private_key,
        algorithm=key.alg,
        headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYP},
    )
    return token, expires_at


LEEWAY_SECONDS = 5
# Tokens that passed every check, by their exact text. A client sends the same token with each
# request of its life, and verifying it again (parsing, an Ed25519 signature) cost more than the
# rest of a small request. Only the time claims can change their verdict, so they are checked on
# every use; the entries go when the keys change, and all at once when the cache is full.
_VERIFIED_LIMIT = 4096
_verified: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}


def decode_access_token(token: str, *, audience: str | Collection[str]) -> dict[str, Any]:
    """Verified claims. With several audiences the token must name exactly one of them (a single
    string, as with one audience): callers then match it to the principal kind it claims."""
    audiences = (audience,) if isinstance(audience, str) else tuple(sorted(audience))
    key = (token, get_settings().jwt_issuer, audiences)
    known = _verified.get(key)
    if known is not None:
        now = time.time()
        if known["nbf"] - LEEWAY_SECONDS <= now < known["exp"] + LEEWAY_SECONDS:
            return dict(known)
        del _verified[key]  # checked again below, to answer why
    claims = _decode(token, audience)
    if len(_verified) >= _VERIFIED_LIMIT:
        _verified.clear()
    _verified[key] = claims
    return dict(claims)


def _decode(token: str, audience: str | Collection[str]) -> dict[str, Any]:
    header = _unverified_header(token)
    if header.get("typ") != ACCESS_TOKEN_TYP:
        raise TokenError("The token is not an access token.")
    if "crit" in header:
        raise TokenError("The token uses an unsupported critical extension.")
    key = get_keyring().by_kid.get(str(header.get("kid")))
    if key is None:
        raise TokenError("The token was signed with an unknown key.")
    if header.get("alg") != key.alg:
        raise TokenError("The token's algorithm does not match its key.")
    strict = isinstance(audience, str)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public_key,
            algorithms=[key.alg],
            audience=audience if strict else list(audience),
            issuer=get_settings().jwt_issuer,
            leeway=LEEWAY_SECONDS,
            options={
                "require": ["iss", "aud", "exp", "iat", "nbf", "sub", "jti"],
                "strict_aud": strict,
            },
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("The access token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("The access token is not valid.") from exc
    if not isinstance(claims["aud"], str):
        raise TokenError("The access token is not valid.")
    return claims


def _unverified_header(token: str) -> dict[str, Any]:
    """The header, read only to choose the key: PyJWT then checks the whole token, header
    included, in one pass (its own header reader would parse every segment twice)."""
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise TokenError("The access token is malformed.") from exc
    if not isinstance(header, dict):
        raise TokenError("The access token is malformed.")
    return header
