"""Staff members, their role grants, and their sign-in sessions and refresh tokens."""

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from app.core.models import Identified, Timestamped, TrustScoped, Versioned
from app.core.permissions import Role
from app.core.types import UTCDateTime, enum_type, utcnow


class StaffMember(Identified, Timestamped, Versioned, TrustScoped, table=True):
    __tablename__ = "staff_member"
    # Unique within a trust, not across trusts: adding staff must not reveal who works elsewhere
    # (signin.py tells apart accounts sharing an address). Email first: sign-in looks it up.
    __table_args__ = (UniqueConstraint("email", "trust_id", name="uq_staff_member_email_trust_id"),)

    # Platform operators belong to no trust; the tenancy floor therefore hides them from trusts.
    trust_id: UUID | None = Field(default=None, foreign_key="trust.id", index=True)  # type: ignore[assignment]
    email: str = Field(max_length=254)
    full_name: str = Field(max_length=200)
    password_hash: str | None = Field(default=None, max_length=255)
    is_active: bool = Field(default=True)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    visit_training_completed_date: date | None = None
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A work mobile in E.164, for texts that cannot wait for email (a DSL's safeguarding alert).
    # Read only by its holder and the admins who manage them; never logged.
    work_mobile: str | None = Field(default=None, max_length=16)
    invitation_digest: str | None = Field(default=None, max_length=64, index=True)
    invitation_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RoleGrant(Identified, TrustScoped, table=True):
    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("staff_id", "role", "school_id"),)

    trust_id: UUID | None = Field(default=None, foreign_key="trust.id", index=True)  # type: ignore[assignment]
    staff_id: UUID = Field(foreign_key="staff_member.id", index=True, ondelete="CASCADE")
    role: Role = Field(sa_type=enum_type(Role, 20))
    school_id: UUID | None = Field(default=None, foreign_key="school.id", index=True)
    granted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    granted_by: UUID | None = None


class AuthSession(Identified, table=True):
    """One sign-in: its access tokens carry its id, so ending it ends them on the next request."""

    __tablename__ = "auth_session"

    staff_id: UUID = Field(foreign_key="staff_member.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=40)


class RefreshToken(Identified, table=True):
    __tablename__ = "refresh_token"

    session_id: UUID = Field(foreign_key="auth_session.id", index=True, ondelete="CASCADE")
    token_digest: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffUnavailability(Identified, Timestamped, TrustScoped, table=True):
    """A period a staff member cannot visit (the scheduler keeps them off visits in it)."""

    __tablename__ = "staff_unavailability"
    __table_args__ = (Index("ix_staff_unavailability_staff_start", "staff_id", "starts_at"),)

    staff_id: UUID = Field(foreign_key="staff_member.id", ondelete="CASCADE")
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=200)
    recorded_by: UUID | None = None
