"""Column types and value types shared by every domain."""

import re
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field
from sqlalchemy import DateTime
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC timestamp on every database.

    SQLite has no time zones, so values are stored as naive UTC and made aware again on load;
    PostgreSQL stores `timestamptz`. Naive input is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_POSTCODE = re.compile(
    r"^(GIR0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRV-Y])"
    r"[0-9][ABD-HJLNP-UW-Z]{2})$"
)


def normalise_postcode(value: str) -> str:
    """A UK postcode in its canonical form: upper case, one space before the inward code."""
    compact = re.sub(r"\s+", "", value).upper()
    if not _POSTCODE.match(compact):
        raise ValueError("not a valid UK postcode")
    return f"{compact[:-3]} {compact[-3:]}"


Postcode = Annotated[
    str, AfterValidator(normalise_postcode), Field(max_length=10, examples=["ME2 2AB"])
]


def enum_type(enum_class: type[StrEnum], length: int = 30) -> SAEnum:
    """Enums stored as their values in a plain VARCHAR: portable, readable, and a new member needs
    no ALTER TYPE."""
    return SAEnum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def _iso_8601_only(value: object) -> object:
    # Pydantic would read "0.5" as a Unix timestamp; an API date-time is ISO 8601 with an offset.
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("expected an ISO 8601 date-time with a UTC offset") from None
        if parsed.tzinfo is None:
            raise ValueError("the date-time needs a UTC offset, e.g. 2026-09-01T08:00:00Z")
        return parsed
    if not isinstance(value, datetime):
        raise ValueError("expected an ISO 8601 date-time with a UTC offset")
    return value


def _representable_in_utc(value: datetime) -> datetime:
    # 9999-12-31T23:30-01:00 is a valid date-time whose UTC instant is past the last one Python
    # can hold: refused here, not as an OverflowError (a 500) where it is stored or compared.
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the date-time is out of range once converted to UTC") from None
    return value


IsoDateTime = Annotated[
    AwareDatetime, BeforeValidator(_iso_8601_only), AfterValidator(_representable_in_utc)
]


def _text_only(kind: str, example: str) -> Any:
    def check(value: object) -> object:
        # Pydantic would read a number as seconds or a Unix timestamp; the API takes ISO text.
        if isinstance(value, str):
            return value
        raise ValueError(f"expected {kind} as text, e.g. {example}")

    return BeforeValidator(check)


IsoDate = Annotated[date, _text_only("an ISO 8601 date", "2026-09-01")]
WallClock = Annotated[time, _text_only("a local time", "08:30")]


# England's year groups, nursery to sixth form: a school takes part with some of them (trusts)
# and each class and pupil is in one (roster). A comment, not a docstring: the API's schema for
# it carries no description.
class YearGroup(StrEnum):
    N1 = "N1"
    N2 = "N2"
    RECEPTION = "R"
    Y1 = "1"
    Y2 = "2"
    Y3 = "3"
    Y4 = "4"
    Y5 = "5"
    Y6 = "6"
    Y7 = "7"
    Y8 = "8"
    Y9 = "9"
    Y10 = "10"
    Y11 = "11"
    Y12 = "12"
    Y13 = "13"
