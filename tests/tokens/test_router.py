"""The token endpoint's grants: each names the fields it needs, and a request without them is
refused before any account or client is looked up."""

import httpx
import pytest

TOKEN = "/api/v1/auth/token"


@pytest.mark.parametrize(
    ("form", "needed"),
    [
        ({"grant_type": "password", "username": "someone@example.org"}, "username and password"),
        ({"grant_type": "client_credentials", "client_id": "abc"}, "client_id and client_secret"),
        ({"grant_type": "refresh_token"}, "refresh_token"),
    ],
)
async def test_a_grant_without_its_fields_is_an_invalid_request(
    client: httpx.AsyncClient, form: dict[str, str], needed: str
) -> None:
    response = await client.post(TOKEN, data=form)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["error"] == "invalid_request"
    assert needed in body["detail"]


async def test_an_unknown_grant_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN, data={"grant_type": "implicit"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
