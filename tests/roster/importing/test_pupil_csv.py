"""Pupil-list CSV files, as schools export them from MIS reports, read into a roster snapshot."""

import csv
import io
from datetime import date

import pytest
from pydantic import ValidationError

from app.core.types import YearGroup
from app.roster.importing.errors import EmptyFile, MissingColumns, TooManyRows, UnreadableCsv
from app.roster.importing.pupil_csv import (
    MAX_ROWS,
    ContactColumns,
    PupilCsvMapping,
    PupilCsvResult,
    check_pupil_csv,
    date_from_text,
    parse_pupil_csv,
    year_group_from_text,
)
from app.roster.models import SendStatus, Sex
from app.roster.snapshot import PupilRow, RosterSnapshot

SIMS_HEADER = [
    "Adno",
    "UPN",
    "Legal Surname",
    "Legal Forename",
    "Preferred Forename",
    "DOB",
    "Gender",
    "Reg Group",
    "Year",
    "FSM",
    "Pupil Premium",
    "SEN Status",
    "EAL",
    "Home Language",
    "Looked After",
    "Address Line 1",
    "Address Line 2",
    "Town",
    "Postcode",
    "Family ID",
    "Contact 1 Name",
    "Contact 1 Relationship",
    "Contact 1 Mobile",
    "Contact 1 Email",
    "Contact 2 Name",
    "Contact 2 Relationship",
    "Contact 2 Mobile",
    "Contact 2 Email",
]
GWEN = ["Gwen Jones", "Mother", "07911 123001", "gwen@example.org"]
HUW = ["Huw Jones", "Father", "07911 123002", ""]
AOIFE = ["Aoife Brennan", "Mother", "07911 123003", ""]
NOBODY = ["", "", "", ""]
SIMS_ROWS = [
    # Siblings in one family (Family ID F100), in different classes.
    ["1001", "A887200121001", "Jones", "Siân", "", "14/03/2021", "F", "RB", "Reception",
     "N", "N", "", "N", "Welsh", "N", "3 Mill Lane", "", "Rochester", "ME1 1AA", "F100",
     *GWEN, *HUW],
    ["1002", "", "Jones", "Dylan", "", "02/10/2017 00:00:00", "M", "4W", "Year 4",
     "Y", "Yes", "K", "N", "Welsh", "N", "3 Mill Lane", "", "Rochester", "ME1 1AA", "F100",
     *GWEN, *HUW],
    # Siblings without a family id, at one address spelt two ways.
    ["1003", "", "Brennan", "Zoë", "Zo", "2021-07-30", "Female", "RB", "R",
     "false", "0", "SEN Support", "Y", "Irish", "N", "Flat 2, 10 High St.", "", "Strood",
     "ME2 3BB", "", *AOIFE, *NOBODY],
    ["1004", "", "Brennan", "Leo", "", "30/11/2017", "m", "4W", "Y4",
     "No", "No", "", "N", "", "True", "flat 2 10 high st", "", "Strood", "me2 3bb", "",
     *AOIFE, *NOBODY],
    # No address: imported without a household.
    ["1005", "", "Hussain", "Amir", "", "05/06/2018", "M", "4W", "4",
     "1", "1", "E", "Y", "Urdu", "N", "", "", "", "", "", *NOBODY, *NOBODY],
    # A date that does not exist: rejected.
    ["1006", "", "Patel", "Anaya", "", "31/02/2020", "F", "RB", "Reception",
     "N", "N", "N", "N", "", "N", "8 Elm Road", "", "Chatham", "ME4 5AA", "", *NOBODY, *NOBODY],
]  # fmt: skip


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def sims_file(encoding: str = "utf-8") -> bytes:
    return csv_text(SIMS_HEADER, SIMS_ROWS).encode(encoding)


def parse(data: bytes, mapping: PupilCsvMapping | None = None) -> PupilCsvResult:
    return parse_pupil_csv(data, mapping or PupilCsvMapping(), academic_year="2026/27")


def pupil(result: PupilCsvResult, mis_id: str) -> PupilRow:
    return next(row for row in result.snapshot.pupils if row.mis_id == mis_id)


# --- the default mapping ------------------------------------------------------------------------


def test_a_sims_report_gives_classes_pupils_and_households() -> None:
    result = parse(sims_file())

    snapshot = result.snapshot
    assert snapshot.academic_year == "2026/27"
    assert [(row.mis_id, row.name, row.year_group) for row in snapshot.classes] == [
        ("RB", "RB", YearGroup.RECEPTION),
        ("4W", "4W", YearGroup.Y4),
    ]
    assert [row.mis_id for row in snapshot.pupils] == ["1001", "1002", "1003", "1004", "1005"]
    assert len(snapshot.households) == 2
    assert [len(row.contacts) for row in snapshot.households] == [2, 1]
    assert result.absent_fields == ["preferred_last_name"]


def test_the_snapshot_validates() -> None:
    snapshot = parse(sims_file()).snapshot

    assert RosterSnapshot.model_validate(snapshot.model_dump()) == snapshot


def test_a_family_id_makes_one_household() -> None:
    result = parse(sims_file())

    sian, dylan = pupil(result, "1001"), pupil(result, "1002")
    assert sian.household_ref == dylan.household_ref == "F100"
    family = result.snapshot.households[0]
    assert (family.mis_id, family.address_line1, family.postcode) == (
        "F100",
        "3 Mill Lane",
        "ME1 1AA",
    )
    gwen, huw = family.contacts
    assert (gwen.name, gwen.relationship, gwen.priority, gwen.mobile) == (
        "Gwen Jones",
        "Mother",
        1,
        "07911 123001",
    )
    assert (gwen.email, gwen.parental_responsibility) == ("gwen@example.org", True)
    assert (huw.name, huw.priority) == ("Huw Jones", 2)


def test_without_a_family_id_pupils_at_one_address_share_a_household() -> None:
    result = parse(sims_file())

    zoe, leo = pupil(result, "1003"), pupil(result, "1004")
    assert zoe.household_ref == leo.household_ref
    assert zoe.household_ref is not None
    assert zoe.household_ref.startswith("addr:")
    home = next(row for row in result.snapshot.households if row.ref == zoe.household_ref)
    assert (home.mis_id, home.address_line1, home.town) == (None, "Flat 2, 10 High St.", "Strood")


def test_a_pupil_without_an_address_has_no_household() -> None:
    result = parse(sims_file())

    assert pupil(result, "1005").household_ref is None
    assert "/rows/5/Address Line 1" in {r.pointer for r in result.rejected}


def test_pupil_details_are_mapped() -> None:
    result = parse(sims_file())

    sian, dylan, zoe, leo, amir = (pupil(result, str(n)) for n in range(1001, 1006))
    assert (sian.legal_first_name, sian.upn, sian.sex) == ("Siân", "A887200121001", Sex.FEMALE)
    assert (sian.date_of_birth, dylan.date_of_birth) == (date(2021, 3, 14), date(2017, 10, 2))
    assert (zoe.preferred_first_name, zoe.date_of_birth) == ("Zo", date(2021, 7, 30))
    assert (dylan.class_mis_id, dylan.free_school_meals, dylan.pupil_premium) == ("4W", True, True)
    assert (sian.free_school_meals, sian.home_language, zoe.eal) == (False, "Welsh", True)
    assert (dylan.send, zoe.send, amir.send, sian.send) == (
        SendStatus.SEN_SUPPORT,
        SendStatus.SEN_SUPPORT,
        SendStatus.EHCP,
        SendStatus.NONE,
    )
    assert (leo.sex, leo.looked_after, zoe.sex) == (Sex.MALE, True, Sex.FEMALE)


def test_a_bad_date_of_birth_rejects_the_row() -> None:
    result = parse(sims_file())

    assert "1006" not in {row.mis_id for row in result.snapshot.pupils}
    reasons = {r.pointer: r.reason for r in result.rejected}
    assert "not a date like 14/03/2019" in reasons["/rows/6/DOB"]
    assert "31/02/2020" not in reasons["/rows/6/DOB"]  # a date of birth is not repeated back


def test_windows_1252_with_crlf_keeps_accented_names() -> None:
    data = sims_file("cp1252")
    assert b"\r\n" in data
    assert "Siân".encode("cp1252") in data

    result = parse(data)

    names = {row.legal_first_name for row in result.snapshot.pupils}
    assert {"Siân", "Zoë"} <= names


def test_a_byte_order_mark_is_ignored() -> None:
    result = parse(b"\xef\xbb\xbf" + sims_file())

    assert pupil(result, "1001").legal_first_name == "Siân"


def test_unreadable_values_are_reported_and_ignored() -> None:
    rows = [list(row) for row in SIMS_ROWS[:1]]
    rows[0][SIMS_HEADER.index("FSM")] = "maybe"
    rows[0][SIMS_HEADER.index("Year")] = "Class 1"
    rows[0][SIMS_HEADER.index("SEN Status")] = "Q"

    result = parse(csv_text(SIMS_HEADER, rows).encode())

    assert pupil(result, "1001").free_school_meals is False
    assert pupil(result, "1001").class_mis_id is None  # its class has no readable year
    assert {"/rows/1/FSM", "/rows/1/Year", "/rows/1/SEN Status", "/rows/1/Reg Group"} <= {
        r.pointer for r in result.rejected
    }
    assert result.snapshot.classes == []
    reasons = " ".join(r.reason for r in result.rejected)
    assert "maybe" not in reasons  # the reasons name the rule, never the value
    assert "Class 1" not in reasons


def test_a_repeated_pupil_is_rejected() -> None:
    result = parse(csv_text(SIMS_HEADER, [SIMS_ROWS[0], SIMS_ROWS[0]]).encode())

    assert len(result.snapshot.pupils) == 1
    assert "/rows/2/Adno" in {r.pointer for r in result.rejected}


# --- custom mappings ------------------------------------------------------------------------------


ARBOR_HEADER = [
    "Student ID",
    "First name",
    "Last name",
    "Date of birth",
    "Registration form",
    "Year group",
    "Primary address line 1",
    "Primary address postcode",
    "Primary contact",
    "Primary contact mobile",
]
ARBOR_MAPPING = PupilCsvMapping(
    mis_id="Student ID",
    legal_first_name="First name",
    legal_last_name="Last name",
    date_of_birth="Date of birth",
    class_name="Registration form",
    year_group="Year group",
    address_line1="Primary address line 1",
    postcode="Primary address postcode",
    contacts=[ContactColumns(name="Primary contact", mobile="Primary contact mobile")],
)


def test_a_custom_mapping_reads_other_headers() -> None:
    rows = [
        ["A1", "Ola", "Nowak", "2019-09-01", "2S", "Year 2", "1 Oak Way", "ME5 8AA", "Ewa", "07911 123010"],
        ["A2", "Ben", "Nowak", "2021-01-02", "RS", "Reception", "1 Oak Way", "ME5 8AA", "Ewa", "07911 123010"],
    ]  # fmt: skip

    result = parse(csv_text(ARBOR_HEADER, rows).encode(), ARBOR_MAPPING)

    snapshot = result.snapshot
    assert [(row.mis_id, row.year_group) for row in snapshot.classes] == [
        ("2S", YearGroup.Y2),
        ("RS", YearGroup.RECEPTION),
    ]
    (home,) = snapshot.households
    assert [(c.name, c.mobile, c.priority) for c in home.contacts] == [("Ewa", "07911 123010", 1)]
    assert RosterSnapshot.model_validate(snapshot.model_dump()) == snapshot


def test_a_mapping_may_be_given_as_json_and_refuses_unknown_fields() -> None:
    mapping = PupilCsvMapping.model_validate({"mis_id": ["Pupil No", "Adno"], "upn": None})
    assert (mapping.mis_id, mapping.upn) == (["Pupil No", "Adno"], [])

    with pytest.raises(ValidationError):
        PupilCsvMapping.model_validate({"adno": "Adno"})


def test_missing_columns_are_listed_with_the_columns_the_file_has() -> None:
    header = ["Surname", "Forename", "Class"]

    with pytest.raises(MissingColumns) as caught:
        parse(csv_text(header, [["Khan", "Zara", "RB"]]).encode())

    detail = caught.value.detail
    assert "'Adno' or 'MIS ID' or 'Admission Number' (for mis_id)" in detail
    assert "'DOB' or 'Date of Birth' (for date_of_birth)" in detail
    assert "Its columns are: 'Surname', 'Forename', 'Class'" in detail
    assert caught.value.status == 422


def test_a_column_named_explicitly_must_be_in_the_file() -> None:
    with pytest.raises(MissingColumns, match="'FSM Eligible' \\(for free_school_meals\\)"):
        parse(sims_file(), PupilCsvMapping(free_school_meals="FSM Eligible"))


def test_header_names_match_ignoring_case_and_spacing() -> None:
    header = ["adno", "LEGAL  SURNAME", "legal forename", "dob"]

    result = parse(csv_text(header, [["9", "Khan", "Zara", "14/03/2021"]]).encode())

    assert pupil(result, "9").legal_last_name == "Khan"
    assert result.snapshot.households == []  # no address columns: nothing to report per row
    assert result.rejected == []
    assert "class_name" in result.absent_fields


def test_a_file_with_only_a_header_is_refused() -> None:
    with pytest.raises(EmptyFile):
        parse(csv_text(SIMS_HEADER, []).encode())


def test_a_file_of_more_rows_than_a_roster_holds_is_refused() -> None:
    rows = [[str(n), "", "Khan", "Zara", "", "14/03/2021"] for n in range(MAX_ROWS + 1)]

    with pytest.raises(TooManyRows, match="more than 20,000 rows"):
        parse(csv_text(SIMS_HEADER[:6], rows).encode())


def test_the_upload_check_reads_the_header_row_only() -> None:
    header = csv_text(SIMS_HEADER, []).encode()
    check_pupil_csv(header + b'\xff\xfe not "csv" at all' * 1000, PupilCsvMapping())

    with pytest.raises(MissingColumns, match="'FSM Eligible'"):
        check_pupil_csv(sims_file(), PupilCsvMapping(free_school_meals="FSM Eligible"))
    with pytest.raises(UnreadableCsv, match="header row is longer than 65,536 bytes"):
        check_pupil_csv(b"Adno," * 20_000, PupilCsvMapping())
    with pytest.raises(UnreadableCsv, match="line 3 contains a character that cannot be stored"):
        check_pupil_csv(header + b"1001,x\r\n1002,\x00\r\n", PupilCsvMapping())


# --- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("Reception", "R"),
        ("R", "R"),
        ("YR", "R"),
        ("Year R", "R"),
        ("FS2", "R"),
        ("N1", "N1"),
        ("Nursery 2", "N2"),
        ("Nursery", "N2"),
        ("F1", "N2"),
        ("Year 3", "3"),
        ("Y3", "3"),
        ("3", "3"),
        ("03", "3"),
        ("NC Year 6", "6"),
        ("year 13", "13"),
        ("Year 14", None),
        ("Class 1", None),
    ],
)
def test_year_groups_are_read_robustly(text: str, year: str | None) -> None:
    assert year_group_from_text(text) == year


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("14/03/2019", date(2019, 3, 14)),
        ("4/3/2019", date(2019, 3, 4)),
        ("14-03-2019", date(2019, 3, 14)),
        ("14.03.2019", date(2019, 3, 14)),
        ("2019-03-14", date(2019, 3, 14)),
        ("14/03/19", date(2019, 3, 14)),
        ("14 Mar 2019", date(2019, 3, 14)),
        ("14/03/2019 00:00:00", date(2019, 3, 14)),
        ("03/14/2019", None),
        ("soon", None),
    ],
)
def test_dates_are_read_day_first_or_iso(text: str, day: date | None) -> None:
    assert date_from_text(text) == day


def test_a_family_without_an_address_keeps_its_household() -> None:
    header = ["Adno", "Legal Surname", "Legal Forename", "DOB", "Family ID"]
    rows = [
        ["1", "Jones", "Siân", "14/03/2021", "F100"],
        ["2", "Jones", "Dylan", "02/10/2017", "F100"],
    ]
    result = parse(csv_text(header, rows).encode())
    (family,) = result.snapshot.households
    assert (family.ref, family.mis_id, family.address_line1, family.postcode) == (
        "F100",
        "F100",
        None,
        None,
    )
    assert {pupil(result, "1").household_ref, pupil(result, "2").household_ref} == {"F100"}
    assert result.rejected == []
