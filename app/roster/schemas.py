from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from app.core.schemas import Input, Output, Patch
from app.core.types import Postcode, YearGroup
from app.roster.models import SendStatus, Sex


class PupilRead(Output):
    """A pupil as the caller may see them: equity flags appear only to those who need them
    (see the README's visibility table); absent fields are not null, they are withheld."""

    id: UUID
    school_id: UUID
    mis_id: str
    upn: str | None
    legal_first_name: str
    legal_last_name: str
    preferred_first_name: str | None
    preferred_last_name: str | None
    date_of_birth: date
    sex: Sex | None
    class_id: UUID | None
    year_group: YearGroup | None
    household_id: UUID | None
    on_roll: bool
    left_on: date | None
    updated_at: datetime
    send: SendStatus | None = Field(default=None, description="Class staff, SLT, DSLs.")
    eal: bool | None = Field(default=None, description="Class staff, SLT, DSLs.")
    home_language: str | None = Field(default=None, description="Class staff, SLT, DSLs.")
    free_school_meals: bool | None = Field(default=None, description="SLT and DSLs only.")
    pupil_premium: bool | None = Field(default=None, description="SLT and DSLs only.")
    looked_after: bool | None = Field(default=None, description="SLT and DSLs only.")


class ContactRead(Output):
    id: UUID
    name: str
    relationship: str | None
    priority: int
    parental_responsibility: bool
    mobile: str | None = Field(description="E.164; the only number that may be texted.")
    landline: str | None = Field(description="E.164; a number for calls that cannot take texts.")
    email: str | None
    preferred_language: str | None
    interpreter_needed: bool
    sms_consent: bool


class HouseholdRead(Output):
    id: UUID
    address_line1: str | None
    address_line2: str | None
    town: str | None
    postcode: str | None
    address_needed: bool = Field(
        description="No home address yet (OneRoster carries none): give it one with PATCH."
    )
    latitude: float | None
    longitude: float | None
    pupil_ids: list[UUID] = Field(description="Only pupils of schools the caller can see.")
    contacts: list[ContactRead]


# A home address's parts, as the household table holds them: one set of rules for the PATCH and
# the office's CSV of addresses.
AddressLine1 = Annotated[str, StringConstraints(min_length=1, max_length=200)]
AddressLine2 = Annotated[str, StringConstraints(max_length=200)]
Town = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Latitude = Annotated[float, Field(ge=49.0, le=61.0)]
Longitude = Annotated[float, Field(ge=-9.0, le=2.5)]


class HouseholdAddress(Patch):
    """A household's home address, given by the office (a OneRoster feed carries none)."""

    clearable = frozenset({"address_line2", "town", "latitude", "longitude"})

    address_line1: AddressLine1 | None = None
    address_line2: AddressLine2 | None = None
    town: Town | None = None
    postcode: Postcode | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None


class AddressImportReport(Output):
    """What a CSV of addresses changed: every row was valid, or nothing was written."""

    rows: int = Field(description="Data rows in the file (blank rows are not counted).")
    updated: int = Field(description="Households given a new or changed address.")
    unchanged: int = Field(description="Rows equal to the address already held: not written.")


class AddressNeededChild(Output):
    pupil_id: UUID
    first_name: str
    last_name: str
    class_name: str | None


class AddressNeededRead(Output):
    id: UUID = Field(description="The household: PATCH /households/{id} gives its address.")
    mis_family_id: str | None = Field(
        description="The school's MIS family id (a OneRoster household's is 'or:' and its "
        "first guardian's sourcedId)."
    )
    children: list[AddressNeededChild] = Field(description="Its children at this school.")


class HouseholdSplit(Input):
    pupil_ids: list[UUID] = Field(
        min_length=1, max_length=20, description="Pupils to move into a household of their own."
    )


class HouseholdMergeRequest(Input):
    household_id: UUID = Field(description="The household to fold into this one; it is removed.")


class ClassRead(Output):
    id: UUID
    school_id: UUID
    mis_id: str
    academic_year: str
    name: str
    year_group: YearGroup
    active: bool
    teacher_ids: list[UUID]
    support_staff_ids: list[UUID]
    pupils_on_roll: int
