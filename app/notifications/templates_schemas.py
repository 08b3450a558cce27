"""Bodies of the trust's message templates: its own wording, the defaults, and previews."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from app.core.schemas import Input, Output
from app.notifications.models import MessageChannel, MessageKind


class WordingSource(StrEnum):
    TRUST = "trust"  # the trust's own wording
    DEFAULT = "default"  # the English default that ships with Threshold


class TemplateWrite(Input):
    subject: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Required for email; a letter's optional heading; a text has none.",
    )
    body: str = Field(
        min_length=1,
        max_length=5000,
        description="The words, with `((placeholders))` from those the kind provides. A text "
        "may be at most 918 characters once its placeholders are filled (six texts).",
    )


class SmsLengthRead(Output):
    characters: int = Field(description="As the network counts them (some count twice).")
    fragments: int = Field(description="How many texts it is sent as; each is charged.")
    unicode: bool = Field(
        description="A character outside the GSM alphabet (Welsh ŵ, Polish ł, Urdu script) "
        "sends it as Unicode: 70 characters a text instead of 160."
    )


class TemplateRead(Output):
    kind: MessageKind
    channel: MessageChannel
    language: str = Field(description="The language this wording is for (ISO 639-1).")
    source: WordingSource
    own: bool = Field(
        description="The trust has its own wording for exactly this kind, channel and "
        "language; otherwise what is shown is what would be sent instead."
    )
    language_used: str = Field(
        description="The language of the wording shown: English when the trust has none in "
        "`language`."
    )
    subject: str | None
    body: str
    placeholders: list[str] = Field(description="Every placeholder the kind provides.")
    required: list[str] = Field(description="The placeholders the body must include.")
    sms: SmsLengthRead | None = Field(
        description="For a text: its length with sample values in every placeholder."
    )
    updated_at: datetime | None
    updated_by: UUID | None


class PreviewRequest(Input):
    subject: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(
        default=None,
        min_length=1,
        max_length=5000,
        description="Preview these words before saving them; without it, the wording that "
        "would be sent now.",
    )


class PreviewRead(Output):
    kind: MessageKind
    channel: MessageChannel
    language: str
    language_used: str = Field(description="The language the preview is in.")
    source: WordingSource | None = Field(
        description="Whose wording it is; null when previewing words given in the request."
    )
    subject: str | None
    body: str
    sms: SmsLengthRead | None
