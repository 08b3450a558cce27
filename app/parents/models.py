"""A household's invitation to one programme: the code a parent exchanges for portal access."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import Index
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped, Versioned
from app.core.types import UTCDateTime, utcnow


class Invitation(Identified, Versioned, SchoolScoped, table=True):
    """At most one live invitation per household and programme: issuing again revokes the last.

    The code is stored twice: as a digest, which is how an exchange finds it, and sealed
    (encrypted), so the office can read it to a family on the phone and the SMS worker can send
    it. Nobody can search by the sealed form.
    """

    __tablename__ = "parent_invitation"
    __table_args__ = (
        Index("ix_parent_invitation_programme_household", "programme_id", "household_id"),
    )

    programme_id: UUID = Field(foreign_key="visit_programme.id", ondelete="CASCADE")
    household_id: UUID = Field(foreign_key="household.id")
    code_digest: str = Field(max_length=64, unique=True)
    code_sealed: str = Field(max_length=400)
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    issued_by: UUID | None = None
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=40)
    # Set by the notifications worker when the SMS is delivered.
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def is_live(self, now: datetime) -> bool:
        return is_live(self.revoked_at, self.expires_at, now)


def is_live(revoked_at: datetime | None, expires_at: datetime, now: datetime) -> bool:
    """Whether a parent's code still opens the portal, neither revoked nor expired: the one
    test for the exchange (an Invitation) and for every request after it (a HOLDER row)."""
    return revoked_at is None and expires_at > now
