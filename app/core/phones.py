"""Phone numbers in one canonical form (E.164), for contacts' numbers and a school's office.

Functions return None for a blank value and raise ValueError with a message an office can act
on; the message names the rule, never the number.
"""

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Annotated

import phonenumbers
from phonenumbers import PhoneNumberType
from pydantic import AfterValidator, Field

# Some numbering plans (the US's, for one) do not tell mobiles from landlines.
SMS_NUMBER_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
DEFAULT_PHONE_REGION = "GB"


_UK_MOBILE_FORMS = re.compile(r"(?:\+44|0044|0)(7\d{9})")
_SEPARATORS = re.compile(r"\(0\)|[\s\-.()]")


@cache
def _uk_mobile_patterns() -> tuple[re.Pattern[str], ...]:
    """The mobile ranges of every +44 numbering plan (GB, Guernsey, Jersey, Isle of Man), from
    the library's own metadata."""
    patterns = []
    for region in phonenumbers.region_codes_for_country_code(44):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is not None and metadata.mobile and metadata.mobile.national_number_pattern:
            patterns.append(re.compile(metadata.mobile.national_number_pattern))
    return tuple(patterns)


def _uk_mobile_fast(text: str) -> str | None:
    # A roster carries tens of thousands of UK mobiles in a few written forms; matching them
    # against the library's mobile ranges directly is a hundred times faster than a full parse.
    # Anything else takes the full path below.
    form = _UK_MOBILE_FORMS.fullmatch(_SEPARATORS.sub("", text))
    if form is None:
        return None
    national = form.group(1)
    if any(pattern.fullmatch(national) for pattern in _uk_mobile_patterns()):
        return "+44" + national
    return None


@dataclass(frozen=True)
class Phone:
    """A phone number in E.164, and whether it can take a text (a mobile) or only calls."""

    number: str
    kind: int  # a phonenumbers.PhoneNumberType

    @property
    def mobile(self) -> bool:
        return self.kind in SMS_NUMBER_TYPES


@lru_cache(maxsize=65_536)
def normalise_phone(value: str | None) -> Phone | None:
    """Any phone number, in E.164 (+447911123456); numbers without a country code are read as UK.

    A landline is a phone all the same: a school office rings it, it just never gets a text.
    """
    text = (value or "").strip()
    if not text:
        return None
    fast = _uk_mobile_fast(text)
    if fast is not None:
        return Phone(fast, PhoneNumberType.MOBILE)
    if any(char.isalpha() for char in text):
        # phonenumbers reads letters as a phone keypad would ("0800 FLOWERS"), which would
        # turn a mistyped number into someone else's.
        raise ValueError("the number has letters in it; a phone number is digits only")
    try:
        number = phonenumbers.parse(text, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise ValueError("the text is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("the number is not a valid phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164, phonenumbers.number_type(number))


def normalise_mobile(value: str | None) -> str | None:
    """A mobile number in E.164 (+447911123456); numbers without a country code are read as UK."""
    phone = normalise_phone(value)
    if phone is None:
        return None
    if phone.kind == PhoneNumberType.FIXED_LINE:
        raise ValueError("the number is a landline; an SMS needs a mobile number")
    if not phone.mobile:
        raise ValueError("the number is not a mobile number; an SMS needs a mobile number")
    return phone.number


def e164(value: str) -> str:
    """Any phone number (landline or mobile) in E.164, for a schema field."""
    phone = normalise_phone(value)
    if phone is None:
        raise ValueError("the number is empty")
    return phone.number


def spoken(number: str) -> str:
    """An E.164 number as a family would dial it: UK numbers in the national form ("01632
    960000"), others in the international one."""
    parsed = phonenumbers.parse(number, DEFAULT_PHONE_REGION)
    national = phonenumbers.region_code_for_number(parsed) == DEFAULT_PHONE_REGION
    form = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if national
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, form)


PhoneNumber = Annotated[str, AfterValidator(e164), Field(max_length=20, examples=["+441632960000"])]
