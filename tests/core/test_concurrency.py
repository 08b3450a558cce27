"""If-Match compares strongly (RFC 9110, 13.1.1): a weak ETag never matches, so it cannot be used
to overwrite a version; the strong one, one of a list, or `*` can."""

import httpx
import pytest

from app.core.permissions import Role
from app.synthetic.generator import World
from tests.conftest import assert_problem, bearer


@pytest.mark.parametrize("weak", ['W/"{tag}"', 'W/"{tag}", W/"{tag}"', '"other", W/"{tag}"'])
async def test_a_weak_etag_in_if_match_is_412(
    client: httpx.AsyncClient, world: World, weak: str
) -> None:
    url = f"/api/v1/schools/{world.trusts[0].schools[0].id}"
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    etag = (await client.get(url, headers=headers)).headers["etag"]
    assert not etag.startswith("W/")
    if_match = weak.format(tag=etag.strip('"'))
    refused = await client.patch(
        url, json={"town": "Chatham"}, headers=headers | {"If-Match": if_match}
    )
    assert_problem(refused, 412, "precondition-failed")
    unchanged = await client.get(url, headers=headers)
    assert unchanged.headers["etag"] == etag


@pytest.mark.parametrize("offered", ["{etag}", 'W/"x", {etag}', "*"])
async def test_the_strong_etag_or_a_star_matches(
    client: httpx.AsyncClient, world: World, offered: str
) -> None:
    url = f"/api/v1/schools/{world.trusts[0].schools[0].id}"
    headers = await bearer(world.login(Role.TRUST_ADMIN))
    etag = (await client.get(url, headers=headers)).headers["etag"]
    changed = await client.patch(
        url, json={"town": "Chatham"}, headers=headers | {"If-Match": offered.format(etag=etag)}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["town"] == "Chatham"
