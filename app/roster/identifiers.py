"""Identifiers as MIS feeds give them, checked and put in one canonical form.

Each function returns None for a blank value and raises ValueError with a message a school
office can act on when the value is wrong. The message names the rule, never the value: it is
answered in 422s and import reports, which must not repeat personal data.
"""

import re
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from stdnum import exceptions as stdnum_errors
from stdnum.gb import upn as dfe_upn

# Phone numbers have their home in core (a school's office number is one too); the roster reads
# contacts' numbers through them.
from app.core.phones import Phone as Phone
from app.core.phones import normalise_mobile as normalise_mobile
from app.core.phones import normalise_phone as normalise_phone

UPN_LENGTH = 13
# The DfE's placeholders for a pupil whose UPN is not known yet.
UNKNOWN_UPNS = frozenset({"UN1", "UN2", "UN3", "UN4", "UN5"})


@lru_cache(maxsize=65_536)
def normalise_upn(value: str | None) -> str | None:
    """A DfE Unique Pupil Number, upper-case; None when blank or a placeholder UN1–UN5."""
    text = dfe_upn.compact(value or "")
    if not text or text in UNKNOWN_UPNS:
        return None
    if len(text) != UPN_LENGTH:
        raise ValueError(f"a UPN has {UPN_LENGTH} characters; this one has {len(text)}")
    try:
        return dfe_upn.validate(text)
    except stdnum_errors.InvalidChecksum:
        raise _wrong_check_letter() from None
    except stdnum_errors.InvalidComponent:
        # stdnum's table of LA numbers dates from 2011: it lacks the DfE's pseudo-LA codes and
        # authorities created since (Dorset 838, BCP 839, the Northamptonshires 940 and 941...),
        # so only the check letter is held against a UPN with an LA number stdnum does not know.
        return _with_right_check_letter(text)
    except stdnum_errors.ValidationError:
        raise ValueError(
            "this is not in the format of a UPN: a check letter, 11 digits, then a digit or a "
            "letter"
        ) from None


def _with_right_check_letter(upn: str) -> str:
    if dfe_upn.calc_check_digit(upn[1:]) != upn[0]:
        raise _wrong_check_letter()
    return upn


def _wrong_check_letter() -> ValueError:
    return ValueError(
        "the check letter of the UPN is wrong: by the DfE's algorithm it does not match the "
        "other 12 characters"
    )


_EMAIL_PARTS = re.compile(r"[^\W_]{2,}")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"({_ATOM}(?:\.{_ATOM})*)@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")


def _plain_email_fast(text: str) -> str | None:
    # Most addresses are plain ASCII dot-atoms at ordinary domains; those are settled here with
    # the library's own list of special-use domains. Anything else takes the full check.
    found = _PLAIN_EMAIL.fullmatch(text)
    if found is None or len(found.group(1)) > 64 or len(text) > 254:
        return None
    domain = found.group(2).lower()
    if domain.rsplit(".", 1)[-1] in SPECIAL_USE_DOMAIN_NAMES:
        return None
    return f"{found.group(1)}@{domain}"


@lru_cache(maxsize=65_536)
def normalise_email(value: str | None) -> str | None:
    """An email address with its domain in lower case; the mailbox part is kept as given."""
    text = (value or "").strip()
    if not text:
        return None
    fast = _plain_email_fast(text)
    if fast is not None:
        return fast
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(_email_refusal(text, str(exc))) from None


def _email_refusal(text: str, reason: str) -> str:
    # The library's reason helps ("An email address must have an @-sign.") but a few quote a
    # part of the address ("Octet 999 (> 255) not permitted in '1.2.3.999'"): those are left out.
    said = reason.casefold()
    quoted = any(part.casefold() in said for part in _EMAIL_PARTS.findall(text))
    return "not a valid email address" + ("" if quoted else f": {reason}")
