"""The API explorer (/docs) and reference (/redoc) come from this process and render offline, in
a real browser, under their Content-Security-Policy: nothing is fetched from a CDN.

The browser is Debian's Chromium, driven by tests/browser.py."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.settings import Settings
from app.main import create_app
from tests.browser import render_dom

ROOT = Path(__file__).resolve().parent.parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`threshold serve` on a free port, on the test database."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, arguments fixed by the test
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(process, base, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(process: subprocess.Popen[Any], base: str, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"threshold serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"threshold serve did not answer within 120 s:\n{log.read_text()}")


def _operations() -> list[dict[str, Any]]:
    document = create_app().openapi()
    return [op for item in document["paths"].values() for op in item.values()]


def _tall_enough(operations: list[dict[str, Any]]) -> int:
    """Swagger UI virtualises a list of 150 or more tags and operations, rendering only the rows
    in view: a window with room for every row (under 80 px each) renders them all."""
    tags = {tag for op in operations for tag in op.get("tags", [])}
    return 2000 + 100 * (len(operations) + len(tags))


def test_swagger_ui_renders_every_operation_offline_under_its_policy(
    server: str, tmp_path: Path
) -> None:
    operations = _operations()
    dom, log = render_dom(f"{server}/docs", tmp_path, height=_tall_enough(operations))
    assert "Content Security Policy" not in log, log
    assert len(re.findall(r'class="opblock opblock-(?:get|post|put|patch|delete)', dom)) == len(
        operations
    )
    assert "Liveness: the process is serving" in dom
    assert "The parent portal's API." in dom  # a tag's description


def test_a_link_to_the_last_tag_renders_it_in_an_ordinary_window(
    server: str, tmp_path: Path
) -> None:
    """Past Swagger UI's virtualising threshold a deep link must still reach a tag far down."""
    dom, log = render_dom(f"{server}/docs#/health", tmp_path)
    assert "Content Security Policy" not in log, log
    assert 'data-tag="health"' in dom
    assert "Liveness: the process is serving" in dom


def test_redoc_renders_offline_under_its_policy(server: str, tmp_path: Path) -> None:
    dom, log = render_dom(f"{server}/redoc", tmp_path)
    assert "Content Security Policy" not in log, log
    assert 'data-item-id="tag/health/operation/health_healthz"' in dom
    assert "Readiness: the database answers" in dom


async def test_the_pages_run_no_inline_script_and_load_only_from_here(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/docs", "/redoc"):
        page = await client.get(path)
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "'unsafe-eval'" not in policy
        assert "default-src 'none'" in policy
        assert re.findall(r"<script[^>]*>([^<]+)</script>", page.text) == []
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets
        assert all(a.startswith("/") or a == "data:," for a in assets), assets
        for asset in (a for a in assets if a.startswith("/")):
            loaded = await client.get(asset)
            assert loaded.status_code == 200, asset
    # The built files ship with their licence.
    licence = await client.get("/docs/assets/LICENSE")
    assert "Apache License" in licence.text
    # Anything else still renders nothing.
    data = await client.get("/healthz")
    assert data.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


async def test_no_explorer_where_docs_are_off() -> None:
    app = create_app(Settings(environment="test", docs_enabled=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/assets/swagger-ui-bundle.js"):
            assert (await client.get(path)).status_code == 404, path
