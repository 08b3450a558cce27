"""The application factory."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app import health
from app.api import api, well_known
from app.core import jobs
from app.core.db import ensure_reachable, get_database
from app.core.errors import install_error_handlers
from app.core.logs import configure_logging
from app.core.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from app.core.security import prepare_password_checks
from app.core.settings import Settings, get_settings
from app.core.storable import refuse_unstorable_input
from app.docs import install_docs
from app.notifications import worker as messages
from app.registry import wire

DESCRIPTION = """
Threshold is the system of record and integration API for universal home-visit programmes in
multi-academy trusts: schools, staff, pupils and households, visit programmes and the families'
answers, schedules and visits.

* Versioned under `/api/v1`; breaking changes get a new version.
* Authenticate with `POST /api/v1/auth/token` (OAuth 2.0 password grant) and send
  `Authorization: Bearer <access_token>`. Access tokens last 15 minutes; refresh with the
  `refresh_token` grant. Verify tokens with `/.well-known/jwks.json`.
* Errors are `application/problem+json` (RFC 9457) with a stable `type`.
* Lists use keyset pagination: `limit` (≤ 200) and the opaque `next_cursor`.
* Trusts, schools, staff members, households, programmes, households' answers, visits and
  integration clients carry an `ETag`, made from a row version that every change raises.
  Every `PATCH`, setting a staff member's roles and a programme's transitions require
  `If-Match` with it (428 without, 412 when it is stale).
* Every `POST` that creates something (answering 201, or 202 for work done in the background;
  a parent's sign-in is not one) honours `Idempotency-Key`, as does a whole-roster `PUT`: a
  retry with the same key and request gets the first status and body, with
  `Idempotent-Replayed: true`, and creates nothing again; the same key with a different request
  is refused (422). Secrets shown once come back null in a replay. Keys belong to their caller
  and last 24 hours.
"""


# In the order a newcomer meets them; Swagger UI and ReDoc list the operations by tag.
OPENAPI_TAGS: list[dict[str, Any]] = [
    {
        "name": "auth",
        "description": "Sign in and out. Staff use the password grant of `POST /api/v1/auth/token` "
        "and refresh with the `refresh_token` grant; MIS integrations use `client_credentials`. "
        "New staff set their first password from their invitation. Access tokens are JWTs; "
        "verify them with the keys at `/.well-known/jwks.json`.",
    },
    {
        "name": "me",
        "description": "The signed-in staff member: who they are, their roles and permissions, "
        "and the periods they cannot visit (the scheduler plans around them).",
    },
    {
        "name": "trusts",
        "description": "Multi-academy trusts and their defaults (visit length, visits a day). "
        "Platform operators create trusts; a trust admin sees and changes only their own.",
    },
    {
        "name": "schools",
        "description": "A trust's schools (DfE URN, phase, address) and how far each takes part "
        "in the programme (`full`, `partial` or `none`, with a reason).",
    },
    {
        "name": "staff",
        "description": "A trust's staff: invitations, roles at trust or school level, visit "
        "training (untrained staff are never scheduled), deactivation, and colleagues' "
        "unavailability.",
    },
    {
        "name": "integrations",
        "description": "Machine clients for an MIS feed: each holds scopes and the schools it "
        "may write. Its secret is shown once; rotate or revoke it here.",
    },
    {
        "name": "roster",
        "description": "Classes, pupils and households, kept in step with the school's MIS: a "
        "whole-school snapshot (`PUT …/roster`) or an uploaded OneRoster bundle or pupil CSV. "
        "Siblings share a household, the unit that is visited; merge or split households the "
        "feeds matched wrongly.",
    },
    {
        "name": "programmes",
        "description": "A school's visit programme for one academic year: visit days, the daily "
        "window and slot grid, year groups in scope, the parents' answer window, teams and "
        "second adults, and its status (`draft → collecting → scheduling → published → "
        "in_progress → closed`).",
    },
    {
        "name": "invitations",
        "description": "The codes families use to answer: issued to every household in scope, "
        "read back to a family by the office (audited), re-issued or revoked.",
    },
    {
        "name": "messages",
        "description": "Messages to families and staff by text, email or letter: what went to "
        "whom and how it went (never its words), the families not reached, letters to post, "
        "Notify's delivery receipts, and outside production the log of what would have been "
        "sent; the trust's wording of each kind in each language (English defaults where it has "
        "none), checked placeholders and previews with sample values.",
    },
    {
        "name": "parents",
        "description": "The parent portal's API. A family exchanges its invitation code (or the "
        "whole link from its message) for a token that reaches one household in one "
        "programme, then chooses slots, says when it cannot, asks for an interpreter or a "
        "neutral venue, or declines.",
    },
    {
        "name": "availability",
        "description": "What the school sees of the families' answers while the window is open: "
        "progress per class, the chase list of households yet to answer, demand per slot, and "
        "answers entered by the office on a family's behalf.",
    },
    {
        "name": "scheduling",
        "description": "Planning every visit: a schedule run works in the background, places "
        "each household with two trained adults at a time it can do, and explains any it "
        "could not place.",
    },
    {
        "name": "visits",
        "description": "The planned visits: each adult's itinerary in order with travel between "
        "homes, and changes (move, swap, change the second adult, lock) checked against every "
        "rule before they are saved; and notes after the visit, per child, read only by the "
        "child's teachers and SLT.",
    },
    {
        "name": "safeguarding",
        "description": "Safeguarding concerns: raised by any member of a school's staff, on a "
        "visit or not, with the school's DSLs alerted at once and escalated until one "
        "acknowledges; read only by the school's DSLs and the trust's (404 to anyone else), "
        "every read audited; an append-only chronology of statuses, notes, decisions, actions "
        "and contacts with agencies.",
    },
    {
        "name": "subject_access",
        "description": "Subject access requests (UK GDPR Art. 15): SLT record a pupil's or a "
        "parent's request and export the pupil's data as JSON; the pupil's safeguarding records "
        "join the export only when one of the school's DSLs releases them for the request.",
    },
    {
        "name": "surveys",
        "description": "Surveys after the visits: the trust's templates (frozen once issued, "
        "a change being the next version), issued automatically to teachers and families, "
        "answered by staff here and by parents in the portal; anonymous responses are stored "
        "apart from the invitations, with only the week they came in.",
    },
    {
        "name": "reports",
        "description": "How a programme, a school's year or the trust's year reached its "
        "families (by school, year group, class and pupil group, day by day), the adults' load, "
        "preferences met and concerns raised, small counts suppressed; JSON, or CSV (audited).",
    },
    {
        "name": "audit",
        "description": "Who read or changed what and when: sign-ins, role changes, reads of "
        "invitation codes, exports of personal data.",
    },
    {
        "name": "health",
        "description": "Probes for the platform: liveness (the process serves) and readiness "
        "(the database answers and its schema is current). Public; they reveal no data.",
    },
]


def operation_id(route: APIRoute) -> str:
    """`<tag>_<handler>`: stable names for generated clients (renaming one is a breaking change)."""
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag}_{route.name}"


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "description": "One problem, and where: a body field by `pointer`, an RFC 9457 "
                "JSON pointer into the request body (`#/pupils/12/upn`; `#` is the whole body); a "
                "query, path or header parameter, which is not in the body, by `parameter` and "
                "`in`.",
                "properties": {
                    "pointer": {"type": "string", "examples": ["#/pupils/12/upn"]},
                    "parameter": {"type": "string", "examples": ["limit"]},
                    "in": {"type": "string", "enum": ["query", "path", "header", "cookie"]},
                    "detail": {"type": "string"},
                },
                "required": ["detail"],
            },
        },
    },
}

_ERROR_RESPONSES = {
    "400": "Bad request (malformed JSON, invalid grant)",
    "401": "Missing, expired or revoked credentials",
    "403": "Authenticated but not permitted",
    "404": "No such resource within your scope",
    "409": "Conflicts with the current state",
    "412": "If-Match does not match the current version",
    "413": "Request body too large",
    "422": "Invalid request",
    "428": "If-Match required",
    "429": "Too many requests",
    "500": "Internal error (quote request_id)",
    "503": "Service unavailable",
}


def _error_statuses(method: str, operation: dict[str, Any]) -> list[str]:
    """The problem responses an operation can give, from what it takes."""
    statuses = {"429", "500", "503"}
    parameters = operation.get("parameters", [])
    if parameters or "requestBody" in operation:
        statuses |= {"422"}
    if "requestBody" in operation:
        statuses |= {"400", "413"}
    if operation.get("security"):
        statuses |= {"401", "403"}
    if any(p.get("in") == "path" for p in parameters):
        statuses |= {"404"}
    if method in {"post", "put", "patch", "delete"}:
        statuses |= {"409"}
    if method in {"patch", "delete"} or any(
        p.get("in") == "header" and p.get("name") == "If-Match" for p in parameters
    ):
        statuses |= {"412", "428"}
    return sorted(statuses)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            declared = {s for s in responses if s.isdigit() and int(s) >= 400}
            for status in sorted(set(_error_statuses(method, operation)) | declared):
                description = responses.get(status, {}).get("description")
                description = description or _ERROR_RESPONSES.get(status, "Error")
                responses[status] = {"description": description, "content": content}
    app.openapi_schema = schema
    return schema


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # However the app is served, it does not report itself started on a database it cannot use.
    await ensure_reachable(settings)
    stop = asyncio.Event()
    workers: list[asyncio.Task[None]] = []
    await anyio.to_thread.run_sync(prepare_password_checks)
    if settings.runs_worker_in_process:
        # The embedded default needs nothing else running; deployments run `threshold worker`.
        workers = [
            asyncio.create_task(jobs.work_forever(stop)),
            asyncio.create_task(messages.send_forever(stop, jobs.worker_name())),
        ]
    yield
    stop.set()
    await asyncio.gather(*workers)
    await get_database().dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    wire()
    app = FastAPI(
        title="Threshold",
        version="1.0.0",
        description=DESCRIPTION,
        generate_unique_id_function=operation_id,
        openapi_tags=OPENAPI_TAGS,
        # Served by app/docs.py from this process, not FastAPI's pages that load from a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.serve_docs else None,
        lifespan=lifespan,
        # Before any other dependency (authentication included) touches the database.
        dependencies=[Depends(refuse_unstorable_input)],
    )
    app.state.settings = settings
    page_policies = (
        install_docs(app, openapi_url="/openapi.json", title=app.title)
        if settings.serve_docs
        else {}
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(well_known)
    app.include_router(api)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
            expose_headers=["ETag", "Retry-After", "X-Request-ID"],
        )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        bulk_max_bytes=settings.max_bulk_body_bytes,
        max_json_depth=settings.max_json_depth,
    )
    app.add_middleware(RequestContextMiddleware, hsts=settings.hsts, page_policies=page_policies)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
