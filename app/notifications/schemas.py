"""What Notify tells us, and what the API shows of the outbox."""

from datetime import datetime
from uuid import UUID

from pydantic import ConfigDict, Field
from sqlmodel import SQLModel

from app.core.schemas import Output
from app.notifications.models import MessageChannel


class DeliveryReceipt(SQLModel):
    """Notify's delivery receipt (its callback's JSON). Unlike our own bodies it ignores fields
    it does not know: Notify may add some, and a refusal would have it retry the receipt for
    ever. `to` is read by nobody: a phone number or address is never stored or logged here."""

    model_config = ConfigDict(extra="ignore")  # type: ignore[assignment]

    id: str = Field(max_length=64, description="Notify's id of the notification.")
    reference: str | None = Field(
        default=None, max_length=100, description="Ours: the message id the worker sent it with."
    )
    to: str | None = Field(default=None, max_length=254)
    status: str = Field(max_length=40, description="delivered, permanent-failure, …")
    created_at: datetime | None = None
    completed_at: datetime | None = None
    sent_at: datetime | None = None
    notification_type: str | None = Field(default=None, max_length=10)
    template_id: str | None = Field(default=None, max_length=64)
    template_version: int | None = None


class LoggedMessageRead(Output):
    """What would have been sent: exactly what the family or member of staff would have read."""

    id: UUID
    message_id: UUID
    school_id: UUID
    logged_at: datetime
    channel: MessageChannel
    to: str
    language: str
    subject: str | None
    body: str
