"""The roster: classes, pupils, the households they live in and the adults to contact.

Households are trust-scoped (siblings may attend several schools of a trust); classes and
pupils belong to one school. Each school's MIS names its families with its own ids, so those
ids live in `HouseholdSource`, one row per school and family id, pointing at the trust's
household.
"""

from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped, Timestamped, TrustScoped, Versioned
from app.core.types import YearGroup, enum_type


class Sex(StrEnum):
    """As the school census records it."""

    FEMALE = "F"
    MALE = "M"


class SendStatus(StrEnum):
    NONE = "none"
    SEN_SUPPORT = "sen_support"
    EHCP = "ehcp"


class ClassStaffRole(StrEnum):
    TEACHER = "teacher"
    SUPPORT = "support"


class SchoolClass(Identified, Timestamped, SchoolScoped, table=True):
    __tablename__ = "school_class"
    __table_args__ = (UniqueConstraint("school_id", "academic_year", "mis_id"),)

    mis_id: str = Field(max_length=64)
    academic_year: str = Field(max_length=7)  # "2026/27"
    name: str = Field(max_length=100)
    year_group: YearGroup = Field(sa_type=enum_type(YearGroup, 3))
    active: bool = Field(default=True)


class ClassStaff(Identified, SchoolScoped, table=True):
    __tablename__ = "class_staff"
    __table_args__ = (UniqueConstraint("class_id", "staff_id"),)

    class_id: UUID = Field(foreign_key="school_class.id", index=True, ondelete="CASCADE")
    staff_id: UUID = Field(foreign_key="staff_member.id", index=True)
    role: ClassStaffRole = Field(sa_type=enum_type(ClassStaffRole, 10))


class Household(Identified, Timestamped, Versioned, TrustScoped, table=True):
    __tablename__ = "household"
    __table_args__ = (Index("ix_household_trust_match", "trust_id", "match_key"),)

    # Null until known: OneRoster carries no addresses, so a household can arrive without one
    # and waits on the office's data-quality list ("address needed") for it.
    address_line1: str | None = Field(default=None, max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    town: str | None = Field(default=None, max_length=100)
    postcode: str | None = Field(default=None, max_length=8)
    latitude: float | None = None
    longitude: float | None = None
    # Digest of the normalised first address line and postcode: how feeds without a shared
    # family id find the same home. Null without an address: such a household matches only by
    # family id, never by an empty address.
    match_key: str | None = Field(default=None, max_length=64)

    @property
    def address_needed(self) -> bool:
        return self.address_line1 is None or self.postcode is None


class HouseholdSource(Identified, SchoolScoped, table=True):
    """A school's MIS family id for a household (feeds of two schools name it differently)."""

    __tablename__ = "household_source"
    __table_args__ = (UniqueConstraint("school_id", "mis_id"),)

    household_id: UUID = Field(foreign_key="household.id", index=True, ondelete="CASCADE")
    mis_id: str = Field(max_length=64)


class Contact(Identified, Timestamped, TrustScoped, table=True):
    __tablename__ = "contact"

    household_id: UUID = Field(foreign_key="household.id", index=True, ondelete="CASCADE")
    # The school whose feed last asserted this contact; a school's sync removes only its own.
    source_school_id: UUID = Field(foreign_key="school.id")
    name: str = Field(max_length=200)
    relationship: str | None = Field(default=None, max_length=50)
    priority: int = Field(default=1, ge=1)
    parental_responsibility: bool = Field(default=True)
    # E.164. Only `mobile` may be texted; a number that cannot take texts (a landline, an 0800
    # number) is kept apart in `landline`, for calls.
    mobile: str | None = Field(default=None, max_length=16)
    landline: str | None = Field(default=None, max_length=16)
    email: str | None = Field(default=None, max_length=254)
    preferred_language: str | None = Field(default=None, max_length=50)
    interpreter_needed: bool = Field(default=False)
    sms_consent: bool = Field(default=False)


class Pupil(Identified, Timestamped, SchoolScoped, table=True):
    __tablename__ = "pupil"
    __table_args__ = (
        UniqueConstraint("school_id", "mis_id"),
        Index("ix_pupil_school_updated", "school_id", "updated_at", "id"),
    )

    mis_id: str = Field(max_length=64)
    upn: str | None = Field(default=None, max_length=13, index=True)
    class_id: UUID | None = Field(default=None, foreign_key="school_class.id", index=True)
    household_id: UUID | None = Field(default=None, foreign_key="household.id", index=True)
    legal_first_name: str = Field(max_length=100)
    legal_last_name: str = Field(max_length=100)
    preferred_first_name: str | None = Field(default=None, max_length=100)
    preferred_last_name: str | None = Field(default=None, max_length=100)
    date_of_birth: date
    sex: Sex | None = Field(default=None, sa_type=enum_type(Sex, 1))
    on_roll: bool = Field(default=True)
    left_on: date | None = None
    free_school_meals: bool = Field(default=False)
    pupil_premium: bool = Field(default=False)
    send: SendStatus = Field(default=SendStatus.NONE, sa_type=enum_type(SendStatus, 12))
    eal: bool = Field(default=False)
    home_language: str | None = Field(default=None, max_length=50)
    looked_after: bool = Field(default=False)


class ImportFormat(StrEnum):
    ONEROSTER = "oneroster"
    PUPIL_CSV = "pupil_csv"


class RosterImport(Identified, Timestamped, SchoolScoped, table=True):
    """An uploaded MIS file waiting for, or done with, its import job. The job holds the status
    and progress; the file is kept so a retried job reads exactly what was uploaded."""

    __tablename__ = "roster_import"

    job_id: UUID = Field(foreign_key="job.id", index=True)
    format: ImportFormat = Field(sa_type=enum_type(ImportFormat, 10))
    filename: str = Field(max_length=255)
    size_bytes: int
    content: bytes = Field(sa_type=LargeBinary)
    options: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_by: UUID | None = Field(default=None)
