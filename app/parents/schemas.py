from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field

from app.core.schemas import Input, Output, ShownOnce
from app.core.types import YearGroup
from app.parents.messages_schemas import InvitationDelivery
from app.programmes.models import ProgrammeStatus


class InvitationsIssued(Output):
    issued: int = Field(description="New invitations, one per household that had none live.")
    already_invited: int = Field(description="Households that already hold a live invitation.")
    exempt: int = Field(description="Households exempted by SLT, not invited.")


class InvitationResent(Output):
    invitation_id: UUID = Field(description="The live invitation whose code was sent again.")
    household_id: UUID
    message_id: UUID = Field(description="The new message in the outbox.")


class InvitationCode(Output):
    invitation_id: UUID
    programme_id: UUID
    household_id: UUID
    # Stored only sealed, so a stored answer keeps neither (see core/idempotency.py).
    code: Annotated[str | None, ShownOnce()] = Field(
        description="What the family types, in groups of four. Null only in the replay of a "
        "request with an Idempotency-Key: read it again with `GET …/invitation`."
    )
    link: Annotated[str | None, ShownOnce()] = Field(
        description="The portal link carrying the code, for the SMS. Null only where `code` is."
    )
    issued_at: datetime
    expires_at: datetime
    delivered_at: datetime | None
    last_used_at: datetime | None
    delivery: InvitationDelivery | None = Field(
        default=None,
        description="How the code was or will be reached to the family: its channel and status "
        '("sms delivered", "letter to post", …).',
    )
    version: int = Field(description="The invitation's row version; its ETag is made from it.")


class SessionRequest(Input):
    code: str = Field(
        min_length=20,
        max_length=300,
        description="The invitation code, or the whole invitation link from the message; case, "
        "spaces and dashes do not matter.",
    )


class ParentSession(Output):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    programme_id: UUID
    household_id: UUID


class ParentWhoAmI(Output):
    programme_id: UUID
    household_id: UUID
    school_name: str
    programme_name: str


class PortalSlot(Output):
    slot_id: UUID
    starts_at: datetime
    ends_at: datetime
    local_start: str = Field(description="Europe/London, HH:MM")
    local_end: str


class PortalDay(Output):
    day: date
    slots: list[PortalSlot]


class PortalProgramme(Output):
    programme_id: UUID
    name: str
    school_name: str
    status: ProgrammeStatus
    preferences_close_at: datetime | None
    accepting_answers: bool
    days: list[PortalDay]


class PortalChild(Output):
    first_name: str
    class_name: str
    year_group: YearGroup


class PortalHousehold(Output):
    household_id: UUID
    school_name: str
    children: list[PortalChild]
