"""Debian's Chromium, headless, for the tests that check a page the way a reader sees it: the API
explorer (tests/core/test_docs.py) and the termly report (tests/reports/test_termly.py).

Two ways in, on one set of flags: `render_dom` runs the page and prints its DOM (what the
explorer's tests need); `open_page` drives it over the DevTools protocol, to size the window,
run a measurement, collect console errors and print to PDF. scripts/test.sh installs Chromium
where it is missing; without it these tests fail rather than skip."""

import base64
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Every host name but the test server's fails to resolve: a page that still reached for a CDN
# would render nothing, even on a machine with internet access.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def _arguments(profile: Path, *extra: str) -> list[str]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Chromium is not installed: scripts/test.sh installs it (apt-get install chromium)"
        )
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        OFFLINE,
        *extra,
    ]


def render_dom(url: str, profile: Path, height: int = 1000) -> tuple[str, str]:
    """The DOM Chromium rendered in a window `height` pixels tall, and what it logged (console
    messages included)."""
    rendered = subprocess.run(  # noqa: S603 - the browser, arguments fixed by the test
        _arguments(
            profile,
            f"--window-size=1280,{height}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    return rendered.stdout, rendered.stderr


class DevTools:
    """One page's DevTools session: commands answered in order, events kept for inspection."""

    def __init__(self, socket: ClientConnection, session_id: str | None = None) -> None:
        self.socket = socket
        self.session_id = session_id
        self.events: list[dict[str, Any]] = []
        self._last_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params}
        if self.session_id:
            message["sessionId"] = self.session_id
        self.socket.send(json.dumps(message))
        while True:
            answer = self._next(timeout=60)
            if answer.get("id") == self._last_id and answer.get("sessionId") == self.session_id:
                assert "error" not in answer, f"{method}: {answer['error']}"
                result: dict[str, Any] = answer["result"]
                return result

    def wait_for(self, event: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not any(e["method"] == event for e in self.events):
            self._next(timeout=max(0.1, deadline - time.monotonic()))
            if time.monotonic() > deadline:
                pytest.fail(f"Chromium sent no {event} within {timeout} s")
        return next(e for e in self.events if e["method"] == event)

    def _next(self, timeout: float) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.socket.recv(timeout=timeout))
        if "method" in message:
            self.events.append(message)
        return message


class Page:
    """A loaded page: evaluate JavaScript in it, read its console errors, print it to PDF."""

    def __init__(self, devtools: DevTools) -> None:
        self.devtools = devtools

    def evaluate(self, expression: str) -> Any:
        result = self.devtools.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def console_errors(self) -> list[str]:
        """Errors and warnings the page raised: console calls, uncaught exceptions and the
        browser's own messages (a resource refused by the page's policy among them)."""
        errors = []
        for event in self.devtools.events:
            params = event["params"]
            if event["method"] == "Runtime.consoleAPICalled" and params["type"] in (
                "error",
                "warning",
                "assert",
            ):
                errors.append(json.dumps(params["args"]))
            elif event["method"] == "Runtime.exceptionThrown":
                errors.append(json.dumps(params["exceptionDetails"]))
            elif event["method"] == "Log.entryAdded" and params["entry"]["level"] in (
                "error",
                "warning",
            ):
                errors.append(params["entry"]["text"])
        return errors

    def print_pdf(self) -> bytes:
        """What "Print to PDF" in the browser makes, at the paper size the page's CSS asks for."""
        printed = self.devtools.call(
            "Page.printToPDF", preferCSSPageSize=True, printBackground=True
        )
        return base64.b64decode(printed["data"])


def _debugger_address(profile: Path, process: subprocess.Popen[bytes]) -> str:
    """Chromium writes the port it chose (and the browser's path) to its profile once it listens."""
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Chromium exited with {process.returncode} before it listened")
        lines = active.read_text().split() if active.exists() else []
        if len(lines) == 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.1)
    pytest.fail("Chromium did not open its DevTools port within 60 s")


@contextmanager
def open_page(url: str, profile: Path, width: int = 1280, height: int = 1000) -> Iterator[Page]:
    """`url` loaded in a fresh headless Chromium whose window is `width` × `height` CSS pixels
    (a narrow one is a phone: the page's viewport meta applies)."""
    process = subprocess.Popen(  # noqa: S603 - the browser, arguments fixed by the test
        _arguments(profile, "--remote-debugging-port=0", "about:blank"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with connect(_debugger_address(profile, process), max_size=None, proxy=None) as socket:
            browser = DevTools(socket)
            target = browser.call("Target.createTarget", url="about:blank")["targetId"]
            attached = browser.call("Target.attachToTarget", targetId=target, flatten=True)
            page = DevTools(socket, attached["sessionId"])
            for domain in ("Page", "Runtime", "Log"):
                page.call(f"{domain}.enable")
            page.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=width < 600,
            )
            page.call("Page.navigate", url=url)
            page.wait_for("Page.loadEventFired")
            yield Page(page)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
