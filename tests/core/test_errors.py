"""Every error is problem+json; bad input is refused whole; internals never leak."""

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from app.core.errors import clean_message, joined
from app.core.permissions import Role
from app.main import create_app
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.trusts.test_router import new_school


async def test_malformed_json_is_400(client: httpx.AsyncClient, world: World) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN)) | {"Content-Type": "application/json"}
    response = await client.post("/api/v1/schools", content=b'{"urn": "1', headers=headers)
    assert_problem(response, 400, "malformed-json")


async def test_validation_errors_point_at_fields(client: httpx.AsyncClient, world: World) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    body = assert_problem(
        await client.post("/api/v1/schools", json={"urn": "1"}, headers=headers), 422
    )
    pointers = {e["pointer"] for e in body["errors"]}
    assert "#/urn" in pointers
    assert "#/name" in pointers


async def test_a_body_field_error_points_into_the_body_in_plain_words(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    response = await client.post(
        "/api/v1/schools", json=new_school(postcode="ZZ1 1ZZZ", name=""), headers=headers
    )
    body = assert_problem(response, 422, "validation-error")
    details = {e["pointer"]: e["detail"] for e in body["errors"]}
    assert details["#/postcode"] == "not a valid UK postcode"
    assert "#/name" in details
    assert "Value error" not in response.text
    assert ".." not in response.text


async def test_a_parameter_error_names_the_parameter_not_a_pointer(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    response = await client.get("/api/v1/schools", params={"limit": "ten"}, headers=headers)
    body = assert_problem(response, 422, "validation-error")
    (error,) = body["errors"]
    assert (error["parameter"], error["in"]) == ("limit", "query")
    assert "pointer" not in error
    assert body["detail"].startswith("limit: ")


def test_pydantic_prefixes_and_doubled_stops_are_taken_out() -> None:
    assert clean_message("Value error, a break ends after it starts") == (
        "a break ends after it starts"
    )
    assert clean_message("Assertion failed, it must.. hold") == "it must. hold"
    assert clean_message("and so on...") == "and so on..."
    assert joined(["first.", "second"]) + "." == "first; second."


async def test_oversize_body_is_413_by_length(client: httpx.AsyncClient, world: World) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    big = new_school(name="x" * (1024 * 1024 + 10))
    assert_problem(
        await client.post("/api/v1/schools", json=big, headers=headers), 413, "payload-too-large"
    )


async def test_oversize_body_is_413_when_streamed(client: httpx.AsyncClient, world: World) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN)) | {"Content-Type": "application/json"}

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    response = await client.post("/api/v1/schools", content=chunks(), headers=headers)
    assert_problem(response, 413)


async def test_unauthenticated_is_401_with_challenge(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get("/api/v1/schools")
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_wrong_method_is_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.delete("/api/v1/schools"), 405)


async def test_unexpected_error_is_500_with_request_id_in_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: SELECT * FROM pupil")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        with caplog.at_level(logging.ERROR):
            response = await c.get("/boom")
    body = assert_problem(response, 500, "internal-error")
    assert "SELECT" not in response.text
    assert "secret" not in response.text
    assert response.headers["x-request-id"] == body["request_id"]
    assert any(getattr(r, "request_id", None) == body["request_id"] for r in caplog.records)


async def test_idempotency_key_replays_and_refuses_reuse(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN)) | {
        "Idempotency-Key": "create-school-0001"
    }
    first = await client.post("/api/v1/schools", json=new_school(), headers=headers)
    again = await client.post("/api/v1/schools", json=new_school(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    different = await client.post("/api/v1/schools", json=new_school(urn="131314"), headers=headers)
    assert_problem(different, 422)
    listed = await client.get("/api/v1/schools", params={"limit": 200}, headers=headers)
    assert sum(s["urn"] == "131313" for s in listed.json()["items"]) == 1


async def test_idempotency_keys_belong_to_their_caller(
    client: httpx.AsyncClient, world: World
) -> None:
    key = {"Idempotency-Key": "shared-key-0001"}
    first = await client.post(
        "/api/v1/schools",
        json=new_school(),
        headers=await bearer(world.login(Role.TRUST_ADMIN, trust=0)) | key,
    )
    second = await client.post(
        "/api/v1/schools",
        json=new_school(urn="131399"),
        headers=await bearer(world.login(Role.TRUST_ADMIN, trust=1)) | key,
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


async def test_security_headers_on_every_response(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.headers["x-request-id"]) >= 8


async def test_naive_datetime_filter_is_refused(client: httpx.AsyncClient, world: World) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    response = await client.get(
        "/api/v1/audit-events", params={"since": "2026-01-01T00:00:00"}, headers=headers
    )
    assert_problem(response, 422)


@pytest.mark.parametrize("value", ["0.5", "1700000000", "yesterday"])
async def test_datetime_filters_take_iso_8601_only(
    client: httpx.AsyncClient, world: World, value: str
) -> None:
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    assert_problem(
        await client.get("/api/v1/audit-events", params={"until": value}, headers=headers), 422
    )
    ok = await client.get(
        "/api/v1/audit-events", params={"until": "2030-01-01T00:00:00+01:00"}, headers=headers
    )
    assert ok.status_code == 200


async def test_database_down_is_503_with_retry_after(
    client: httpx.AsyncClient, world: World
) -> None:
    from app.core import db
    from app.core.settings import get_settings

    headers = await bearer(world.login(Role.TRUST_ADMIN))
    previous = db.get_database()
    # Nothing listens on port 1: every connection attempt is refused, as when PostgreSQL is down.
    down = get_settings().model_copy(
        update={"database_url": "postgresql://postgres@127.0.0.1:1/threshold"}
    )
    db.use_database(db.Database(down, pooled=False))
    try:
        response = await client.get("/api/v1/schools", headers=headers)
    finally:
        db.use_database(previous)
    body = assert_problem(response, 503, "service-unavailable")
    assert response.headers["retry-after"]
    assert "127.0.0.1" not in body["detail"]
    assert (await client.get("/api/v1/schools", headers=headers)).status_code == 200
