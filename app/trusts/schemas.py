from datetime import datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import Field, StringConstraints, model_validator

from app.core.phones import PhoneNumber
from app.core.schemas import Input, Output, Patch
from app.core.types import Postcode, YearGroup
from app.staff.schemas import Email, StaffInvitation
from app.trusts.models import Participation, Phase

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Urn = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$"), Field(examples=["118515"])]
Latitude = Annotated[float, Field(ge=49.0, le=61.0)]
Longitude = Annotated[float, Field(ge=-9.0, le=2.5)]
YearGroups = Annotated[
    list[YearGroup],
    Field(
        min_length=1,
        max_length=16,
        description="Partial participation only: the year groups the school visits; its "
        "programmes must stay inside them.",
    ),
]


REVIEW_YEARS = (
    "A child protection file is due for review this many years after the pupil's date of birth."
)


class FirstAdmin(Input):
    email: Email
    full_name: Name


class TrustCreate(Input):
    name: Name
    default_max_visits_per_day: int = Field(default=10, ge=1, le=20)
    default_visit_minutes: int = Field(default=45, ge=15, le=180)
    safeguarding_review_years: int = Field(default=25, ge=1, le=100, description=REVIEW_YEARS)
    first_admin: FirstAdmin | None = Field(
        default=None,
        description="Creates the trust's first trust admin and returns their invitation.",
    )


class TrustUpdate(Patch):
    name: Name | None = None
    default_max_visits_per_day: int | None = Field(default=None, ge=1, le=20)
    default_visit_minutes: int | None = Field(default=None, ge=15, le=180)
    safeguarding_review_years: int | None = Field(
        default=None, ge=1, le=100, description=REVIEW_YEARS
    )


class TrustRead(Output):
    id: UUID
    name: str
    default_max_visits_per_day: int
    default_visit_minutes: int
    safeguarding_review_years: int = Field(description=REVIEW_YEARS)
    created_at: datetime
    updated_at: datetime


class TrustCreated(TrustRead):
    first_admin_invitation: StaffInvitation | None = None


class SchoolCreate(Input):
    urn: Urn
    name: Name
    phase: Phase
    address_line1: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    address_line2: Annotated[str, StringConstraints(max_length=200)] | None = None
    town: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    postcode: Postcode
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    phone: PhoneNumber | None = None
    participation: Participation = Participation.FULL
    participation_reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = (
        None
    )
    participating_year_groups: YearGroups | None = None

    @model_validator(mode="after")
    def _reason_when_not_full(self) -> Self:
        if self.participation is not Participation.FULL and not self.participation_reason:
            raise ValueError("participation_reason is required when participation is not 'full'")
        if self.participating_year_groups and self.participation is not Participation.PARTIAL:
            raise ValueError("participating_year_groups applies to partial participation only")
        return self


class SchoolUpdate(Patch):
    clearable = frozenset(
        {
            "address_line2",
            "latitude",
            "longitude",
            "phone",
            "participation_reason",
            "participating_year_groups",
        }
    )

    name: Name | None = None
    phase: Phase | None = None
    address_line1: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    address_line2: Annotated[str, StringConstraints(max_length=200)] | None = None
    town: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    postcode: Postcode | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    phone: PhoneNumber | None = None
    participation: Participation | None = None
    participation_reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = (
        None
    )
    participating_year_groups: YearGroups | None = None


class SchoolRead(Output):
    id: UUID
    trust_id: UUID
    urn: str
    name: str
    phase: Phase
    address_line1: str
    address_line2: str | None
    town: str
    postcode: str
    latitude: float | None
    longitude: float | None
    phone: str | None
    participation: Participation
    participation_reason: str | None
    participating_year_groups: list[YearGroup] | None
    created_at: datetime
    updated_at: datetime
