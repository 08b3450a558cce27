"""OneRoster 1.1 and 1.2 CSV bundles read into a roster snapshot for one school."""

import io
import zipfile
from datetime import date

import pytest

from app.core.types import YearGroup
from app.roster.importing import oneroster
from app.roster.importing.archive import ZipLimits
from app.roster.importing.errors import (
    AcademicYearUnknown,
    MissingColumns,
    MissingFile,
    NotAZipFile,
    OtherSchoolBundle,
    SchoolNotIdentified,
    TooManyRows,
    UnsafeZipFile,
    UnsupportedBundle,
    ZipTooLarge,
)
from app.roster.importing.oneroster import OneRosterResult, check_bundle, parse_oneroster
from app.roster.models import SendStatus, Sex
from app.roster.snapshot import HouseholdRow, PupilRow, RosterSnapshot
from tests.roster.importing.bombs import MIB, deflated, zeros, zip_entries
from tests.roster.importing.bundles import (
    SCHOOL_ID,
    SCHOOL_URN,
    Bundle,
    Table,
    csv_bytes,
    make_upn,
    plain_oneroster,
    primary_school,
    zip_bundle,
    zip_of,
)
from tests.roster.importing.test_archive import bounded

VERSIONS = ["1.1", "1.2"]


def parse(
    bundle: Bundle, *, school_urn: str | None = None, academic_year: str | None = None
) -> OneRosterResult:
    data = zip_bundle(bundle)
    return parse_oneroster(data, school_urn=school_urn, academic_year=academic_year)


def pupil(result: OneRosterResult, mis_id: str) -> PupilRow:
    return next(row for row in result.snapshot.pupils if row.mis_id == mis_id)


def household_of(result: OneRosterResult, mis_id: str) -> HouseholdRow:
    ref = pupil(result, mis_id).household_ref
    return next(row for row in result.snapshot.households if row.ref == ref)


def pointers(result: OneRosterResult) -> set[str]:
    return {rejection.pointer for rejection in result.rejected}


# --- mapping ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_primary_school_bundle_gives_its_whole_roster(version: str) -> None:
    result = parse(primary_school(version))

    snapshot = result.snapshot
    assert result.version == version
    assert snapshot.academic_year == "2026/27"
    assert [row.name for row in snapshot.classes] == ["Robins", "1 Oak", "3 Willow"]
    assert [row.mis_id for row in snapshot.pupils] == ["s1", "s2", "s3", "s4", "s5", "s6", "s7"]
    assert len(snapshot.households) == 4
    assert sum(len(row.contacts) for row in snapshot.households) == 5
    assert result.counts["users.csv"] == 17
    assert result.counts["enrollments.csv"] == 14


@pytest.mark.parametrize("version", VERSIONS)
def test_the_snapshot_validates(version: str) -> None:
    snapshot = parse(primary_school(version)).snapshot

    assert RosterSnapshot.model_validate(snapshot.model_dump()) == snapshot


@pytest.mark.parametrize("version", VERSIONS)
def test_siblings_in_different_classes_share_one_household(version: str) -> None:
    result = parse(primary_school(version))

    zara, adam = pupil(result, "s1"), pupil(result, "s4")
    assert (zara.class_mis_id, adam.class_mis_id) == ("c-robins", "c-3willow")
    assert zara.household_ref == adam.household_ref == "or:g1"
    home = household_of(result, "s1")
    assert (home.address_line1, home.town, home.postcode) == (
        "12 Station Road",
        "Rochester",
        "ME2 2AB",
    )
    assert (home.latitude, home.longitude) == (51.39, 0.5)
    assert home.mis_id is None


@pytest.mark.parametrize("version", VERSIONS)
def test_contacts_come_from_the_guardians_in_agent_order(version: str) -> None:
    result = parse(primary_school(version))

    aisha, omar = household_of(result, "s1").contacts
    assert (aisha.name, aisha.relationship, aisha.priority) == ("Aisha Khan", "Parent", 1)
    assert (aisha.mobile, aisha.email, aisha.sms_consent) == (
        "07911 123456",
        "aisha@example.org",
        True,
    )
    assert (omar.name, omar.priority, omar.mobile) == ("Omar Khan", 2, "+44 7824 555123")
    assert aisha.mis_id == "g1"
    (marta,) = household_of(result, "s5").contacts
    assert (marta.relationship, marta.parental_responsibility) == ("Relative", False)
    assert household_of(result, "s6").ref == household_of(result, "s5").ref


@pytest.mark.parametrize("version", VERSIONS)
def test_a_link_given_only_by_the_guardian_counts(version: str) -> None:
    result = parse(primary_school(version))

    home = household_of(result, "s3")
    assert home.ref == "or:g4"
    assert [contact.name for contact in home.contacts] == ["Rhys Evans"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_pupil_without_a_guardian_has_no_household(version: str) -> None:
    result = parse(primary_school(version))

    assert pupil(result, "s7").household_ref is None
    assert "/users.csv/7/agentSourcedIds" in pointers(result)


@pytest.mark.parametrize("version", VERSIONS)
def test_year_groups_come_from_grades_then_the_course(version: str) -> None:
    classes = parse(primary_school(version)).snapshot.classes

    assert [row.year_group for row in classes] == [YearGroup.RECEPTION, YearGroup.Y1, YearGroup.Y3]


@pytest.mark.parametrize(
    ("grades", "year"),
    [
        ("IT", "N1"),
        ("PR", "N1"),
        ("PK", "N2"),
        ("KG", "R"),
        ("06", "6"),
        ("13", "13"),
        ("02,01", "1"),
    ],
)
def test_ceds_grades_map_to_english_year_groups(grades: str, year: str) -> None:
    bundle = primary_school()
    bundle["classes.csv"].row("sourcedId", "c-robins")["grades"] = grades

    assert parse(bundle).snapshot.classes[0].year_group == year


def test_a_class_whose_year_cannot_be_told_is_rejected() -> None:
    bundle = primary_school()
    bundle["classes.csv"].row("sourcedId", "c-3willow")["courseSourcedId"] = ""
    for row in bundle["users.csv"].rows:
        row["grades"] = ""

    result = parse(bundle)

    assert [row.mis_id for row in result.snapshot.classes] == ["c-robins", "c-1oak"]
    assert "/classes.csv/3/grades" in pointers(result)
    assert pupil(result, "s7").class_mis_id is None


@pytest.mark.parametrize("version", VERSIONS)
def test_teachers_and_support_staff_come_from_enrolments(version: str) -> None:
    robins, oak, willow = parse(primary_school(version)).snapshot.classes

    assert robins.teacher_emails == ["h.price@oakfield.example.org"]
    assert robins.support_staff_emails == ["s.jones@oakfield.example.org"]
    assert oak.teacher_emails == ["d.shaw@oakfield.example.org"]
    assert willow.teacher_emails == ["p.patel@oakfield.example.org"]


def test_homeroom_classes_are_preferred_to_scheduled_ones() -> None:
    result = parse(primary_school())

    assert "c-phonics" not in {row.mis_id for row in result.snapshot.classes}
    assert pupil(result, "s3").class_mis_id == "c-1oak"


def test_scheduled_classes_are_used_when_there_is_no_homeroom() -> None:
    bundle = primary_school()
    for row in bundle["classes.csv"].rows:
        row["classType"] = "scheduled"

    assert len(parse(bundle).snapshot.classes) == 4


@pytest.mark.parametrize("version", VERSIONS)
def test_pupil_details_come_from_users_and_demographics(version: str) -> None:
    result = parse(primary_school(version))

    zara, tobi, adam, jakub = (pupil(result, sid) for sid in ("s1", "s2", "s4", "s6"))
    assert (zara.legal_first_name, zara.legal_last_name) == ("Zara", "Khan")
    assert zara.upn == make_upn(1)
    assert zara.date_of_birth == date(2022, 3, 14)
    assert (zara.sex, tobi.sex) == (Sex.FEMALE, Sex.MALE)
    assert (zara.free_school_meals, zara.pupil_premium, zara.eal) == (True, True, True)
    assert zara.home_language == "Urdu"
    assert (tobi.free_school_meals, tobi.eal, tobi.send) == (False, False, SendStatus.SEN_SUPPORT)
    assert (adam.send, jakub.send) == (SendStatus.EHCP, SendStatus.SEN_SUPPORT)
    assert jakub.free_school_meals is True
    assert zara.preferred_first_name == ("Zee" if version == "1.2" else None)


def test_an_identifier_that_is_not_a_upn_is_not_taken_as_one() -> None:
    bundle = primary_school()
    bundle["users.csv"].row("sourcedId", "s2")["identifier"] = "ADNO-0042"

    assert pupil(parse(bundle), "s2").upn is None


@pytest.mark.parametrize("version", VERSIONS)
def test_disabled_users_are_ignored(version: str) -> None:
    bundle = primary_school(version)
    bundle["users.csv"].row("sourcedId", "g3")["enabledUser"] = "false"

    result = parse(bundle)

    assert "s8" not in {row.mis_id for row in result.snapshot.pupils}
    assert pupil(result, "s2").household_ref is None  # its only guardian has gone too
    assert not any("s8" in rejection.reason for rejection in result.rejected)


def test_rows_marked_to_be_deleted_are_skipped() -> None:
    bundle = primary_school()
    bundle["users.csv"].row("sourcedId", "s7")["status"] = "tobedeleted"

    assert "s7" not in {row.mis_id for row in parse(bundle).snapshot.pupils}


@pytest.mark.parametrize("version", VERSIONS)
def test_a_missing_birth_date_rejects_the_pupil(version: str) -> None:
    bundle = primary_school(version)
    bundle["demographics.csv"].row("sourcedId", "s2")["birthDate"] = ""
    bundle["demographics.csv"].rows.remove(bundle["demographics.csv"].row("sourcedId", "s5"))

    result = parse(bundle)

    assert {"s2", "s5"}.isdisjoint(row.mis_id for row in result.snapshot.pupils)
    assert {"/demographics.csv/2/birthDate", "/users.csv/5/sourcedId"} <= pointers(result)
    assert pupil(result, "s6").household_ref is not None  # the sibling keeps the household


def test_broken_rows_are_rejected_and_the_rest_imported() -> None:
    bundle = primary_school()
    enrolments = bundle["enrollments.csv"].rows
    enrolments.append({"classSourcedId": "c-nowhere", "userSourcedId": "s1", "role": "student"})
    enrolments.append({"classSourcedId": "c-1oak", "userSourcedId": "s1", "role": "Student"})
    enrolments.append({"classSourcedId": "c-1oak", "userSourcedId": "ghost", "role": "student"})
    bundle["users.csv"].row("sourcedId", "s7")["role"] = "pupil"

    result = parse(bundle)

    assert {
        "/enrollments.csv/15/classSourcedId",
        "/enrollments.csv/16/role",
        "/enrollments.csv/17/userSourcedId",
        "/users.csv/7/role",
    } <= pointers(result)
    assert len(result.snapshot.pupils) == 6
    assert pupil(result, "s1").class_mis_id == "c-robins"


def test_a_household_without_an_address_is_kept_without_one() -> None:
    bundle = primary_school()
    bundle["users.csv"].row("sourcedId", "g5")["metadata.postcode"] = ""

    result = parse(bundle)

    household = household_of(result, "s5")
    assert household.address_line1 is None
    assert household.postcode is None
    assert household.contacts
    assert pupil(result, "s6").household_ref == household.ref
    # Only s7, who has no guardian at all, is still without a household.
    assert {p for p in pointers(result) if p.endswith("agentSourcedIds")} == {
        "/users.csv/7/agentSourcedIds"
    }
    assert len(result.snapshot.households) == 4


@pytest.mark.parametrize("version", VERSIONS)
def test_a_plain_bundle_without_address_columns_gives_every_household(version: str) -> None:
    bundle = plain_oneroster(primary_school(version))

    result = parse(bundle)

    assert pointers(result) == {"/users.csv/7/agentSourcedIds"}  # s7: no guardian
    assert len(result.snapshot.households) == 4
    assert all(h.address_line1 is None for h in result.snapshot.households)
    assert all(p.household_ref for p in result.snapshot.pupils if p.mis_id != "s7")


def test_a_bad_optional_value_is_left_out_and_reported() -> None:
    bundle = primary_school()
    bundle["users.csv"].row("sourcedId", "g1")["metadata.latitude"] = "91.5"
    bundle["demographics.csv"].row("sourcedId", "s2")["metadata.fsm"] = "maybe"

    result = parse(bundle)

    assert household_of(result, "s1").latitude is None
    assert pupil(result, "s2").free_school_meals is False
    assert {"/users.csv/9/metadata.latitude", "/demographics.csv/2/metadata.fsm"} <= pointers(
        result
    )


def test_a_byte_order_mark_and_either_line_ending_are_read() -> None:
    for crlf in (True, False):
        result = parse_oneroster(zip_bundle(primary_school(), bom=True, crlf=crlf))

        assert len(result.snapshot.pupils) == 7
        assert len(result.snapshot.households) == 4


def test_files_in_a_folder_are_found() -> None:
    data = zip_bundle(primary_school())
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr("oakfield-export/" + info.filename, source.read(info))

    assert len(parse_oneroster(out.getvalue()).snapshot.pupils) == 7


# --- the school and the year ----------------------------------------------------------------------


def _second_school(bundle: Bundle) -> None:
    bundle["orgs.csv"].rows.append(
        {"sourcedId": "org-elm", "name": "Elm Primary", "type": "school", "identifier": "149999"}
    )


def test_the_school_is_chosen_by_its_urn_when_there_are_several() -> None:
    bundle = primary_school()
    _second_school(bundle)

    with pytest.raises(SchoolNotIdentified, match="Elm Primary"):
        parse(bundle)
    assert len(parse(bundle, school_urn=SCHOOL_URN).snapshot.pupils) == 7
    assert parse(bundle, school_urn="149999").snapshot.pupils == []


def test_an_unknown_urn_is_refused() -> None:
    with pytest.raises(SchoolNotIdentified, match="999999"):
        parse(primary_school(), school_urn="999999")


def test_another_schools_bundle_is_refused_naming_both_urns() -> None:
    with pytest.raises(OtherSchoolBundle) as caught:
        parse(primary_school(), school_urn="149999")
    assert "149999" in caught.value.detail
    assert f"Oakfield Primary School (URN {SCHOOL_URN})" in caught.value.detail
    assert caught.value.extra == {"urn": "149999", "bundle_urns": [SCHOOL_URN]}


def test_a_lone_school_without_an_identifier_is_taken_as_the_urns() -> None:
    bundle = primary_school()
    bundle["orgs.csv"].row("sourcedId", SCHOOL_ID)["identifier"] = ""

    assert len(parse(bundle, school_urn="149999").snapshot.pupils) == 7


def test_the_academic_year_argument_wins() -> None:
    assert parse(primary_school(), academic_year="2027/28").snapshot.academic_year == "2027/28"


def test_without_sessions_the_academic_year_must_be_given() -> None:
    bundle = primary_school()
    del bundle["academicSessions.csv"]
    bundle["manifest.csv"].row("propertyName", "file.academicSessions")["value"] = "absent"

    with pytest.raises(AcademicYearUnknown):
        parse(bundle)
    assert parse(bundle, academic_year="2026/27").snapshot.academic_year == "2026/27"


# --- files that cannot be imported ----------------------------------------------------------------


def test_bytes_that_are_not_a_zip_are_refused() -> None:
    with pytest.raises(NotAZipFile) as caught:
        parse_oneroster(b"sourcedId,givenName\r\ns1,Zara\r\n")
    assert caught.value.status == 422


@pytest.mark.parametrize(
    "name", ["../evil.csv", "/abs.csv", "a\\b.csv", "C:/users.csv", "x/../../y.csv"]
)
def test_unsafe_entry_names_refuse_the_whole_file(name: str) -> None:
    with pytest.raises(UnsafeZipFile) as caught:
        parse_oneroster(zip_of({"manifest.csv": b"propertyName,value\r\n", name: b"x"}))
    assert name in caught.value.detail


def test_too_many_entries_are_refused() -> None:
    files = {f"extra{n}.txt": b"" for n in range(60)}

    with pytest.raises(ZipTooLarge) as caught:
        parse_oneroster(zip_of(files))
    assert caught.value.status == 413


def test_an_entry_declaring_more_than_the_cap_is_refused_before_reading() -> None:
    data = zip_bundle(primary_school())

    with pytest.raises(ZipTooLarge, match="at most 1,000 are accepted"):
        parse_oneroster(data, limits=ZipLimits(max_unpacked_bytes=1_000, max_ratio=100))


def test_an_entry_unpacking_beyond_its_declared_size_is_stopped() -> None:
    # A zip bomb that lies: users.csv's headers declare 10 bytes, its data unpacks to 1 MB.
    # Reading stops at the declared size, and the checksum of what was read then fails.
    content = b"a" * 1_000_000
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.csv", b"propertyName,value\r\n")
        archive.writestr("orgs.csv", csv_bytes(primary_school()["orgs.csv"]))
        archive.writestr("users.csv", content)
    data = bytearray(out.getvalue())
    size = len(content).to_bytes(4, "little")
    for at in _all(data, size):  # the local and the central headers
        data[at : at + 4] = (10).to_bytes(4, "little")

    with pytest.raises((ZipTooLarge, NotAZipFile)):
        parse_oneroster(bytes(data), limits=ZipLimits(max_unpacked_bytes=100_000, max_ratio=100))


def _all(data: bytearray, needle: bytes) -> list[int]:
    found, at = [], data.find(needle)
    while at >= 0:
        found.append(at)
        at = data.find(needle, at + 1)
    return found


def test_a_file_of_more_rows_than_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oneroster, "MAX_ROWS", 16)  # the manifest has 16 rows; users.csv 17

    with pytest.raises(TooManyRows, match=r"users\.csv has more than 16 rows"):
        parse(primary_school())


def test_a_bundle_without_users_is_refused() -> None:
    bundle = primary_school()
    del bundle["users.csv"]
    bundle["manifest.csv"].row("propertyName", "file.users")["value"] = "absent"

    with pytest.raises(MissingFile, match=r"users\.csv"):
        parse(bundle)


def test_a_file_the_manifest_lists_but_the_zip_lacks_is_refused() -> None:
    bundle = primary_school()
    del bundle["demographics.csv"]

    with pytest.raises(MissingFile, match=r"demographics\.csv"):
        parse(bundle)


def test_a_bundle_without_a_manifest_is_refused() -> None:
    bundle = primary_school()
    del bundle["manifest.csv"]

    with pytest.raises(MissingFile, match=r"manifest\.csv"):
        parse(bundle)


def test_a_1_2_bundle_needs_roles() -> None:
    bundle = primary_school("1.2")
    del bundle["roles.csv"]
    bundle["manifest.csv"].row("propertyName", "file.roles")["value"] = "absent"

    with pytest.raises(MissingFile, match=r"roles\.csv"):
        parse(bundle)


def test_a_delta_bundle_is_refused() -> None:
    bundle = primary_school()
    bundle["manifest.csv"].row("propertyName", "file.users")["value"] = "delta"

    with pytest.raises(UnsupportedBundle, match="bulk"):
        parse(bundle)


def test_a_missing_column_is_named_with_its_file() -> None:
    bundle = primary_school()
    users = bundle["users.csv"]
    bundle["users.csv"] = Table([c for c in users.header if c != "familyName"], users.rows)

    with pytest.raises(MissingColumns) as caught:
        parse(bundle)
    assert "users.csv" in caught.value.detail
    assert "'familyName'" in caught.value.detail
    assert caught.value.extra["missing_columns"] == ["'familyName'"]


def test_header_names_are_case_sensitive() -> None:
    bundle = primary_school()
    demographics = bundle["demographics.csv"]
    header = ["BirthDate" if c == "birthDate" else c for c in demographics.header]
    rows = [
        {("BirthDate" if k == "birthDate" else k): v for k, v in r.items()}
        for r in demographics.rows
    ]
    bundle["demographics.csv"] = Table(header, rows)

    with pytest.raises(MissingColumns, match=r"demographics\.csv"):
        parse(bundle)


def test_the_school_org_must_exist() -> None:
    bundle = primary_school()
    bundle["orgs.csv"].row("sourcedId", SCHOOL_ID)["type"] = "School"

    with pytest.raises(SchoolNotIdentified):
        parse(bundle)


# --- the checks made at upload ------------------------------------------------------------------

LIMITS = ZipLimits(max_unpacked_bytes=32 * MIB, max_ratio=100)


def test_the_upload_check_passes_a_good_bundle() -> None:
    for version in VERSIONS:
        check_bundle(zip_bundle(primary_school(version)), school_urn=SCHOOL_URN, limits=LIMITS)


def test_the_upload_check_refuses_another_schools_bundle() -> None:
    with pytest.raises(OtherSchoolBundle, match="149999"):
        check_bundle(zip_bundle(primary_school()), school_urn="149999", limits=LIMITS)


def test_the_upload_check_refuses_a_missing_column_from_the_header_row() -> None:
    bundle = primary_school()
    enrolments = bundle["enrollments.csv"]
    bundle["enrollments.csv"] = Table(
        [c for c in enrolments.header if c != "role"], enrolments.rows
    )

    with pytest.raises(MissingColumns, match=r"enrollments\.csv has no column 'role'"):
        check_bundle(zip_bundle(bundle), school_urn=SCHOOL_URN, limits=LIMITS)


def test_the_upload_check_refuses_a_missing_file() -> None:
    bundle = primary_school()
    del bundle["orgs.csv"]

    with pytest.raises(MissingFile, match=r"orgs\.csv"):
        check_bundle(zip_bundle(bundle), school_urn=SCHOOL_URN, limits=LIMITS)


def test_the_upload_check_unpacks_only_header_rows() -> None:
    # users.csv is its header and then 24 MiB (within the caps, with a lenient ratio): the
    # check reads the header row and no further.
    header = csv_bytes(Table(primary_school()["users.csv"].header))
    files = {name: csv_bytes(table) for name, table in primary_school().items()}
    entries = [deflated(name, content) for name, content in files.items() if name != "users.csv"]
    entries.append(zeros("users.csv", 24, head=header))
    lenient = ZipLimits(max_unpacked_bytes=32 * MIB, max_ratio=10_000)

    with bounded(seconds=1, bytes_allocated=4 * MIB):
        check_bundle(zip_entries(entries), school_urn=SCHOOL_URN, limits=lenient)
