"""Imports every table model so the metadata is complete (for Alembic and the tests)."""

from app.core.audit import AuditEntry
from app.core.idempotency import IdempotencyRecord
from app.core.ratelimit import RateLimitHit
from app.staff.models import AuthSession, RefreshToken, RoleGrant, StaffMember
from app.trusts.models import School, Trust

__all__ = [
    "AuditEntry",
    "AuthSession",
    "IdempotencyRecord",
    "RateLimitHit",
    "RefreshToken",
    "RoleGrant",
    "School",
    "StaffMember",
    "Trust",
]
