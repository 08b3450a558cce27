"""Pure-ASGI middleware: request ids and access logs, body size caps, headers, the last-resort 500."""

import json
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PROBLEM_BASE, PROBLEM_JSON
from app.core.requestctx import set_request_id

access_log = logging.getLogger("threshold.access")
error_log = logging.getLogger("threshold.errors")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


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

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

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
        extra_headers = self._headers(request_id)

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
        except Exception:
            error_log.exception("unhandled error", extra={"request_id": request_id})
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
                    "path": scope.get("path"),
                    "status": status_holder["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            set_request_id(None)

    def _headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"x-request-id", request_id.encode()),
            # Almost every answer carries personal data about children; nothing is cached.
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if self.hsts:
            headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        return headers


class BodySizeLimitMiddleware:
    """Refuses bodies over the cap with 413, by Content-Length up front or while streaming.

    Bulk endpoints (a whole school's roster, an uploaded MIS file) take a larger cap: their paths
    end in one of `bulk_suffixes`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        bulk_max_bytes: int,
        bulk_suffixes: tuple[str, ...] = ("/roster", "/roster-imports"),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.bulk_max_bytes = bulk_max_bytes
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
                too_big = int(declared) > cap
            except ValueError:
                too_big = False
            if too_big:
                await self._refuse(send, cap)
                return
        received = 0
        refused = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    refused = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # The framework turns a failed body read into its own 400; answer the real reason.
            nonlocal replaced
            if refused:
                if not replaced:
                    replaced = True
                    await self._refuse(send, cap)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not replaced:
                await self._refuse(send, cap)

    async def _refuse(self, send: Send, cap: int) -> None:
        from app.core.requestctx import current_request_id

        body = _problem_bytes(
            413,
            "payload-too-large",
            "Request body too large",
            f"Request bodies here are limited to {cap} bytes.",
            current_request_id() or "",
        )
        await _send_problem(send, 413, body, [])


class _BodyTooLarge(Exception):
    pass
