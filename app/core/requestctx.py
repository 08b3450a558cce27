"""Per-request context (the request id) readable from logs and error handlers."""

from contextvars import ContextVar

from starlette.requests import Request

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> object:
    return _request_id.set(value)


def client_address(request: Request) -> str:
    """The caller's address, the key of per-address rate limits: the connecting peer, or what a
    proxy trusted by THRESHOLD_FORWARDED_ALLOW_IPS put in X-Forwarded-For (uvicorn rewrites the
    client before the app sees it; see `threshold serve`)."""
    return request.client.host if request.client else "unknown"
