"""Access tokens: the forgery list, and replay after logout, deactivation and role removal.

Every forged token starts from the claims of a real sign-in session and changes exactly one
thing, and `test_genuine_claims_minted_here_are_accepted` proves the unchanged claims minted the
same way are accepted, so each 401 below is caused by that one change alone.
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from app.core.auth import AUDIENCES
from app.core.permissions import Role
from app.core.principal import PrincipalKind
from app.core.security import ACCESS_TOKEN_TYP, get_keyring
from app.core.settings import get_settings
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer, sign_in

ME = "/api/v1/me"


@dataclass(frozen=True)
class Genuine:
    """A teacher's real token pair and claims, and a trust admin's real claims to forge towards."""

    pair: dict[str, Any]
    claims: dict[str, Any]
    admin_claims: dict[str, Any]


@pytest.fixture
async def genuine(world: World) -> Genuine:
    teacher = await sign_in(world.login(Role.TEACHER))
    admin = await sign_in(world.login(Role.TRUST_ADMIN))
    return Genuine(
        teacher, _unverified(teacher["access_token"]), _unverified(admin["access_token"])
    )


def _unverified(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _header(**changes: Any) -> dict[str, Any]:
    key = get_keyring().current
    return {"alg": key.alg, "kid": key.kid, "typ": ACCESS_TOKEN_TYP, **changes}


def _mint(claims: dict[str, Any], *, key: Any = None, **header: Any) -> str:
    """Signed by the server's own key (or `key`) unless told otherwise: only the change differs."""
    current = get_keyring().current
    return jwt.encode(
        claims, key or current.private_key, algorithm=current.alg, headers=_header(**header)
    )


def _hmac_signed(claims: dict[str, Any], secret: bytes) -> str:
    # Built by hand: PyJWT itself refuses to use a PEM public key as an HMAC secret.
    signing_input = f"{_segment(_header(alg='HS256'))}.{_segment(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _public_key() -> ed25519.Ed25519PublicKey:
    public = get_keyring().current.private_key.public_key()
    assert isinstance(public, ed25519.Ed25519PublicKey)
    return public


def _alg_none(g: Genuine) -> str:
    return f"{_segment(_header(alg='none'))}.{_segment(g.claims)}."


def _hs256_public_pem(g: Genuine) -> str:
    pem = _public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _hmac_signed(g.claims, pem)


def _hs256_public_raw(g: Genuine) -> str:
    raw = _public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _hmac_signed(g.claims, raw)


def _expired(g: Genuine) -> str:
    now = int(time.time())
    return _mint(g.claims | {"iat": now - 1000, "nbf": now - 1000, "exp": now - 60})


def _not_yet_valid(g: Genuine) -> str:
    return _mint(g.claims | {"nbf": int(time.time()) + 3600})


def _wrong_audience(g: Genuine) -> str:
    return _mint(g.claims | {"aud": "https://elsewhere.example"})


def _wrong_issuer(g: Genuine) -> str:
    return _mint(g.claims | {"iss": "https://evil.example"})


def _unknown_kid(g: Genuine) -> str:
    return _mint(g.claims, kid="not-a-key-we-publish")


def _tampered_payload(g: Genuine) -> str:
    # The admin's payload is itself genuine: only the signature, made over the teacher's, is wrong.
    header, _, signature = g.pair["access_token"].split(".")
    return f"{header}.{_segment(g.admin_claims)}.{signature}"


def _without(claim: str) -> Callable[[Genuine], str]:
    def forge(g: Genuine) -> str:
        return _mint({k: v for k, v in g.claims.items() if k != claim})

    return forge


def _critical_extension(g: Genuine) -> str:
    return _mint(g.claims | {"urn:example:bind": "x"}, crit=["urn:example:bind"])


def _wrong_typ(g: Genuine) -> str:
    return _mint(g.claims, typ="JWT")


def _foreign_key_same_kid(g: Genuine) -> str:
    return _mint(g.claims, key=ed25519.Ed25519PrivateKey.generate())


def _refresh_as_access(g: Genuine) -> str:
    return str(g.pair["refresh_token"])


def _audience_of(kind: PrincipalKind) -> Callable[[Genuine], str]:
    def forge(g: Genuine) -> str:
        return _mint(g.claims | {"aud": AUDIENCES[kind], "kind": kind.value})

    return forge


def _garbage(g: Genuine) -> str:
    return "not.a-jwt.at-all"


FORGERIES: dict[str, Callable[[Genuine], str]] = {
    "alg-none": _alg_none,
    "hs256-keyed-with-public-pem": _hs256_public_pem,
    "hs256-keyed-with-public-raw": _hs256_public_raw,
    "expired": _expired,
    "not-yet-valid": _not_yet_valid,
    "wrong-audience": _wrong_audience,
    "wrong-issuer": _wrong_issuer,
    "unknown-kid": _unknown_kid,
    "tampered-payload": _tampered_payload,
    "missing-jti": _without("jti"),
    "missing-exp": _without("exp"),
    "missing-sub": _without("sub"),
    "missing-sid": _without("sid"),
    "crit-header": _critical_extension,
    "wrong-typ": _wrong_typ,
    "foreign-key-same-kid": _foreign_key_same_kid,
    "refresh-token-as-bearer": _refresh_as_access,
    "parent-audience": _audience_of(PrincipalKind.PARENT),
    "integration-audience": _audience_of(PrincipalKind.INTEGRATION),
    "garbage": _garbage,
}


def assert_unauthorized(response: httpx.Response) -> None:
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer "), response.headers


async def test_genuine_claims_minted_here_are_accepted(
    client: httpx.AsyncClient, world: World, genuine: Genuine
) -> None:
    teacher = world.login(Role.TEACHER)
    issued = await client.get(
        ME, headers={"Authorization": f"Bearer {genuine.pair['access_token']}"}
    )
    assert issued.status_code == 200, issued.text
    assert issued.json()["id"] == str(teacher.staff_id)
    reminted = await client.get(ME, headers={"Authorization": f"Bearer {_mint(genuine.claims)}"})
    assert reminted.status_code == 200, reminted.text
    # The tampered-payload forgery would be accepted as the admin if only its signature were right.
    as_admin = await client.get(
        ME, headers={"Authorization": f"Bearer {_mint(genuine.admin_claims)}"}
    )
    assert as_admin.json()["id"] == str(world.login(Role.TRUST_ADMIN).staff_id)


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_forged_tokens_are_refused(
    client: httpx.AsyncClient, genuine: Genuine, forgery: str
) -> None:
    token = FORGERIES[forgery](genuine)
    assert_unauthorized(await client.get(ME, headers={"Authorization": f"Bearer {token}"}))


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["no-header", "empty-bearer", "basic-scheme"],
)
async def test_requests_without_a_bearer_token_are_refused(
    client: httpx.AsyncClient, world: World, headers: dict[str, str]
) -> None:
    assert_unauthorized(await client.get(ME, headers=headers))


async def test_access_token_stops_working_after_logout(
    client: httpx.AsyncClient, world: World
) -> None:
    login = world.login(Role.TEACHER)
    headers = await bearer(login)
    other_session = await bearer(login)
    assert (await client.get(ME, headers=headers)).status_code == 200
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert_unauthorized(await client.get(ME, headers=headers))
    assert_unauthorized(await client.post("/api/v1/auth/logout", headers=headers))
    # Logout ends this sign-in session only, not the member's others.
    assert (await client.get(ME, headers=other_session)).status_code == 200


async def test_access_token_stops_working_after_deactivation(
    client: httpx.AsyncClient, world: World
) -> None:
    teacher = world.login(Role.TEACHER)
    headers = await bearer(teacher)
    assert (await client.get(ME, headers=headers)).status_code == 200
    admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    done = await client.post(f"/api/v1/staff/{teacher.staff_id}/deactivate", headers=admin)
    assert done.status_code == 200, done.text
    assert_unauthorized(await client.get(ME, headers=headers))


async def test_removed_role_is_gone_on_the_next_request(
    client: httpx.AsyncClient, world: World
) -> None:
    demoted = world.login(Role.SCHOOL_ADMIN)
    headers = await bearer(demoted)
    assert (await client.get("/api/v1/staff", headers=headers)).status_code == 200
    trust_admin = await bearer(world.login(Role.TRUST_ADMIN))
    url = f"/api/v1/staff/{demoted.staff_id}"
    etag = (await client.get(url, headers=trust_admin)).headers["etag"]
    teacher_only = {"roles": [{"role": "teacher", "school_id": str(demoted.school_id)}]}
    changed = await client.put(
        f"{url}/roles", json=teacher_only, headers=trust_admin | {"If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert_problem(await client.get("/api/v1/staff", headers=headers), 403, "forbidden")
    me = await client.get(ME, headers=headers)
    assert me.status_code == 200
    assert [r["role"] for r in me.json()["roles"]] == ["teacher"]
    assert "staff:read" not in {p for ps in me.json()["permissions"].values() for p in ps}


async def test_jwks_publishes_the_signing_key_without_private_members(
    client: httpx.AsyncClient, genuine: Genuine
) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    current = get_keyring().current
    (published,) = [k for k in keys if k["kid"] == current.kid]
    assert published["alg"] == "EdDSA"
    assert (published["kty"], published["crv"], published["use"]) == ("OKP", "Ed25519", "sig")
    assert all("d" not in k for k in keys)
    # The published key alone verifies a real token.
    verified = jwt.decode(
        genuine.pair["access_token"],
        jwt.PyJWK(published).key,
        algorithms=["EdDSA"],
        audience=AUDIENCES[PrincipalKind.STAFF],
        issuer=get_settings().jwt_issuer,
    )
    assert verified == genuine.claims


async def test_access_token_header_names_key_and_type(genuine: Genuine) -> None:
    header = jwt.get_unverified_header(genuine.pair["access_token"])
    assert header == {"alg": "EdDSA", "kid": get_keyring().current.kid, "typ": "at+jwt"}
    assert genuine.pair["expires_in"] == get_settings().access_token_minutes * 60
    assert genuine.claims["exp"] - genuine.claims["iat"] == genuine.pair["expires_in"]
    assert genuine.claims["aud"] == AUDIENCES[PrincipalKind.STAFF]
    assert genuine.claims["kind"] == "staff"
