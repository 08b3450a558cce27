"""Resource limits on what a request may carry: JSON nesting (measured while the body streams
in), huge strings and unknown keys (refused without echoing them), page sizes.

Measured on the development machine (medians of 15, in-process client): a JSON body nested
10,000 deep was already refused in about 1 ms before the depth check, but as an unexplained 400
("There was an error parsing the body": the parser's RecursionError); it is now a 400
`json-too-deep` in 1-2 ms. A 900 KB string in a 200-character field is refused with 422 in
10-17 ms, before and after (the depth check reads 900 KB of string in under half a
millisecond), without the value. An unknown key of 900 KB came back twice in the 422 (1.8 MB);
it is now cut to 64 characters (a 438-byte answer). The assertions allow a second for each,
to stay clear of a busy machine.
"""

import json
import time
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import MAX_VALIDATION_ERRORS
from app.core.middleware import JsonDepthGauge
from app.core.pagination import MAX_LIMIT
from app.core.permissions import Role
from app.core.settings import get_settings
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer
from tests.trusts.test_router import new_school

JSON = {"Content-Type": "application/json"}
QUICKLY = 1.0  # seconds


async def timed_post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.post(url, content=body, headers=headers | JSON)
    return response, time.perf_counter() - started


def nested(depth: int, inner: bytes = b"") -> bytes:
    return b"[" * depth + inner + b"]" * depth


@pytest.fixture
async def admin(world: World) -> dict[str, str]:
    return await bearer(world.login(Role.TRUST_ADMIN))


@pytest.mark.parametrize("depth", [10_000, 100_000])
async def test_json_nested_thousands_deep_is_refused_at_once(
    client: httpx.AsyncClient, admin: dict[str, str], depth: int
) -> None:
    body = b'{"name": ' + nested(depth) + b"}"
    response, seconds = await timed_post(client, "/api/v1/schools", body, admin)
    problem = assert_problem(response, 400, "json-too-deep")
    assert str(get_settings().max_json_depth) in problem["detail"]
    assert seconds < QUICKLY


async def test_depth_is_refused_before_authentication_and_on_bulk_routes(
    client: httpx.AsyncClient, world: World
) -> None:
    roster = f"/api/v1/schools/{world.trusts[0].schools[0].id}/roster"
    for method, url in (("POST", "/api/v1/parent/sessions"), ("PUT", roster)):
        response = await client.request(method, url, content=nested(10_000), headers=JSON)
        assert_problem(response, 400, "json-too-deep")


async def test_depth_up_to_the_limit_reaches_validation(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    limit = get_settings().max_json_depth
    at_limit = b'{"name": ' + nested(limit - 1) + b"}"
    response, _ = await timed_post(client, "/api/v1/schools", at_limit, admin)
    assert_problem(response, 422, "validation-error")
    # Brackets inside strings are text, not nesting.
    school = new_school(name="[" * 150, address_line2="{" * 150)
    created = await client.post("/api/v1/schools", json=school, headers=admin)
    assert created.status_code == 201, created.text


async def test_a_body_without_content_type_is_measured_too(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post("/api/v1/schools", content=nested(1_000), headers=admin)
    assert_problem(response, 400, "json-too-deep")


async def test_depth_is_measured_across_chunks(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    async def chunks() -> Any:
        for _ in range(200):
            yield b'{"a": ["\\\\", "]]]]", '
        yield b"}" * 200

    response = await client.post("/api/v1/schools", content=chunks(), headers=admin | JSON)
    assert_problem(response, 400, "json-too-deep")


async def test_a_huge_string_is_refused_without_being_echoed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    huge = "x" * 900_000
    body = json.dumps(new_school(name=huge)).encode()
    response, seconds = await timed_post(client, "/api/v1/schools", body, admin)
    problem = assert_problem(response, 422, "validation-error")
    assert [e["pointer"] for e in problem["errors"]] == ["#/name"]
    assert len(response.content) < 2_000
    assert seconds < QUICKLY


async def test_a_huge_unknown_key_is_cut_short_in_the_answer(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    school: dict[str, Any] = new_school()
    school["k" * 900_000] = 1
    response, seconds = await timed_post(
        client, "/api/v1/schools", json.dumps(school).encode(), admin
    )
    problem = assert_problem(response, 422, "validation-error")
    (error,) = problem["errors"]
    assert error["pointer"].startswith("#/kkkk")
    assert len(error["pointer"]) < 100
    assert len(response.content) < 2_000
    assert seconds < QUICKLY


async def test_a_body_wrong_everywhere_lists_the_first_problems_only(
    client: httpx.AsyncClient, world: World
) -> None:
    staff = await bearer(world.login(Role.SCHOOL_ADMIN))
    home = world.trusts[0].schools[0].id
    body = {"name": "Arbor", "school_ids": ["not-a-uuid"] * 50_000, "scopes": ["roster:read"]}
    response, seconds = await timed_post(
        client, "/api/v1/integration-clients", json.dumps(body).encode(), staff
    )
    problem = assert_problem(response, 422)
    assert len(problem["errors"]) <= MAX_VALIDATION_ERRORS
    assert len(response.content) < 20_000
    assert seconds < 5 * QUICKLY
    assert str(home) not in response.text


# JSON values whose strings are full of the characters the gauge has to see through.
_tricky_text = st.text(alphabet='[]{}"\\ ab\n', max_size=6)
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_tricky_text, inner, max_size=3),
    max_leaves=30,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(value=_values, limit=st.integers(0, 6), cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_the_gauge_agrees_with_the_parser(value: Any, limit: int, cuts: list[int]) -> None:
    text = json.dumps(value, separators=(",", ":")).encode()
    points = sorted({c % (len(text) + 1) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    gauge = JsonDepthGauge(limit)
    within = all(gauge.feed(chunk) for chunk in chunks)
    assert within == (_depth(value) <= limit)
    if within:
        assert gauge.depth == 0
        assert not gauge.in_string


def test_the_gauge_is_linear_on_hostile_strings() -> None:
    # An unterminated string full of escaped quotes: quadratic for a naive string matcher.
    hostile = b'["' + b'\\"' * 400_000
    started = time.perf_counter()
    assert JsonDepthGauge(32).feed(hostile)
    flat = b"[" + b"[]," * 300_000 + b"[]]"
    assert JsonDepthGauge(32).feed(flat)
    assert time.perf_counter() - started < QUICKLY


def _paged_operations(app: Any) -> list[tuple[str, dict[str, Any]]]:
    paged = []
    for path, item in app.openapi()["paths"].items():
        for operation in item.values():
            ok = operation["responses"].get("200", {})
            schema = json.dumps(ok.get("content", {}).get("application/json", {}))
            if "#/components/schemas/Page_" in schema:
                paged.append((path, operation))
    return paged


def test_every_list_caps_its_page_size(app: Any) -> None:
    paged = _paged_operations(app)
    assert len(paged) >= 10
    for path, operation in paged:
        (limit,) = [p for p in operation["parameters"] if p["name"] == "limit"]
        assert limit["in"] == "query", path
        assert limit["schema"]["maximum"] == MAX_LIMIT, path
        assert limit["schema"]["minimum"] == 1, path


@pytest.mark.parametrize("limit", [str(MAX_LIMIT + 1), "0", "1000000", "-1", "ten"])
async def test_page_sizes_out_of_range_are_422(
    client: httpx.AsyncClient, admin: dict[str, str], limit: str
) -> None:
    response = await client.get("/api/v1/schools", params={"limit": limit}, headers=admin)
    problem = assert_problem(response, 422, "validation-error")
    assert [(e["in"], e["parameter"]) for e in problem["errors"]] == [("query", "limit")]


async def test_the_largest_page_is_allowed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.get("/api/v1/schools", params={"limit": MAX_LIMIT}, headers=admin)
    assert response.status_code == 200
