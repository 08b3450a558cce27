"""A local stand-in for GOV.UK Notify's HTTP API, speaking its protocol, for development, tests
and benchmarks (`threshold fake-notify`, or `running_fake_notify()` in a test).

What it shares with Notify: the bearer JWT is checked with the same functions Notify's API uses
(the official client's `decode_jwt_token`: HS256 signed with the key's secret, `iss` the key's
service id, `iat` within 30 seconds); bodies are validated as Notify's schemas do (the recipient,
a template id that is a UUID, personalisation an object, nothing else); answers and errors have
Notify's JSON shapes (`{"status_code": 400, "errors": [{"error": ..., "message": ...}]}`); and
notifications are found by id and by reference. Each template is taken to be Notify's `((body))`
(and `((subject))`) template unless others are configured.

What it adds, for tests: faults queued for the next sends (see `FAULTS`), recipients refused
outright and recipients whose delivery fails, a count of requests per minute, a rate limit, and
delivery receipts posted to a callback URL. The test controls are a Python API (`FakeNotify`) and
JSON under `/_fake/…` for another process (a benchmark or the load script).

Never expose it: it keeps every recipient and body in memory and its controls are unauthenticated.
"""

import asyncio
import contextlib
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import uvicorn
from notifications_python_client.authentication import decode_jwt_token, get_token_issuer
from notifications_python_client.errors import (
    TokenAlgorithmError,
    TokenDecodeError,
    TokenExpiredError,
    TokenIssuedAtError,
    TokenIssuerError,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# The faults a send can be given, in the order queued: answered 400 (a bad number), 429, or 500
# with nothing stored; 500 after storing (the ambiguous case); stored, then answered only after
# N seconds (past the client's timeout: ambiguous too).
FAULTS = ("400", "429", "500", "500-after-store", "slow:N")
_SLOW = re.compile(r"^slow[: ](\d+(?:\.\d+)?)$")

# Notify's test numbers and addresses whose delivery fails (docs: "Test" section).
PERMANENT_FAILURES = frozenset({"07700900002", "perm-fail@simulator.notify"})
TEMPORARY_FAILURES = frozenset({"07700900003", "temp-fail@simulator.notify"})
_PAGE = 250
_SMS_FIELDS = {"phone_number", "template_id", "personalisation", "reference", "sms_sender_id"}
_EMAIL_FIELDS = {
    "email_address",
    "template_id",
    "personalisation",
    "reference",
    "email_reply_to_id",
    "one_click_unsubscribe_url",
    "sanitise_content_for",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PLACEHOLDER = re.compile(r"\(\(([^()]+)\)\)")


def parse_api_key(api_key: str) -> tuple[str, str]:
    """(service id, secret) from `{key name}-{service id}-{secret}`, as the client reads it."""
    return api_key[-73:-37], api_key[-36:]


def new_api_key(name: str = "threshold_test") -> str:
    return f"{name}-{uuid4()}-{uuid4()}"


@dataclass(frozen=True)
class FakeTemplate:
    type: str  # sms or email
    body: str = "((body))"
    subject: str = "((subject))"


@dataclass
class StoredNotification:
    id: str
    reference: str | None
    to: str
    type: str
    template_id: str
    body: str
    subject: str | None
    status: str
    created_at: str
    completed_at: str


class FaultError(ValueError):
    pass


@dataclass
class FakeNotify:
    """Notify's state and the test controls. Safe to use from a test's thread while the server
    answers from its own."""

    api_key: str
    callback_url: str | None = None
    callback_token: str | None = None
    rate_limit_per_minute: int | None = None
    templates: dict[str, FakeTemplate] = field(default_factory=dict)
    refused_recipients: set[str] = field(default_factory=set)
    undeliverable_recipients: set[str] = field(default_factory=lambda: set(PERMANENT_FAILURES))
    notifications: list[StoredNotification] = field(default_factory=list)
    faults: deque[str] = field(default_factory=deque)
    request_times: list[float] = field(default_factory=list)
    send_times: list[float] = field(default_factory=list)
    rate_limited: int = 0
    callbacks_sent: int = 0
    callbacks_failed: int = 0

    def __post_init__(self) -> None:
        self.service_id, self.secret = parse_api_key(self.api_key)
        self.lock = threading.Lock()
        self._receipts: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        if self.callback_url:
            self._prepare_receipts()

    def _prepare_receipts(self) -> httpx.AsyncClient:
        # Made once, and before sends arrive when a callback is configured: making a client
        # (its TLS context) blocks for a few hundred milliseconds, long enough to make the
        # sends answered meanwhile time out.
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=10)
        return self._http

    # ---- test controls -------------------------------------------------------------------

    def inject(self, *faults: str) -> None:
        """Queue faults for the next sends, one each (see FAULTS)."""
        for fault in faults:
            if fault not in ("400", "429", "500", "500-after-store") and not _SLOW.match(fault):
                raise FaultError(f"unknown fault {fault!r}; expected one of {', '.join(FAULTS)}")
        with self.lock:
            self.faults.extend(faults)

    def reset(self) -> None:
        with self.lock:
            self.notifications.clear()
            self.faults.clear()
            self.request_times.clear()
            self.send_times.clear()
            self.rate_limited = self.callbacks_sent = self.callbacks_failed = 0

    def by_reference(self, reference: str) -> list[StoredNotification]:
        with self.lock:
            return [n for n in self.notifications if n.reference == reference]

    def stats(self) -> dict[str, Any]:
        with self.lock:
            requests, sends = list(self.request_times), list(self.send_times)
            stored = len(self.notifications)
            references = [n.reference for n in self.notifications if n.reference]
            pending = list(self.faults)
        return {
            "requests": len(requests),
            "sends": len(sends),
            "stored": stored,
            "duplicate_references": len(references) - len(set(references)),
            "peak_requests_per_minute": peak_per_minute(requests),
            "peak_sends_per_minute": peak_per_minute(sends),
            "sends_per_minute": per_minute(sends),
            "rate_limited": self.rate_limited,
            "callbacks_sent": self.callbacks_sent,
            "callbacks_failed": self.callbacks_failed,
            "faults_pending": pending,
        }

    def configure(self, settings: dict[str, Any]) -> None:
        """Apply the JSON the /_fake/config control takes (names as the attributes)."""
        with self.lock:
            for name in ("callback_url", "callback_token", "rate_limit_per_minute"):
                if name in settings:
                    setattr(self, name, settings[name])
            if self.callback_url:
                self._prepare_receipts()
            for name in ("refused_recipients", "undeliverable_recipients"):
                if name in settings:
                    setattr(self, name, {_normalise(str(to)) for to in settings[name]})

    # ---- the API -------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v2/notifications/sms", self._send_sms, methods=["POST"]),
                Route("/v2/notifications/email", self._send_email, methods=["POST"]),
                Route("/v2/notifications", self._list, methods=["GET"]),
                Route("/v2/notifications/{notification_id}", self._get, methods=["GET"]),
                Route("/_fake/faults", self._control_faults, methods=["POST"]),
                Route("/_fake/config", self._control_config, methods=["POST"]),
                Route("/_fake/reset", self._control_reset, methods=["POST"]),
                Route("/_fake/stats", self._control_stats, methods=["GET"]),
                Route("/_fake/notifications", self._control_notifications, methods=["GET"]),
            ]
        )

    async def _send_sms(self, request: Request) -> Response:
        return await self._send(request, "sms")

    async def _send_email(self, request: Request) -> Response:
        return await self._send(request, "email")

    async def _send(self, request: Request, kind: str) -> Response:
        refused = self._authenticate(request) or self._admit()
        if refused is not None:
            return refused
        fault = self._next_fault()
        if fault == "400":
            return _error(400, "ValidationError", "phone_number Not a UK mobile number")
        if fault == "429":
            return self._rate_limit_error()
        if fault == "500":
            return _error(500, "Exception", "Internal server error")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "BadRequestError", "Invalid JSON supplied in POST data")
        notification = self._validate(body, kind)
        if isinstance(notification, Response):
            return notification
        with self.lock:
            self.notifications.append(notification)
            self.send_times.append(time.time())
        self._send_receipt(notification)
        if fault == "500-after-store":
            return _error(500, "Exception", "Internal server error")
        slow = _SLOW.match(fault or "")
        if slow:
            await asyncio.sleep(float(slow.group(1)))
        return JSONResponse(self._created(request, notification), status_code=201)

    def _authenticate(self, request: Request) -> Response | None:
        """Notify's checks, with its answers (notifications-api app/authentication/auth.py)."""
        header = request.headers.get("authorization")
        if not header:
            return _error(401, "AuthError", "Unauthorized: authentication token must be provided")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return _error(
                401, "AuthError", "Unauthorized: authentication bearer scheme must be used"
            )
        try:
            issuer = get_token_issuer(token)
        except TokenIssuerError:
            return _error(403, "AuthError", "Invalid token: iss field not provided")
        except TokenDecodeError:
            return _error(403, "AuthError", "Invalid token: signature, api token is not valid")
        if issuer != self.service_id:
            return _error(403, "AuthError", "Invalid token: service not found")
        try:
            decode_jwt_token(token, self.secret)
        except TokenExpiredError:
            return _error(
                403, "AuthError", "Error: Your system clock must be accurate to within 30 seconds"
            )
        except TokenAlgorithmError:
            return _error(403, "AuthError", "Invalid token: algorithm used is not HS256")
        except TokenIssuedAtError:
            return _error(403, "AuthError", "Invalid token: iat field not provided")
        except Exception:  # TokenDecodeError, TokenError: no key of the service signed it
            return _error(403, "AuthError", "Invalid token: API key not found")
        return None

    def _admit(self) -> Response | None:
        """Count the request, or refuse it as over the rate limit (Notify counts every
        request a key makes in a sliding 60 seconds)."""
        now = time.time()
        with self.lock:
            limit = self.rate_limit_per_minute
            if limit is not None:
                recent = len(self.request_times) - _first_after(self.request_times, now - 60)
                if recent >= limit:
                    self.rate_limited += 1
                    return self._rate_limit_error()
            self.request_times.append(now)
        return None

    def _rate_limit_error(self) -> Response:
        limit = self.rate_limit_per_minute or 3000
        return _error(
            429,
            "RateLimitError",
            f"Exceeded rate limit for key type live of {limit} requests per 60 seconds",
        )

    def _next_fault(self) -> str | None:
        with self.lock:
            return self.faults.popleft() if self.faults else None

    def _validate(self, body: Any, kind: str) -> StoredNotification | Response:
        if not isinstance(body, dict):
            return _error(400, "ValidationError", "Request body is not of type object")
        allowed, recipient = (
            (_SMS_FIELDS, "phone_number") if kind == "sms" else (_EMAIL_FIELDS, "email_address")
        )
        unexpected = sorted(set(body) - allowed)
        if unexpected:
            return _error(
                400,
                "ValidationError",
                f"Additional properties are not allowed ({unexpected[0]} was unexpected)",
            )
        for required in (recipient, "template_id"):
            if required not in body:
                return _error(400, "ValidationError", f"{required} is a required property")
        to = body[recipient]
        problem = _recipient_problem(kind, to)
        if problem is not None:
            return _error(400, "ValidationError", f"{recipient} {problem}")
        if _normalise(to) in self.refused_recipients:
            return _error(400, "ValidationError", f"{recipient} Not a UK mobile number")
        template_id = body["template_id"]
        if not _is_uuid(template_id):
            return _error(400, "ValidationError", "template_id is not a valid UUID")
        personalisation = body.get("personalisation", {})
        if not isinstance(personalisation, dict):
            return _error(400, "ValidationError", "personalisation is not of type object")
        reference = body.get("reference")
        if reference is not None and not isinstance(reference, str):
            return _error(400, "ValidationError", "reference is not of type string")
        template = self.templates.get(template_id) if self.templates else FakeTemplate(kind)
        if template is None:
            return _error(400, "BadRequestError", "Template not found")
        if template.type != kind:
            return _error(
                400,
                "BadRequestError",
                f"{template.type} template is not suitable for {kind} notification",
            )
        texts = [template.body] + ([template.subject] if kind == "email" else [])
        missing = sorted(
            {name for text in texts for name in _PLACEHOLDER.findall(text)} - set(personalisation)
        )
        if missing:
            return _error(400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}")
        now = _timestamp()
        return StoredNotification(
            id=str(uuid4()),
            reference=reference,
            to=to,
            type=kind,
            template_id=template_id,
            body=_render(template.body, personalisation),
            subject=_render(template.subject, personalisation) if kind == "email" else None,
            status=self._delivery_status(to),
            created_at=now,
            completed_at=now,
        )

    def _delivery_status(self, to: str) -> str:
        recipient = _normalise(to)
        if recipient in self.undeliverable_recipients:
            return "permanent-failure"
        if recipient in {_normalise(r) for r in TEMPORARY_FAILURES}:
            return "temporary-failure"
        return "delivered"

    def _created(self, request: Request, n: StoredNotification) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        content: dict[str, Any] = {"body": n.body}
        if n.type == "sms":
            content["from_number"] = "Threshold"
        else:
            content.update(
                subject=n.subject,
                from_email="threshold@notifications.service.gov.uk",
                one_click_unsubscribe_url=None,
            )
        return {
            "id": n.id,
            "reference": n.reference,
            "content": content,
            "uri": f"{base}/v2/notifications/{n.id}",
            "template": {
                "id": n.template_id,
                "version": 1,
                "uri": f"{base}/v2/template/{n.template_id}",
            },
            "scheduled_for": None,
        }

    async def _list(self, request: Request) -> Response:
        refused = self._authenticate(request) or self._admit()
        if refused is not None:
            return refused
        params = request.query_params
        with self.lock:
            found = list(reversed(self.notifications))  # newest first, as Notify lists
        if "reference" in params:
            found = [n for n in found if n.reference == params["reference"]]
        if "status" in params:
            found = [n for n in found if n.status == params["status"]]
        if "template_type" in params:
            found = [n for n in found if n.type == params["template_type"]]
        if "older_than" in params:
            ids = [n.id for n in found]
            older = params["older_than"]
            found = found[ids.index(older) + 1 :] if older in ids else []
        page = found[:_PAGE]
        base = str(request.base_url).rstrip("/")
        links = {"current": str(request.url)}
        if len(found) > _PAGE:
            links["next"] = f"{base}/v2/notifications?older_than={page[-1].id}"
        return JSONResponse(
            {"notifications": [self._shown(request, n) for n in page], "links": links}
        )

    async def _get(self, request: Request) -> Response:
        refused = self._authenticate(request) or self._admit()
        if refused is not None:
            return refused
        notification_id = request.path_params["notification_id"]
        if not _is_uuid(notification_id):
            return _error(400, "ValidationError", "notification_id is not a valid UUID")
        with self.lock:
            found = [n for n in self.notifications if n.id == notification_id]
        if not found:
            return _error(404, "NoResultFound", "No result found")
        return JSONResponse(self._shown(request, found[0]))

    def _shown(self, request: Request, n: StoredNotification) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        return {
            "id": n.id,
            "reference": n.reference,
            "email_address": n.to if n.type == "email" else None,
            "phone_number": n.to if n.type == "sms" else None,
            **{f"line_{i}": None for i in range(1, 7)},
            "postcode": None,
            "postage": None,
            "type": n.type,
            "status": n.status,
            "template": {
                "id": n.template_id,
                "version": 1,
                "uri": f"{base}/v2/template/{n.template_id}",
            },
            "body": n.body,
            "subject": n.subject,
            "created_at": n.created_at,
            "created_by_name": None,
            "sent_at": n.created_at,
            "completed_at": n.completed_at,
            "scheduled_for": None,
            "one_click_unsubscribe": None,
            "is_cost_data_ready": False,
            "cost_in_pounds": None,
            "cost_details": {},
        }

    # ---- delivery receipts ---------------------------------------------------------------

    def _send_receipt(self, n: StoredNotification) -> None:
        if not self.callback_url:
            return
        task = asyncio.create_task(self._post_receipt(n, self.callback_url, self.callback_token))
        self._receipts.add(task)
        task.add_done_callback(self._receipts.discard)

    async def _post_receipt(self, n: StoredNotification, url: str, token: str | None) -> None:
        receipt = {
            "id": n.id,
            "reference": n.reference,
            "to": n.to,
            "status": n.status,
            "created_at": n.created_at,
            "completed_at": n.completed_at,
            "sent_at": n.created_at,
            "notification_type": n.type,
            "template_id": n.template_id,
            "template_version": 1,
        }
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            answer = await self._prepare_receipts().post(url, json=receipt, headers=headers)
            delivered = answer.status_code < 300
        except httpx.HTTPError:
            delivered = False
        with self.lock:
            if delivered:
                self.callbacks_sent += 1
            else:
                self.callbacks_failed += 1

    # ---- the controls over HTTP ----------------------------------------------------------

    async def _control_faults(self, request: Request) -> Response:
        body = await _json_object(request)
        faults = body.get("faults") if body else None
        if not isinstance(faults, list) or not all(isinstance(f, str) for f in faults):
            return JSONResponse({"error": 'expected {"faults": ["400", ...]}'}, status_code=400)
        try:
            self.inject(*faults)
        except FaultError as wrong:
            return JSONResponse({"error": str(wrong)}, status_code=400)
        return JSONResponse({"faults_pending": self.stats()["faults_pending"]})

    async def _control_config(self, request: Request) -> Response:
        body = await _json_object(request)
        if body is None:
            return JSONResponse({"error": "expected a JSON object"}, status_code=400)
        self.configure(body)
        return JSONResponse({"configured": sorted(body)})

    async def _control_reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"reset": True})

    async def _control_stats(self, request: Request) -> Response:
        return JSONResponse(self.stats())

    async def _control_notifications(self, request: Request) -> Response:
        with self.lock:
            shown = [asdict(n) for n in self.notifications]
        return JSONResponse({"notifications": shown})


def peak_per_minute(times: list[float]) -> int:
    """The most events in any 60 seconds (a sliding window, as Notify's limit counts)."""
    ordered, peak, start = sorted(times), 0, 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - 60:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def per_minute(times: list[float]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for moment in sorted(times):
        minute = datetime.fromtimestamp(moment, UTC).strftime("%H:%M")
        counts[minute] = counts.get(minute, 0) + 1
    return counts


def _first_after(times: list[float], cutoff: float) -> int:
    """Index of the first time after cutoff (times are appended in order)."""
    low, high = 0, len(times)
    while low < high:
        middle = (low + high) // 2
        if times[middle] <= cutoff:
            low = middle + 1
        else:
            high = middle
    return low


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"status_code": status, "errors": [{"error": kind, "message": message}]},
        status_code=status,
    )


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _recipient_problem(kind: str, to: Any) -> str | None:
    if not isinstance(to, str):
        return "is not of type string"
    if kind == "email":
        return None if _EMAIL.match(to.strip()) else "Not a valid email address"
    number = re.sub(r"[\s()\-.]", "", to)
    if not re.fullmatch(r"\+?\d+", number):
        return "Must not contain letters or symbols"
    national = _normalise(number)
    if len(national) < 11:
        return "Not enough digits"
    if len(national) > 11:
        return "Too many digits"
    return None if national.startswith("07") else "Not a UK mobile number"


def _normalise(to: str) -> str:
    """A UK number as 07…, an email address in lower case: how recipients are compared."""
    if "@" in to:
        return to.strip().lower()
    number = re.sub(r"[\s()\-.+]", "", to)
    if number.startswith("44"):
        number = "0" + number[2:]
    return number


def _is_uuid(value: Any) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _render(text: str, personalisation: dict[str, Any]) -> str:
    return _PLACEHOLDER.sub(lambda m: str(personalisation.get(m.group(1), m.group(0))), text)


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---- running it ------------------------------------------------------------------------------


@dataclass
class RunningFake:
    fake: FakeNotify
    base_url: str
    api_key: str


@contextlib.contextmanager
def running_fake_notify(api_key: str | None = None, **settings: Any) -> Iterator[RunningFake]:
    """The fake served by uvicorn in a background thread on a free local port, until the block
    ends. `settings` are FakeNotify's fields (callback_url, rate_limit_per_minute, …)."""
    fake = FakeNotify(api_key or new_api_key(), **settings)
    with serving_in_thread(fake.app()) as base_url:
        yield RunningFake(fake, base_url, fake.api_key)


@contextlib.contextmanager
def serving_in_thread(app: Any) -> Iterator[str]:
    """Any ASGI app served on a free local port in a background thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the local server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
