"""Every error the API answers is RFC 9457 problem+json, written here and nowhere else."""

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.logs import failure
from app.core.requestctx import current_request_id

log = logging.getLogger("threshold.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://threshold.education/problems/"


class ThresholdError(Exception):
    """A failure the client can understand; `type` is a stable slug clients may branch on."""

    status: int = 400
    type: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}


class BadRequest(ThresholdError):
    pass


class Unauthorized(ThresholdError):
    status, type, title = 401, "unauthorized", "Not authenticated"

    def __init__(self, detail: str, *, error: str = "invalid_token", **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.headers.setdefault("WWW-Authenticate", f'Bearer realm="threshold", error="{error}"')


class Forbidden(ThresholdError):
    status, type, title = 403, "forbidden", "Not permitted"


class NotFound(ThresholdError):
    status, type, title = 404, "not-found", "Not found"


class Conflict(ThresholdError):
    status, type, title = 409, "conflict", "Conflict"


class InvalidState(Conflict):
    type, title = "invalid-state", "Not allowed in the current state"


class PreconditionFailed(ThresholdError):
    status, type, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(ThresholdError):
    status, type, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(ThresholdError):
    status, type, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(ThresholdError):
    status, type, title = 422, "validation-error", "Invalid request"


class PreconditionRequired(ThresholdError):
    status, type, title = 428, "precondition-required", "Precondition required"


class TooManyRequests(ThresholdError):
    status, type, title = 429, "too-many-requests", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.headers["Retry-After"] = str(max(1, retry_after))


class ServiceUnavailable(ThresholdError):
    status, type, title = 503, "service-unavailable", "Service unavailable"


def problem(
    status: int,
    type_slug: str,
    title: str,
    detail: str,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + type_slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


_HTTP_TYPES: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Not authenticated"),
    403: ("forbidden", "Not permitted"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


# A validation answer names where and what, never the value (which may be personal data or a
# megabyte of junk); keys of an unknown field and messages are cut short, and a body that is
# wrong in ten thousand places gets the first fifty.
MAX_VALIDATION_ERRORS = 50
_MAX_POINTER_PART = 64
_MAX_MESSAGE = 300


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_pointer(*parts: str | int) -> str:
    """The one form of pointer a 422 carries: RFC 9457's "#/…", a JSON pointer (RFC 6901) into the
    request body ("#/pupils/12/upn"); "#" is the whole body. Query, path and header parameters are
    not in the body: those errors name a `parameter` instead."""
    cut = (_short(str(part), _MAX_POINTER_PART) for part in parts)
    return "#" + "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in cut)


# Pydantic prefixes the message of a validator's ValueError with its own words.
_PYDANTIC_PREFIXES = re.compile(r"^(?:Value error|Assertion failed), ")
_DOUBLED_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")


def clean_message(text: str) -> str:
    """A validation message as a person would write it: no "Value error, ", no "..", bounded."""
    return _short(_DOUBLED_STOP.sub(".", _PYDANTIC_PREFIXES.sub("", text)), _MAX_MESSAGE)


def joined(details: list[str]) -> str:
    """Details run together in one sentence, each without its own full stop, so that the caller's
    closing one is not doubled."""
    return "; ".join(d.rstrip(". ") for d in details)


_PARAMETER_PLACES = frozenset({"query", "path", "header", "cookie"})


def _validation_item(err: Any) -> dict[str, str]:
    loc = tuple(err.get("loc", ()))
    detail = clean_message(str(err.get("msg", "invalid")))
    if len(loc) >= 2 and loc[0] in _PARAMETER_PLACES:
        return {"parameter": _short(str(loc[1]), _MAX_POINTER_PART), "in": loc[0], "detail": detail}
    return {"pointer": json_pointer(*loc[1:] if loc[:1] == ("body",) else loc), "detail": detail}


async def _threshold_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ThresholdError)
    return problem(exc.status, exc.type, exc.title, exc.detail, request, exc.headers, **exc.extra)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    if any(err.get("type") == "json_invalid" for err in raw):
        return problem(
            400, "malformed-json", "Malformed JSON", "The request body is not valid JSON.", request
        )
    errors = [_validation_item(err) for err in raw[:MAX_VALIDATION_ERRORS]]
    summary = joined([f"{e.get('pointer') or e['parameter']}: {e['detail']}" for e in errors[:5]])
    if len(raw) > MAX_VALIDATION_ERRORS:
        summary += f" (and {len(raw) - MAX_VALIDATION_ERRORS} more problems not listed)"
    return problem(
        422,
        "validation-error",
        "Invalid request",
        summary or "Invalid request.",
        request,
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug, title = _HTTP_TYPES.get(exc.status_code, ("http-error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No such resource."
    return problem(exc.status_code, slug, title, detail, request, dict(exc.headers or {}))


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    log.warning(
        "integrity error",
        extra={"error_class": type(exc).__name__, "constraint": _constraint_name(exc)},
    )
    return problem(
        409,
        "conflict",
        "Conflict",
        "The change conflicts with existing data: a duplicate, a missing reference, or the same "
        "thing saved by someone else at the same moment (read it again, then retry).",
        request,
    )


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable", extra={"error_class": type(exc).__name__})
    return problem(
        503,
        "service-unavailable",
        "Service unavailable",
        "The database is unavailable; retry shortly.",
        request,
        {"Retry-After": "2"},
    )


# SQLSTATEs of a database going away or not there yet (class 08, connection exceptions; 57P01-03,
# shut down by an administrator or a crash, not accepting connections yet): retrying helps.
_DATABASE_GONE = ("08", "57P01", "57P02", "57P03")
# The statement timeout (57014) or a lock timeout (55P03) cancelled a statement.
_DATABASE_SLOW = ("57014", "55P03")


async def _database_timeout(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database timeout", extra={"error_class": type(exc).__name__})
    return problem(
        503,
        "database-timeout",
        "Database timeout",
        "The database did not answer in time, so the request was cancelled; retry shortly.",
        request,
        {"Retry-After": "2"},
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A driver error: 503 when the database is down, restarting or too slow (bench/faults.py
    shows each), 500 for anything else."""
    assert isinstance(exc, DBAPIError)
    state = str(getattr(exc.orig, "sqlstate", None) or "")
    if state in _DATABASE_SLOW:
        return await _database_timeout(request, exc)
    if exc.connection_invalidated or (state and state.startswith(_DATABASE_GONE)):
        return await _database_down(request, exc)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The class and where, never the message: a driver's message quotes the row's values.
    log.error("unhandled error", extra={"request_id": current_request_id(), **failure(exc)})
    return problem(
        500,
        "internal-error",
        "Internal error",
        "Something went wrong on our side. Quote the request id if you contact support.",
        request,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ThresholdError, _threshold_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(PoolTimeout, _database_down)
    app.add_exception_handler(OSError, _database_down)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)


# The constraint's name, as PostgreSQL quotes it or as SQLite lists the columns: never the rest of
# the message, whose DETAIL may quote the row ("Key (upn)=(...)", "Failing row contains (...)").
_PG_CONSTRAINT = re.compile(r'constraint "([A-Za-z0-9_.]{1,120})"')
_SQLITE_CONSTRAINT = re.compile(r"constraint failed: ([A-Za-z0-9_., ]{1,120})$")


def _constraint_name(exc: Exception) -> str | None:
    # The constraint's name helps operators and carries no personal data (unlike the SQL or values).
    original = getattr(exc, "orig", None)
    for source in (original, getattr(original, "__cause__", None)):
        name = getattr(source, "constraint_name", None)
        if isinstance(name, str) and name:
            return name[:120]
    message = str(original or "")
    found = _PG_CONSTRAINT.search(message) or _SQLITE_CONSTRAINT.search(message.strip())
    return found.group(1) if found else None
