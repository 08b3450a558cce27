from datetime import date, datetime
from uuid import UUID

from pydantic import Field

from app.core.schemas import Input, Output
from app.roster.models import SendStatus, Sex, YearGroup


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
    address_line1: str
    address_line2: str | None
    town: str | None
    postcode: str
    latitude: float | None
    longitude: float | None
    pupil_ids: list[UUID] = Field(description="Only pupils of schools the caller can see.")
    contacts: list[ContactRead]


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
