"""Trusts and their schools."""

from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint
from sqlmodel import Field

from app.core.models import Identified, Timestamped, TrustScoped, Versioned
from app.core.types import enum_type


class Phase(StrEnum):
    NURSERY = "nursery"
    PRIMARY = "primary"
    MIDDLE = "middle"
    SECONDARY = "secondary"
    ALL_THROUGH = "all_through"
    SPECIAL = "special"
    ALTERNATIVE_PROVISION = "alternative_provision"
    SIXTEEN_PLUS = "sixteen_plus"


class Participation(StrEnum):
    """Whether a school runs home visits: the SPEC's trust has two schools out, two in part."""

    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"


class TrustBase(Versioned):
    name: str = Field(max_length=200)
    default_max_visits_per_day: int = Field(default=10, ge=1, le=20)
    default_visit_minutes: int = Field(default=45, ge=15, le=180)
    # A child protection file is reviewed this many years after the pupil's date of birth
    # (25 by default, as schools' retention schedules commonly set it).
    safeguarding_review_years: int = Field(
        default=25, ge=1, le=100, sa_column_kwargs={"server_default": "25"}
    )


class Trust(Identified, Timestamped, TrustBase, table=True):
    __tablename__ = "trust"


class School(Identified, Timestamped, Versioned, TrustScoped, table=True):
    __tablename__ = "school"
    __table_args__ = (
        CheckConstraint(
            "participation = 'full' OR participation_reason IS NOT NULL",
            name="participation_reason_given",
        ),
    )

    urn: str = Field(max_length=6, unique=True)
    name: str = Field(max_length=200)
    phase: Phase = Field(sa_type=enum_type(Phase))
    address_line1: str = Field(max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    town: str = Field(max_length=100)
    postcode: str = Field(max_length=10)
    latitude: float | None = None
    longitude: float | None = None
    # The office's number in E.164: messages to families tell them to ring it if plans change.
    phone: str | None = Field(default=None, max_length=20)
    participation: Participation = Field(
        default=Participation.FULL, sa_type=enum_type(Participation, 10)
    )
    participation_reason: str | None = Field(default=None, max_length=500)
    # A partly participating school's year groups ("N1", "R", "3"...); programmes stay inside
    # them. None: every year group (full participation, or a partial school that has not said).
    participating_year_groups: list[str] | None = Field(default=None, sa_type=JSON)
