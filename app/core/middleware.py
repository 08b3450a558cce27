"""Pure-ASGI middleware: request ids and access logs, body size caps, headers, the last-resort 500."""

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PROBLEM_BASE, PROBLEM_JSON
from app.core.logs import failure
from app.core.requestctx import set_request_id

access_log = logging.getLogger("threshold.access")
error_log = logging.getLogger("threshold.errors")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Nothing but the explorer's pages is meant to render: a JSON body (or CSV) opened in a browser
# runs no script, loads nothing and cannot be framed.
NO_PAGE = b"default-src 'none'; frame-ancestors 'none'"


def _problem_bytes(status: int, slug: str, title: str, detail: str, request_id: str) -> bytes:
    return json.dumps(
        {
            "type": PROBLEM_BASE + slug,
            "title": title,
            "status": status,
            "detail": detail,
            "request_id": request_id,
        }
    ).encode()


async def _send_problem(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Gives each request an id (or keeps a well-formed incoming one), logs it, answers a
    problem+json 500 for anything unhandled, and adds the headers every response carries."""

    def __init__(
        self, app: ASGIApp, *, hsts: bool = False, page_policies: Mapping[str, str] | None = None
    ) -> None:
        self.app = app
        self.hsts = hsts
        # The few pages (the API explorer) by path, each with the policy it needs to render;
        # every other answer is data, never a page.
        self.page_policies = {
            path: policy.encode() for path, policy in (page_policies or {}).items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        set_request_id(request_id)
        started = time.perf_counter()
        status_holder: dict[str, int] = {"status": 500}
        response_started = False
        extra_headers = self._headers(request_id, self.page_policies.get(scope["path"], NO_PAGE))

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_holder["status"] = message["status"]
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    h for h in extra_headers if h[0] not in names
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # The class and where, never the message (see core/logs.py).
            error_log.error("unhandled error", extra={"request_id": request_id, **failure(exc)})
            if not response_started:
                body = _problem_bytes(
                    500,
                    "internal-error",
                    "Internal error",
                    "Something went wrong on our side. Quote the request id if you contact support.",
                    request_id,
                )
                await _send_problem(send, 500, body, extra_headers)
                status_holder["status"] = 500
        finally:
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    # The path only: query strings may carry personal data (names, postcodes).
                    "path": _logged_path(scope),
                    "status": status_holder["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            set_request_id(None)

    def _headers(self, request_id: str, policy: bytes) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"x-request-id", request_id.encode()),
            # Almost every answer carries personal data about children; nothing is cached.
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-security-policy", policy),
        ]
        if self.hsts:
            headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        return headers


_OPEN = ord("[")
# Keeps only quotes and brackets, and makes every bracket a square one.
_STRUCTURE_ONLY = (
    bytes.maketrans(b"{}", b"[]"),
    bytes(b for b in range(256) if b not in b'[]{}"'),
)


class JsonDepthGauge:
    """The nesting depth of a JSON text fed in chunks, measured without parsing it.

    Escaped backslashes and quotes are dropped first, so the quotes left delimit strings; then
    everything but quotes and brackets. Two quotes side by side enclose no bracket either way
    (an empty string, or nothing between two strings), so they go too, and what remains is
    little more than the brackets, split into text and structure at the quotes. Every step is
    a bytes method running in C, except a walk over the brackets of a chunk holding more
    opening brackets than the limit (a large roster snapshot). Invalid JSON may be measured
    wrongly; the parser refuses it anyway.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.depth = 0
        self.in_string = False
        self.pending_escape = False

    def feed(self, chunk: bytes) -> bool:
        """False once the text has gone deeper than the limit."""
        if self.pending_escape and chunk:
            self.pending_escape, chunk = False, chunk[1:]
        if b"\\" in chunk:
            # Runs of backslashes pair from the left, as JSON reads them; what is left of a run
            # escapes the byte after it.
            chunk = chunk.replace(b"\\\\", b"").replace(b'\\"', b"")
            if chunk.endswith(b"\\"):  # the escaped byte is in the next chunk
                self.pending_escape, chunk = True, chunk[:-1]
        parts = chunk.translate(*_STRUCTURE_ONLY).replace(b'""', b"").split(b'"')
        brackets = b"".join(parts[1::2] if self.in_string else parts[0::2])
        if len(parts) % 2 == 0:
            self.in_string = not self.in_string
        opened = brackets.count(_OPEN)
        if self.depth + opened > self.limit and self._deepest(brackets) > self.limit:
            return False
        self.depth += 2 * opened - len(brackets)
        return True

    def _deepest(self, brackets: bytes) -> int:
        # Every peak of the depth is an adjacent "[]"; dropping them all lowers the deepest
        # point by at most one and leaves little to walk (a flat list of a million lists).
        lowered = self._walk(brackets.replace(b"[]", b""))
        return lowered if lowered != self.limit else self._walk(brackets)

    def _walk(self, brackets: bytes) -> int:
        depth = deepest = self.depth
        for bracket in brackets:
            if bracket != _OPEN:
                depth -= 1
                continue
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > self.limit:
                    break
        return deepest


def is_json(scope: Scope) -> bool:
    """Whether the framework will parse this body as JSON (it does when no type is given)."""
    content_type: bytes = dict(scope["headers"]).get(b"content-type", b"")
    if not content_type:
        return True
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


class _Refusal(Exception):
    def __init__(self, status: int, slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail


def _too_large(cap: int) -> _Refusal:
    return _Refusal(
        413,
        "payload-too-large",
        "Request body too large",
        f"Request bodies here are limited to {cap} bytes.",
    )


def _too_deep(limit: int) -> _Refusal:
    return _Refusal(
        400,
        "json-too-deep",
        "JSON nested too deeply",
        f"JSON bodies here are nested at most {limit} levels deep.",
    )


class BodySizeLimitMiddleware:
    """Refuses bodies over the cap with 413, by Content-Length up front or while streaming, and
    JSON bodies nested deeper than `max_json_depth` with 400 as soon as the depth is passed.

    The depth check keeps the parser from recursing ten thousand levels (Python's json gives up
    with a RecursionError the framework reports as an unexplained 400) and keeps absurd
    structures away from validation. Bulk endpoints (a whole school's roster, an uploaded MIS
    file) take a larger size cap: their paths end in one of `bulk_suffixes`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        bulk_max_bytes: int,
        max_json_depth: int = 32,
        bulk_suffixes: tuple[str, ...] = ("/roster", "/roster-imports"),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.bulk_max_bytes = bulk_max_bytes
        self.max_json_depth = max_json_depth
        self.bulk_suffixes = bulk_suffixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bulk = scope["path"].rstrip("/").endswith(self.bulk_suffixes)
        cap = self.bulk_max_bytes if bulk else self.max_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                over = int(declared) > cap
            except ValueError:
                over = False
            if over:
                await self._refuse(send, _too_large(cap))
                return
        gauge = JsonDepthGauge(self.max_json_depth) if is_json(scope) else None
        received = 0
        refusal: _Refusal | None = None
        replaced = False

        async def limited_receive() -> Message:
            nonlocal received, refusal
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                received += len(body)
                if received > cap:
                    refusal = _too_large(cap)
                elif gauge is not None and not gauge.feed(body):
                    refusal = _too_deep(self.max_json_depth)
                if refusal is not None:
                    raise refusal
            return message

        async def guarded_send(message: Message) -> None:
            # The framework turns a failed body read into its own 400; answer the real reason.
            nonlocal replaced
            if refusal is not None:
                if not replaced:
                    replaced = True
                    await self._refuse(send, refusal)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _Refusal as raised:
            if not replaced:
                await self._refuse(send, raised)

    async def _refuse(self, send: Send, refusal: _Refusal) -> None:
        from app.core.requestctx import current_request_id

        body = _problem_bytes(
            refusal.status, refusal.slug, refusal.title, refusal.detail, current_request_id() or ""
        )
        await _send_problem(send, refusal.status, body, [])


def _logged_path(scope: Scope) -> str | None:
    """The request's path, or the route's template where the path itself is a secret (a
    calendar feed's address): such a route says so with `x-path-is-secret` in its OpenAPI."""
    path: str | None = scope.get("path")
    extra = getattr(scope.get("route"), "openapi_extra", None) or {}
    if path and extra.get("x-path-is-secret"):
        for name, value in (scope.get("path_params") or {}).items():
            path = path.replace(str(value), "{" + name + "}")
    return path
