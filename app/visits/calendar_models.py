"""A staff member's private calendar feed of their visits: a secret URL a calendar app polls
(Outlook and Google Calendar cannot send a bearer token). Stored only as the token's digest."""

from uuid import UUID

from sqlmodel import Field

from app.core.models import Identified, Timestamped, TrustScoped


class CalendarFeed(Identified, Timestamped, TrustScoped, table=True):
    __tablename__ = "calendar_feed"

    staff_id: UUID = Field(foreign_key="staff_member.id", unique=True)
    token_digest: str = Field(max_length=64, unique=True)
