from datetime import date, datetime, timedelta
from typing import Annotated, Self
from uuid import UUID

from pydantic import AfterValidator, EmailStr, Field, StringConstraints, model_validator

from app.core.permissions import SCHOOL_LEVEL_ROLES, TRUST_LEVEL_ROLES, Role
from app.core.phones import normalise_mobile
from app.core.schemas import Input, Output, Patch, ShownOnce
from app.core.types import IsoDateTime


def _lower(value: str) -> str:
    return value.lower()


def _work_mobile(value: str) -> str:
    mobile = normalise_mobile(value)
    if mobile is None:
        raise ValueError("the number is empty; send null to remove a work mobile")
    return mobile


Email = Annotated[EmailStr, AfterValidator(_lower)]
FullName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# A UK mobile as written ("07911 123456", "+44 7911 123456"), kept in E.164.
WorkMobile = Annotated[
    str,
    StringConstraints(max_length=30),
    AfterValidator(_work_mobile),
    Field(
        description="A work mobile that takes texts (a UK number unless it starts with +), "
        "kept in E.164: safeguarding alerts reach a DSL on it as well as by email.",
        examples=["07911 123456"],
    ),
]
Password = Annotated[str, StringConstraints(min_length=12, max_length=128, strip_whitespace=False)]


class GrantIn(Input):
    role: Role
    school_id: UUID | None = Field(
        default=None, description="The school for a school role; omit for trust-level roles."
    )

    @model_validator(mode="after")
    def _level_matches_role(self) -> Self:
        if self.role is Role.PLATFORM_ADMIN:
            raise ValueError("platform_admin cannot be granted through the API")
        if self.role in TRUST_LEVEL_ROLES and self.school_id is not None:
            raise ValueError(f"{self.role} is a trust-level role: omit school_id")
        if self.role in SCHOOL_LEVEL_ROLES and self.school_id is None:
            raise ValueError(f"{self.role} is held at a school: give school_id")
        return self


Grants = Annotated[list[GrantIn], Field(min_length=1, max_length=50)]


class StaffCreate(Input):
    email: Email
    full_name: FullName
    roles: Grants
    visit_training_completed_date: date | None = None
    work_mobile: WorkMobile | None = None


class StaffUpdate(Patch):
    clearable = frozenset({"visit_training_completed_date", "work_mobile"})

    full_name: FullName | None = None
    visit_training_completed_date: date | None = None
    work_mobile: WorkMobile | None = None


class OwnAccountUpdate(Patch):
    """What a staff member changes on their own account."""

    clearable = frozenset({"work_mobile"})

    work_mobile: WorkMobile | None = None


class RolesReplace(Input):
    roles: Annotated[list[GrantIn], Field(max_length=50)] = Field(
        description="The roles this staff member should hold within your powers; roles you "
        "cannot grant are left as they are."
    )


class GrantRead(Output):
    role: Role
    school_id: UUID | None


class StaffRead(Output):
    id: UUID
    trust_id: UUID | None
    email: str
    full_name: str
    is_active: bool
    visit_training_completed_date: date | None
    work_mobile: str | None = Field(
        description="Shown to its holder and to the admins who manage them; null to others."
    )
    invitation_pending: bool
    roles: list[GrantRead]
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class StaffInvitation(Output):
    staff_id: UUID
    token: Annotated[str | None, ShownOnce()] = Field(
        description="Shown once: the invitee sets a password with it. Null only in the replay "
        "of a request with an Idempotency-Key, which never stores it (issue a new invitation)."
    )
    expires_at: datetime


class StaffCreated(StaffRead):
    invitation: StaffInvitation


class Me(StaffRead):
    permissions: dict[str, list[str]] = Field(
        description="Permissions by school id ('trust' for those held across the trust)."
    )


class InvitationAccept(Input):
    token: Annotated[str, StringConstraints(min_length=20, max_length=200)]
    password: Password


class TokenPair(Output):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = Field(
        default=None, description="Absent for the client-credentials grant (OAuth 2.0 §4.4.3)."
    )
    refresh_expires_in: int | None = None


# Longer absences are recorded as several periods, so a typo in a year cannot block a whole term.
MAX_UNAVAILABILITY = timedelta(days=31)


class UnavailabilityCreate(Input):
    starts_at: IsoDateTime = Field(examples=["2026-09-02T08:00:00+01:00"])
    ends_at: IsoDateTime = Field(examples=["2026-09-02T12:30:00+01:00"])
    reason: str | None = Field(
        default=None, min_length=1, max_length=200, examples=["Hospital appointment"]
    )

    @model_validator(mode="after")
    def _a_real_period(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.ends_at - self.starts_at > MAX_UNAVAILABILITY:
            raise ValueError("a period lasts at most 31 days; record a longer absence in parts")
        return self


class UnavailabilityRead(Output):
    id: UUID
    staff_id: UUID
    starts_at: datetime
    ends_at: datetime
    reason: str | None
    recorded_by: UUID | None = Field(description="Who recorded it: the staff member or a manager.")
    created_at: datetime


class NamedUnavailabilityRead(UnavailabilityRead):
    full_name: str
