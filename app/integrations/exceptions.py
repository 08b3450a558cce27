from typing import Any

from app.core.errors import Conflict, Unauthorized


class ClientRevoked(Conflict):
    type, title = "client-revoked", "Client revoked"


class InvalidClient(Unauthorized):
    """RFC 6749 §5.2 invalid_client; the same answer for an unknown id and a wrong secret."""

    type, title = "invalid-client", "Client authentication failed"

    def __init__(self, **kw: Any) -> None:
        super().__init__(
            "The client id or secret is wrong, or the client was revoked.",
            error="invalid_client",
            extra={"error": "invalid_client"},
            **kw,
        )
