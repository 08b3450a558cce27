"""UPNs, mobiles and emails as MIS feeds give them: canonical forms and actionable errors."""

import pytest
from stdnum.gb import upn as dfe_upn

from app.roster.identifiers import normalise_email, normalise_mobile, normalise_upn


def _upn(body: str) -> str:
    """A UPN for a 12-character body, with the check letter the DfE algorithm gives it."""
    return dfe_upn.calc_check_digit(body) + body


# --- UPNs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "207000016049",  # LA 207 (Kensington and Chelsea)
        "801200005001",  # the DfE guidance's example, B801200005001
        "938123419001",  # LA 938 (West Sussex)
        "80120000101A",  # a temporary UPN: 2-digit serial and a letter
        "20100001002Z",
    ],
)
def test_valid_upn_is_returned(body: str) -> None:
    upn = _upn(body)
    assert normalise_upn(upn) == upn


def test_dfe_guidance_examples_are_valid() -> None:
    assert normalise_upn("B801200005001") == "B801200005001"
    assert normalise_upn("G80120000101A") == "G80120000101A"


def test_check_letter_for_207000016049_is_p() -> None:
    # A worked example on MIS help pages gives Q; the DfE algorithm gives P.
    assert dfe_upn.calc_check_digit("207000016049") == "P"
    assert normalise_upn("P207000016049") == "P207000016049"


def test_upn_with_the_help_pages_check_letter_q_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValueError, match="check letter") as caught:
        normalise_upn("Q207000016049")
    assert str(caught.value) == (
        "the check letter of the UPN is wrong: by the DfE's algorithm it does not match the "
        "other 12 characters"
    )


@pytest.mark.parametrize("first", ["A", "Z", "1", "I"])
def test_wrong_check_letter_is_refused(first: str) -> None:
    with pytest.raises(ValueError, match=r"^the check letter of the UPN is wrong") as caught:
        normalise_upn(first + "801200005001")
    assert "801200005001" not in str(caught.value)


def test_upn_is_upper_cased_and_stripped() -> None:
    assert normalise_upn("  b801200005001\t") == "B801200005001"
    assert normalise_upn("g80120000101a") == "G80120000101A"


def test_upn_spaces_inside_are_removed() -> None:
    assert normalise_upn("B801 2000 05001") == "B801200005001"


@pytest.mark.parametrize("placeholder", ["UN1", "UN2", "UN3", "UN4", "UN5", "un3", " UN5 "])
def test_unknown_upn_placeholders_are_none(placeholder: str) -> None:
    assert normalise_upn(placeholder) is None


@pytest.mark.parametrize("blank", [None, "", "   ", "\t\r\n"])
def test_blank_upn_is_none(blank: str | None) -> None:
    assert normalise_upn(blank) is None


@pytest.mark.parametrize(
    ("value", "length"),
    [("B80120000500", 12), ("B8012000050011", 14), ("UN6", 3), ("B", 1)],
)
def test_upn_of_wrong_length_says_how_long(value: str, length: int) -> None:
    with pytest.raises(ValueError, match=r"^a UPN has 13 characters") as caught:
        normalise_upn(value)
    assert str(caught.value) == f"a UPN has 13 characters; this one has {length}"


@pytest.mark.parametrize(
    "value",
    [
        "X80120000A001",  # a letter among the 11 digits
        "B80120000500O",  # the last character cannot be O (nor I or S)
        "B801-20000500",
        "B80120000500!",
    ],
)
def test_upn_in_wrong_format_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"is not in the format of a UPN") as caught:
        normalise_upn(value)
    assert value not in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        "838200005001",  # Dorset, since 2019
        "839200005001",  # Bournemouth, Christchurch and Poole
        "940200005001",  # North Northamptonshire, since 2021
        "941200005001",  # West Northamptonshire
        "001200005001",  # a DfE pseudo-LA code
    ],
)
def test_upn_from_la_missing_from_stdnum_table_is_accepted(body: str) -> None:
    assert not dfe_upn.is_valid(_upn(body))  # stdnum's 2011 table does not know these LAs
    assert normalise_upn(_upn(body)) == _upn(body)


def test_upn_from_la_missing_from_stdnum_table_still_needs_right_check_letter() -> None:
    right = dfe_upn.calc_check_digit("838200005001")
    wrong = "B" if right != "B" else "C"
    with pytest.raises(ValueError, match=r"^the check letter of the UPN is wrong"):
        normalise_upn(wrong + "838200005001")


# --- mobiles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "07911 123456",
        "07911123456",
        "+44 7911 123456",
        "+447911123456",
        "0044 7911 123456",
        "(07911) 123-456",
        "+44 (0)7911 123456",
        "  07911-123-456  ",
    ],
)
def test_uk_mobile_forms_give_e164(value: str) -> None:
    assert normalise_mobile(value) == "+447911123456"


@pytest.mark.parametrize(
    ("value", "e164"),
    [
        ("+33 6 12 34 56 78", "+33612345678"),  # France
        ("+353 85 123 4567", "+353851234567"),  # Ireland
        ("+61 412 345 678", "+61412345678"),  # Australia
        ("+1 650 253 0000", "+16502530000"),  # US: FIXED_LINE_OR_MOBILE is accepted
    ],
)
def test_international_mobile_is_accepted(value: str, e164: str) -> None:
    assert normalise_mobile(value) == e164


@pytest.mark.parametrize("value", ["020 7946 0000", "+44 20 7946 0000", "0161 496 0000"])
def test_landline_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"is a landline; an SMS needs a mobile number$"):
        normalise_mobile(value)


@pytest.mark.parametrize("value", ["0800 123 4567", "070 1234 5678", "0300 123 4567"])
def test_other_non_mobile_numbers_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"is not a mobile number"):
        normalise_mobile(value)


@pytest.mark.parametrize("value", ["-", "0", "+", "()", "--- ---"])
def test_unparseable_phone_text_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"is not a phone number$"):
        normalise_mobile(value)


@pytest.mark.parametrize(
    "value",
    [
        "07911",
        "079111234567",
        "+447911123456789",
        "07700 900123",  # Ofcom's drama range is not a valid number
    ],
)
def test_invalid_phone_number_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"is not a valid phone number$"):
        normalise_mobile(value)


@pytest.mark.parametrize("value", ["07911 123456 / 07922 654321", "07911123456, 07922654321"])
def test_two_numbers_in_one_cell_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"phone number$"):
        normalise_mobile(value)


@pytest.mark.parametrize(
    "value", ["call mum", "07911 ABCDEF", "07911 123456 ext 2", "07911 123456 (mum)"]
)
def test_phone_text_with_letters_is_refused(value: str) -> None:
    # phonenumbers alone would read "07911 ABCDEF" as the valid mobile +447911222333.
    with pytest.raises(ValueError, match=r"has letters in it"):
        normalise_mobile(value)


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_mobile_is_none(blank: str | None) -> None:
    assert normalise_mobile(blank) is None


@pytest.mark.parametrize("value", ["020 7946 0000", "07911 ABCDEF", "07911", "0800 123 4567", "()"])
def test_phone_errors_never_repeat_the_number(value: str) -> None:
    with pytest.raises(ValueError, match=r"number|text") as caught:
        normalise_mobile(value)
    assert value not in str(caught.value)
    assert not any(part in str(caught.value) for part in value.split() if len(part) > 2)


# --- emails -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("parent@example.com", "parent@example.com"),
        ("  Parent.Name@Example.COM ", "Parent.Name@example.com"),
        ("zoë@EXAMPLE.co.uk", "zoë@example.co.uk"),
        ("carer+school@mail.example.org", "carer+school@mail.example.org"),
    ],
)
def test_email_domain_is_lower_cased(value: str, normalised: str) -> None:
    assert normalise_email(value) == normalised


@pytest.mark.parametrize("blank", [None, "", "  \t"])
def test_blank_email_is_none(blank: str | None) -> None:
    assert normalise_email(blank) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("parent.example.com", "must have an @-sign"),
        ("parent@example", "It should have a period"),
        ("a..b@example.com", "two periods in a row"),
        ("two words@example.com", "invalid characters"),
        ("parent@localhost", "It should have a period"),
        ('"Sian Jones" <sian@example.com>', "display name"),
    ],
)
def test_invalid_email_is_refused_with_reason(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=r"^not a valid email address: ") as caught:
        normalise_email(value)
    assert value not in str(caught.value)
    assert reason in str(caught.value)


@pytest.mark.parametrize("value", ["parent@[1.2.3.999]", "sian@[IPv6:zz::1]"])
def test_an_email_reason_that_would_quote_the_address_is_left_out(value: str) -> None:
    with pytest.raises(ValueError, match=r"^not a valid email address$"):
        normalise_email(value)


@pytest.mark.parametrize(
    "address",
    [
        "Jo.Bloggs+school@Example.ORG",
        "a..b@example.org",
        ".a@example.org",
        "a@b.test",
        "x@localhost",
        "x@-bad.org",
        "x@bad-.org",
        "o'neil@example.co.uk",
        "x" * 65 + "@example.org",
    ],
)
def test_the_fast_email_path_agrees_with_the_library(address: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    from app.roster.identifiers import _plain_email_fast

    try:
        expected: str | None = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    fast = _plain_email_fast(address)
    assert fast is None or fast == expected


@pytest.mark.parametrize(
    "number",
    ["07911 123456", "+44 7911 123456", "0044 (0)7911 123456", "07624 123456", "07700 900123"],
)
def test_the_fast_mobile_path_agrees_with_the_library(number: str) -> None:
    import phonenumbers

    from app.core.phones import _uk_mobile_fast

    parsed = phonenumbers.parse(number.replace("(0)", ""), "GB")
    valid = phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    expected = (
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) if valid else None
    )
    assert _uk_mobile_fast(number) == expected
