"""Security configuration as deployed: no API explorer in production unless asked for, CORS
only for allow-listed origins, HSTS only when configured, the headers every answer carries, and
X-Forwarded-For believed only from the proxies named in THRESHOLD_FORWARDED_ALLOW_IPS.
"""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import ValidationError

from app.cli import uvicorn_options
from app.core.permissions import Role
from app.core.settings import Settings, get_settings
from app.main import create_app
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer, load_roster
from tests.roster.snapshots import small_snapshot

DOCS = ("/docs", "/redoc", "/openapi.json")
PORTAL = "https://portal.example.org"
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"


def production(**overrides: Any) -> Settings:
    """Production settings as an operator would set them (the keys are never used here)."""
    values: dict[str, Any] = {
        "environment": "production",
        "database_url": "postgresql://threshold@db.internal/threshold",
        "jwt_private_keys": "set",
        "sealing_keys": "set",
        "messages_delivery": "notify",
        "notify_api_key": "set",
        "notify_sms_template_id": "set",
        "notify_email_template_id": "set",
        "notify_callback_token": "set",
    }
    return Settings(**(values | overrides))


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(settings), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://api.example.org") as c:
        yield c


@pytest.fixture
async def deployed() -> AsyncIterator[httpx.AsyncClient]:
    async with serve(production(cors_origins=[PORTAL], hsts=True)) as client:
        yield client


@pytest.mark.parametrize("path", DOCS)
async def test_production_serves_no_api_explorer(deployed: httpx.AsyncClient, path: str) -> None:
    assert_problem(await deployed.get(path), 404, "not-found")


@pytest.mark.parametrize("path", DOCS)
async def test_production_serves_the_explorer_when_enabled(path: str) -> None:
    async with serve(production(docs_enabled=True)) as client:
        response = await client.get(path)
        assert response.status_code == 200, path
        # Swagger UI and ReDoc run scripts: they alone have a policy other than the data-only
        # one, and it allows scripts from this origin only (tests/core/test_docs.py).
        if path != "/openapi.json":
            assert "script-src 'self';" in response.headers["content-security-policy"]


def test_explorer_is_on_by_default_outside_production_only() -> None:
    assert get_settings().serve_docs
    assert not production().serve_docs
    assert not Settings(environment="development", docs_enabled=False).serve_docs


async def test_cors_answers_allow_listed_origins_only(deployed: httpx.AsyncClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    allowed = await deployed.options("/api/v1/schools", headers={"Origin": PORTAL} | preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == PORTAL
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    refused = await deployed.options(
        "/api/v1/schools", headers={"Origin": "https://evil.example"} | preflight
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    plain = await deployed.get("/api/v1/schools", headers={"Origin": "https://evil.example"})
    assert_problem(plain, 401)
    assert "access-control-allow-origin" not in plain.headers
    listed = await deployed.get("/api/v1/schools", headers={"Origin": PORTAL})
    assert listed.headers["access-control-allow-origin"] == PORTAL
    assert "retry-after" in listed.headers["access-control-expose-headers"].lower()
    # Bearer tokens, not cookies: a browser never sends credentials on the portal's behalf.
    assert "access-control-allow-credentials" not in listed.headers


async def test_no_cors_without_an_allow_list() -> None:
    async with serve(production()) as client:
        response = await client.options(
            "/api/v1/schools",
            headers={"Origin": PORTAL, "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in response.headers
        assert response.status_code == 405


async def test_hsts_only_when_configured(deployed: httpx.AsyncClient) -> None:
    sent = (await deployed.get("/api/v1/schools")).headers["strict-transport-security"]
    assert sent.startswith("max-age=")
    assert int(sent.split("=")[1].split(";")[0]) >= 31536000
    async with serve(production()) as client:
        assert "strict-transport-security" not in (await client.get("/api/v1/schools")).headers


def assert_data_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"] == JSON_CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


async def test_personal_data_is_never_cached_or_rendered(
    client: httpx.AsyncClient, world: World
) -> None:
    await load_roster(world, small_snapshot(world))
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    url = f"/api/v1/schools/{world.trusts[0].schools[0].id}/pupils"
    listed = await client.get(url, headers=headers)
    exported = await client.get(url, headers=headers | {"Accept": "text/csv"})
    pupil = await client.get(f"/api/v1/pupils/{listed.json()['items'][0]['id']}", headers=headers)
    for response in (listed, exported, pupil):
        assert response.status_code == 200
        assert_data_headers(response)


async def test_errors_carry_the_same_headers(client: httpx.AsyncClient, world: World) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    too_large = await client.post(
        "/api/v1/schools", content=b"[" * (2 * 1024 * 1024), headers=headers
    )
    too_deep = await client.post("/api/v1/schools", content=b"[" * 100, headers=headers)
    missing = await client.get("/api/v1/nothing-here")
    anonymous = await client.get("/api/v1/schools")
    for response, status in ((too_large, 413), (too_deep, 400), (missing, 404), (anonymous, 401)):
        assert_problem(response, status)
        assert_data_headers(response)


@asynccontextmanager
async def served_by_threshold_serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app as `threshold serve` runs it (uvicorn's own wrapping included), reached from a
    proxy on the same machine."""
    config = uvicorn.Config("app.main:create_app", factory=True, **uvicorn_options(settings))
    config.load()
    transport = httpx.ASGITransport(app=config.loaded_app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://api.example.org") as c:
        yield c


@pytest.mark.parametrize(
    ("trusted", "believed"),
    [("", False), ("127.0.0.1", True), ("10.0.0.0/8", False), ("127.0.0.0/8, ::1", True)],
)
async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    monkeypatch: pytest.MonkeyPatch, trusted: str, believed: bool
) -> None:
    monkeypatch.setattr(get_settings(), "parent_code_max_failures", 1)
    async with served_by_threshold_serve(Settings(forwarded_allow_ips=trusted)) as proxied:
        answers = [
            await proxied.post(
                "/api/v1/parent/sessions",
                json={"code": "0" * 20},
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            )
            for n in (1, 2)
        ]
    # One wrong code per address is allowed: two callers behind a believed proxy get one each;
    # otherwise both count against the proxy's own address, whatever the header claims.
    assert [a.status_code for a in answers] == ([400, 400] if believed else [400, 429])


def test_proxy_addresses_must_be_addresses() -> None:
    assert (
        Settings(forwarded_allow_ips=" 10.0.0.0/8 , ::1,").forwarded_allow_ips == "10.0.0.0/8,::1"
    )
    assert Settings(forwarded_allow_ips="*").forwarded_allow_ips == "*"
    for wrong in ("proxy.internal", "10.0.0.1/8"):
        with pytest.raises(ValidationError, match=re.escape(wrong)):
            Settings(forwarded_allow_ips=f"10.0.0.1,{wrong}")


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"messages_delivery": "log"}, "THRESHOLD_MESSAGES_DELIVERY must be notify in production"),
        ({"notify_callback_token": None}, "THRESHOLD_NOTIFY_CALLBACK_TOKEN must be set"),
        ({"notify_api_key": None}, "THRESHOLD_NOTIFY_API_KEY must be set"),
    ],
)
def test_production_refuses_to_start_without_a_way_to_reach_families(
    overrides: dict[str, Any], refusal: str
) -> None:
    """The log channel texts nobody, and without the callback token no failed text would reach
    the office's could-not-reach list: production refuses both at start-up."""
    with pytest.raises(ValidationError, match=re.escape(refusal)):
        production(**overrides)
    assert Settings(environment="development", messages_delivery="log").messages_delivery == "log"
