"""The roster snapshot: one school's whole roster as its MIS sees it, in any feed's shape.

The JSON bulk sync takes it as its body; the OneRoster and pupil-list CSV importers produce it.
The schema checks structure only (types, required fields, lengths, no unknown fields): a
snapshot that is malformed is a broken client and is refused whole with 422. What a row *says*
(a UPN's check letter, a postcode, a phone number, a reference to a class) is checked row by row
by the sync, so that each rejected row can be reported with its JSON pointer and, with
`on_error=skip`, the valid rows still applied.
"""

from datetime import date
from typing import Annotated

from pydantic import Field

from app.core.schemas import Input
from app.core.types import YearGroup
from app.roster.models import SendStatus, Sex

# An email address is at most 254 characters (RFC 5321); a longer one would only be echoed back.
StaffEmail = Annotated[str, Field(max_length=254)]


class ClassRow(Input):
    mis_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    year_group: YearGroup
    teacher_emails: list[StaffEmail] = Field(
        default=[], max_length=5, description="Class teachers, by their Threshold sign-in email."
    )
    support_staff_emails: list[StaffEmail] = Field(default=[], max_length=10)


class ContactRow(Input):
    mis_id: str | None = Field(default=None, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    relationship: str | None = Field(default=None, max_length=50)
    priority: int = Field(default=1, ge=1, le=99)
    parental_responsibility: bool = True
    mobile: str | None = Field(
        default=None,
        max_length=32,
        description="UK forms 07…, +44 7…, 0044 7… are accepted. A number that cannot "
        "take texts is kept as the contact's landline; one that is not a phone number is left "
        "out (a warning, not a rejection).",
    )
    email: str | None = Field(default=None, max_length=254)
    preferred_language: str | None = Field(default=None, max_length=50)
    interpreter_needed: bool = False
    sms_consent: bool = False


class HouseholdRow(Input):
    ref: str = Field(
        min_length=1,
        max_length=64,
        description="How pupils in this snapshot refer to the household; the MIS family id "
        "where the feed has one.",
    )
    mis_id: str | None = Field(
        default=None,
        max_length=64,
        description="The MIS's stable family id, if it has one (matched before the address).",
    )
    address_line1: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Leave out with postcode when the feed has no address (OneRoster): the "
        "household is kept, flagged 'address needed' until the office gives it one.",
    )
    address_line2: str | None = Field(default=None, max_length=200)
    town: str | None = Field(default=None, max_length=100)
    postcode: str | None = Field(default=None, min_length=1, max_length=16)
    latitude: float | None = Field(default=None, ge=49.0, le=61.0)
    longitude: float | None = Field(default=None, ge=-9.0, le=2.5)
    contacts: list[ContactRow] = Field(default=[], max_length=10)


class PupilRow(Input):
    mis_id: str = Field(min_length=1, max_length=64)
    upn: str | None = Field(
        default=None, max_length=13, description="13 characters; UN1–UN5 mean unknown."
    )
    legal_first_name: str = Field(min_length=1, max_length=100)
    legal_last_name: str = Field(min_length=1, max_length=100)
    preferred_first_name: str | None = Field(default=None, max_length=100)
    preferred_last_name: str | None = Field(default=None, max_length=100)
    date_of_birth: date
    sex: Sex | None = None
    class_mis_id: str | None = Field(default=None, max_length=64)
    household_ref: str | None = Field(default=None, max_length=64)
    free_school_meals: bool = False
    pupil_premium: bool = False
    send: SendStatus = SendStatus.NONE
    eal: bool = False
    home_language: str | None = Field(default=None, max_length=50)
    looked_after: bool = False


class RosterSnapshot(Input):
    academic_year: str = Field(pattern=r"^\d{4}/\d{2}$", examples=["2026/27"])
    classes: list[ClassRow] = Field(default=[], max_length=500)
    households: list[HouseholdRow] = Field(default=[], max_length=10_000)
    pupils: list[PupilRow] = Field(default=[], max_length=10_000)
