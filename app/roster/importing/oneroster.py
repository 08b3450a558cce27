"""A OneRoster 1.1 or 1.2 CSV bundle (a zip of CSV files) as one school's roster snapshot.

The zip is read in memory, never extracted, and never trusted: `archive` checks its directory
against the caps (entries, unpacked bytes, compression ratio, safe names, no nested archives)
before anything is inflated, and stops any entry that unpacks beyond them whatever it declared.
`check_bundle` is the cheap part, for the upload: the directory, the manifest, orgs.csv and each
file's header row. A file may hold at most `MAX_ROWS` data rows. Files are found by name in any
one folder; names, header names and enum values are case-sensitive, as the standard says. A
byte-order mark is ignored. Rows with `status` "tobedeleted" are skipped; a manifest that marks
a file `delta` is refused, because a snapshot replaces the school's whole roster.

Only manifest.csv is required by the standard; Threshold also needs users.csv and orgs.csv, and
roles.csv for 1.2 (where it carries each user's role and org). Every other file is optional.

Mapping decisions:

- School: the org of type `school` whose `identifier` is `school_urn`, the importing school's
  URN (English MIS exports put the URN or DfE number there); or, without a URN, the only
  school org in orgs.csv. A bundle whose school orgs all name other URNs is another school's
  roster and is refused; a lone school org with a blank identifier is taken as the school.
- Academic year: the `academic_year` argument if given; else the `schoolYear` ("2027" is
  2026/27) of the sessions the school's classes name in `termSourcedIds`, or of all sessions
  if they name none. With several years, the one under way today wins, else the next one
  (pre-term visits prepare it), else the latest.
- Classes: the school's `homeroom` classes (an English primary's registration classes); only
  if it has none, all its classes. `sourcedId` -> mis_id, `title` -> name. The year group comes
  from the class's `grades`, else its course's, else the most common grade of its pupils. CEDS
  codes: `IT` and `PR` (under-threes, preschool) -> N1; `PK` and `TK` (the year before
  kindergarten) -> N2; `KG` -> R; `01`..`13` (or unpadded `1`..`13`) -> 1..13. A mixed-age
  class takes its youngest year group. Class teachers are the users enrolled as `teacher`
  (their `email`); `aide`s and teachers with `primary` false are support staff.
- Pupils: users with role `student` (users.csv `role` in 1.1, roles.csv in 1.2) enrolled in one
  of the school's classes or holding the school among their orgs. `givenName`/`familyName` are
  the legal names, `preferredFirstName` (or the 1.2 CSV's `preferredGivenName`) and
  `preferredLastName`/`preferredFamilyName` the preferred ones; `identifier` is the UPN when it
  has 13 characters (checked by the sync, not here). The class is the pupil's first enrolment
  in one of the classes above. demographics.csv gives `birthDate` (required: without it the
  pupil is rejected) and `sex` (female -> F, male -> M, other/unspecified -> none).
- Pupil extension columns, read from demographics.csv, else from the pupil's users.csv row:
  `metadata.fsm`, `metadata.pupilPremium`, `metadata.eal`, `metadata.lookedAfter` (true/false,
  1/0, Y/N; blank is false), `metadata.send` (none/N, sen_support/K, ehcp/E; blank is none),
  `metadata.homeLanguage` (as given). An unreadable value is reported and read as false/none.
- Households: OneRoster has none, and no addresses. Pupils linked through `agentSourcedIds`
  (on either side: a one-sided link counts) to the same parent, guardian or relative, directly
  or through a chain of shared guardians, form one household. Its ref is "or:" and the smallest
  of its guardians' sourcedIds (hashed if that would be too long); it has no MIS id, so the
  sync matches it by address. The address comes from the first guardian (in contact order)
  whose users.csv row fills `metadata.addressLine1` and `metadata.postcode` (with
  `metadata.addressLine2`, `metadata.town`, `metadata.latitude`, `metadata.longitude`). A
  household with no address (a plain OneRoster bundle) is kept without one, flagged "address
  needed" for the office's data-quality list, and matched only by its ref. A pupil with no
  guardian is rejected at the pupil's `agentSourcedIds` and imported without a household.
- Contacts: the household's guardians, ordered by their place in the pupils'
  `agentSourcedIds` (one-sided links last), numbered from 1. Name "givenName familyName";
  relationship Parent/Guardian/Relative from the role; parental responsibility for parents and
  guardians, not relatives; mobile from `sms`, else `phone`; `email`;
  `metadata.preferredLanguage`, `metadata.interpreterNeeded`, `metadata.smsConsent`.
- Users with `enabledUser` false are ignored, as are links and enrolments to them. Rows that
  are broken in themselves (an unknown role, an enrolment to an unknown class or user, a
  duplicate sourcedId) are rejected with their pointer and the rest goes on.

Rejection pointers are "/<file>/<data row, from 1>/<column>", e.g. "/users.csv/17/email".
"""

import hashlib
import re
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from pydantic import ValidationError

from app.core.csvio import TooManyCsvRows, read_csv, read_csv_header
from app.core.types import YearGroup
from app.roster.importing.archive import ZipLimits, open_zip, read_head, read_member
from app.roster.importing.errors import (
    AcademicYearUnknown,
    EmptyFile,
    ImportRejection,
    MissingColumns,
    MissingFile,
    OtherSchoolBundle,
    SchoolNotIdentified,
    TooManyRows,
    UnreadableCsv,
    UnsafeZipFile,
    UnsupportedBundle,
    build_row,
    pointer,
    snapshot_refused,
)
from app.roster.models import SendStatus, Sex
from app.roster.snapshot import ClassRow, ContactRow, HouseholdRow, PupilRow, RosterSnapshot

MANIFEST = "manifest.csv"
ORGS = "orgs.csv"
SESSIONS = "academicSessions.csv"
COURSES = "courses.csv"
CLASSES = "classes.csv"
USERS = "users.csv"
ENROLLMENTS = "enrollments.csv"
DEMOGRAPHICS = "demographics.csv"
ROLES = "roles.csv"
TABLES = (ORGS, SESSIONS, COURSES, CLASSES, USERS, ENROLLMENTS, DEMOGRAPHICS, ROLES)
V11, V12 = "1.1", "1.2"

# Only the columns Threshold reads; any other column the standard lists may be missing.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    MANIFEST: ("propertyName", "value"),
    ORGS: ("sourcedId", "type"),
    SESSIONS: ("sourcedId", "schoolYear"),
    COURSES: ("sourcedId",),
    CLASSES: ("sourcedId", "title", "schoolSourcedId"),
    USERS: ("sourcedId", "givenName", "familyName"),
    ENROLLMENTS: ("classSourcedId", "userSourcedId", "role"),
    DEMOGRAPHICS: ("sourcedId", "birthDate"),
    ROLES: ("userSourcedId", "role", "orgSourcedId"),
}
V11_USER_COLUMNS = ("role",)
TABLE_NAMES = frozenset(REQUIRED_COLUMNS)
# Unpacked at upload, before the 202: a manifest is a few lines, orgs.csv a few schools.
SMALL_FILE_BYTES = 1024 * 1024
HEADER_BYTES = 64 * 1024
# About what the default cap of unpacked bytes holds of the narrowest file (enrolments); a file
# of a million one-cell rows would cost gigabytes as rows.
MAX_ROWS = 250_000

USER_ROLES = frozenset(
    {
        "administrator",
        "aide",
        "counselor",
        "districtAdministrator",
        "guardian",
        "parent",
        "principal",
        "proctor",
        "relative",
        "siteAdministrator",
        "student",
        "systemAdministrator",
        "teacher",
    }
)
ENROLLMENT_ROLES = frozenset(
    {"administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"}
)
RELATIONSHIPS = {"parent": "Parent", "guardian": "Guardian", "relative": "Relative"}
MAX_CONTACTS = 10

GRADES: dict[str, YearGroup] = {
    "IT": YearGroup.N1,
    "PR": YearGroup.N1,
    "PK": YearGroup.N2,
    "TK": YearGroup.N2,
    "KG": YearGroup.RECEPTION,
    **{f"{n:02d}": YearGroup(str(n)) for n in range(1, 14)},
    **{str(n): YearGroup(str(n)) for n in range(1, 14)},
}
YEAR_ORDER = list(YearGroup)
FLAGS = {"true": True, "1": True, "y": True, "false": False, "0": False, "n": False}
SEND = {
    "none": SendStatus.NONE,
    "n": SendStatus.NONE,
    "sen_support": SendStatus.SEN_SUPPORT,
    "k": SendStatus.SEN_SUPPORT,
    "ehcp": SendStatus.EHCP,
    "e": SendStatus.EHCP,
}
SEXES = {"female": Sex.FEMALE, "male": Sex.MALE, "other": None, "unspecified": None}
UPN_LENGTH = 13
ADDRESS_FIELDS = ("address_line1", "address_line2", "town", "postcode", "latitude", "longitude")
NO_GUARDIAN = (
    "no parent, guardian or relative is linked to this pupil (agentSourcedIds), so there is no "
    "household or address for them"
)
_SCHOOL_YEAR = re.compile(r"^\d{4}$")
_ACADEMIC_YEAR = re.compile(r"^\d{4}/\d{2}$")


@dataclass
class OneRosterResult:
    snapshot: RosterSnapshot
    rejected: list[ImportRejection]
    counts: dict[str, int]
    """Data rows read from each CSV file of the bundle."""
    version: str


def parse_oneroster(
    data: bytes,
    *,
    school_urn: str | None = None,
    academic_year: str | None = None,
    limits: ZipLimits | None = None,
) -> OneRosterResult:
    """One school's roster from a OneRoster CSV bundle; see the module docstring for the mapping.

    `school_urn` is the importing school's URN: a bundle naming only other schools is refused.
    Raises an error from app.roster.importing.errors when the file cannot be imported at all.
    """
    bundle = _load_bundle(data, limits or ZipLimits.from_settings())
    importer = _Importer(bundle, _school(bundle.rows(ORGS), school_urn))
    snapshot = importer.snapshot(academic_year)
    return OneRosterResult(snapshot, importer.rejected, bundle.counts, bundle.version)


def check_bundle(data: bytes, *, school_urn: str | None, limits: ZipLimits) -> None:
    """Refuse at once what can never import, unpacking no more than the manifest, orgs.csv and
    the header row of each other file, each under a small cap: not a zip, unsafe or over the
    caps by its directory, a required file or column missing, another school's bundle. Raises
    the same errors as parse_oneroster."""
    with open_zip(data, limits) as archive:
        bundle = _Zip(archive, limits.max_unpacked_bytes)
        _, version, present = _contents(bundle)
        for name in sorted(present - {ORGS}):
            _check_header(name, bundle.head(name), _required_columns(name, version))
        orgs = _table(ORGS, bundle.read(ORGS, SMALL_FILE_BYTES), REQUIRED_COLUMNS[ORGS])
    _school(_live(orgs), school_urn)


# --- the zip ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    file: str
    number: int
    cells: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.cells.get(column, "").strip()

    def at(self, column: str) -> str:
        return pointer(self.file, self.number, column)

    def ids(self, column: str) -> list[str]:
        """A multi-valued field: comma-separated within its (quoted) cell."""
        return [value.strip() for value in self[column].split(",") if value.strip()]


@dataclass
class _Bundle:
    version: str
    tables: dict[str, list[_Row]]
    counts: dict[str, int]

    def rows(self, file: str) -> list[_Row]:
        return self.tables.get(file, [])


class _Zip:
    """The bundle's files in an open zip, found by name in any folder, read against one budget
    of unpacked bytes."""

    def __init__(self, archive: zipfile.ZipFile, budget: int) -> None:
        self.archive = archive
        self.budget = budget
        self.entries: dict[str, zipfile.ZipInfo] = {}
        members = archive.infolist()
        for info in members:
            name = PurePosixPath(info.filename).name
            if info.is_dir() or info.filename.startswith("__MACOSX/") or name not in TABLE_NAMES:
                continue
            if name in self.entries:
                # Two users.csv in different folders: which one is the roster is anyone's guess.
                raise UnsafeZipFile(info.filename, f"is a second {name} in the bundle")
            self.entries[name] = info
        self.listing = sorted({PurePosixPath(i.filename).name for i in members if not i.is_dir()})

    def read(self, name: str, cap: int | None = None) -> bytes:
        limit = self.budget if cap is None else min(cap, self.budget)
        content = read_member(self.archive, self.entries[name], limit)
        self.budget -= len(content)
        return content

    def head(self, name: str) -> bytes:
        return read_head(self.archive, self.entries[name], HEADER_BYTES)


def _load_bundle(data: bytes, limits: ZipLimits) -> _Bundle:
    with open_zip(data, limits) as archive:
        bundle = _Zip(archive, limits.max_unpacked_bytes)
        manifest_rows, version, present = _contents(bundle)
        tables = {MANIFEST: manifest_rows}
        for name in TABLES:
            if name in present:
                tables[name] = _table(name, bundle.read(name), _required_columns(name, version))
    if not tables[USERS]:
        raise EmptyFile(USERS)
    counts = {name: len(rows) for name, rows in tables.items()}
    return _Bundle(version, {name: _live(rows) for name, rows in tables.items()}, counts)


def _contents(bundle: _Zip) -> tuple[list[_Row], str, set[str]]:
    """The manifest's rows, the OneRoster version, and the files to read besides the manifest."""
    if MANIFEST not in bundle.entries:
        raise MissingFile(
            MANIFEST, "every OneRoster bundle has one, naming its files", bundle.listing
        )
    rows = _table(MANIFEST, bundle.read(MANIFEST, SMALL_FILE_BYTES), REQUIRED_COLUMNS[MANIFEST])
    manifest = {row["propertyName"]: row["value"] for row in rows}
    present = set(bundle.entries) - {MANIFEST}
    version = _version(manifest, present)
    present = _apply_modes(manifest, present, bundle.listing)
    _require_files(present, version, bundle.listing)
    return rows, version, present


# --- the CSV files ------------------------------------------------------------------------------


def _version(manifest: dict[str, str], present: set[str]) -> str:
    declared = manifest.get("oneroster.version", "").strip()
    if not declared:
        return V12 if ROLES in present else V11
    if declared.startswith(V12):
        return V12
    if declared.startswith((V11, "1.0")):
        return V11
    raise UnsupportedBundle(
        f"manifest.csv gives oneroster.version {declared!r}; Threshold reads OneRoster 1.1 and 1.2."
    )


def _apply_modes(manifest: dict[str, str], present: set[str], listing: list[str]) -> set[str]:
    """The files to read: those present that the manifest does not mark absent."""
    kept = set(present)
    for name in TABLES:
        mode = manifest.get(f"file.{name.removesuffix('.csv')}", "").strip().lower()
        if mode == "delta":
            raise UnsupportedBundle(
                f"manifest.csv marks {name} as a delta file. Threshold replaces the school's "
                "whole roster with what the bundle holds, so it needs a bulk export."
            )
        if mode == "absent":
            kept.discard(name)
        elif mode == "bulk" and name not in present:
            raise MissingFile(name, "manifest.csv lists it as a bulk file", listing)
    return kept


def _require_files(present: set[str], version: str, listing: list[str]) -> None:
    needed = {
        USERS: "Threshold reads pupils, staff and guardians from it",
        ORGS: "Threshold reads the school from it",
    }
    if version == V12:
        needed[ROLES] = "OneRoster 1.2 gives users' roles in it"
    for name, why in needed.items():
        if name not in present:
            raise MissingFile(name, why, listing)


def _required_columns(name: str, version: str) -> tuple[str, ...]:
    extra = V11_USER_COLUMNS if name == USERS and version == V11 else ()
    return REQUIRED_COLUMNS[name] + extra


def _table(name: str, content: bytes, required: tuple[str, ...]) -> list[_Row]:
    try:
        rows = read_csv(content, max_rows=MAX_ROWS)
    except TooManyCsvRows:
        raise TooManyRows(
            f"{name} has more than {MAX_ROWS:,} rows; one school's bundle holds far fewer."
        ) from None
    except ValueError as exc:
        raise UnreadableCsv(name, str(exc)) from None
    if rows:
        _require_columns(name, list(rows[0]), required)
    return [_Row(name, number, cells) for number, cells in enumerate(rows, 1)]


def _check_header(name: str, head: bytes, required: tuple[str, ...]) -> None:
    try:
        header = read_csv_header(head, max_bytes=HEADER_BYTES)
    except ValueError as exc:
        raise UnreadableCsv(name, str(exc)) from None
    _require_columns(name, header, required)


def _require_columns(name: str, header: list[str], required: tuple[str, ...]) -> None:
    missing = [f"'{column}'" for column in required if column not in header]
    if missing:
        raise MissingColumns(name, missing, header)


def _live(rows: list[_Row]) -> list[_Row]:
    return [row for row in rows if row["status"].lower() != "tobedeleted"]


# --- the school and its year --------------------------------------------------------------------


def _school(orgs: list[_Row], urn: str | None) -> _Row:
    """The school org the roster is for: the one whose identifier is `urn`, or the only one when
    it gives no identifier at all (the bundle then does not say whose roster it is)."""
    schools = [row for row in orgs if row["type"] == "school"]
    if not schools:
        raise SchoolNotIdentified("orgs.csv has no org of type 'school'.")
    if urn:
        chosen = [row for row in schools if row["identifier"] == urn.strip()]
        if not chosen and len(schools) == 1 and not schools[0]["identifier"]:
            chosen = schools
        if not chosen:
            raise OtherSchoolBundle(urn.strip(), [(r["name"], r["identifier"]) for r in schools])
        schools = chosen
    if len(schools) > 1:
        listing = "; ".join(
            f"{row['name']} (identifier {row['identifier'] or 'blank'})" for row in schools
        )
        raise SchoolNotIdentified(
            f"orgs.csv has {len(schools)} such schools ({listing}): say which by its URN."
        )
    return schools[0]


def _pick_year(years: set[int], today: date) -> int:
    under_way = today.year + (1 if today.month >= 9 else 0)
    if under_way in years:
        return under_way
    later = [year for year in years if year > under_way]
    return min(later) if later else max(years)


def _year_group(grades: Iterable[str]) -> YearGroup | None:
    known = [GRADES[grade] for grade in grades if grade in GRADES]
    return min(known, key=YEAR_ORDER.index) if known else None


# --- the roster ---------------------------------------------------------------------------------


@dataclass(eq=False)  # identity: users are dict keys
class _User:
    row: _Row
    roles: list[tuple[str, str]]
    """(role, org sourcedId or "") pairs: users.csv's role with each of its orgs in 1.1."""

    @property
    def id(self) -> str:
        return self.row["sourcedId"]

    def has_role(self, role: str) -> bool:
        return any(held == role for held, _ in self.roles)

    @property
    def guardian_role(self) -> str | None:
        return next((role for role, _ in self.roles if role in RELATIONSHIPS), None)


@dataclass
class _Class:
    row: _Row
    teachers: list[str] = field(default_factory=list)
    support: list[str] = field(default_factory=list)
    pupils: list[_User] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.row["sourcedId"]


class _Importer:
    """The mapping of one bundle, row by row, collecting rejections as it goes."""

    def __init__(self, bundle: _Bundle, school: _Row) -> None:
        self.bundle = bundle
        self.school = school["sourcedId"]
        self.rejected: list[ImportRejection] = []
        self.users, self.skipped = self._read_users()
        self.courses = {row["sourcedId"]: row for row in bundle.rows(COURSES)}
        self.all_classes: set[str] = set()
        self.school_classes: set[str] = set()
        self.classes = self._read_classes()
        self.enrolled: dict[str, list[str]] = {}
        for row in bundle.rows(ENROLLMENTS) if CLASSES in bundle.tables else []:
            self._enrol(row)

    def reject(self, where: str, reason: str) -> None:
        self.rejected.append(ImportRejection(where, reason))

    def snapshot(self, academic_year: str | None) -> RosterSnapshot:
        year = self._academic_year(academic_year)
        classes = [row for cls in self.classes.values() if (row := self._class_row(cls))]
        class_ids = {row.mis_id for row in classes}
        pupils = self._pupils(class_ids)
        households, refs = self._households(pupils)
        rows = [row.model_copy(update={"household_ref": refs.get(row.mis_id)}) for _, row in pupils]
        try:
            return RosterSnapshot(
                academic_year=year, classes=classes, households=households, pupils=rows
            )
        except ValidationError as exc:
            raise snapshot_refused("The roster", exc) from None

    # users

    def _read_users(self) -> tuple[dict[str, _User], set[str]]:
        users: dict[str, _User] = {}
        skipped: set[str] = set()
        for row in self.bundle.rows(USERS):
            user_id = row["sourcedId"]
            if not user_id or user_id in users or user_id in skipped:
                self.reject(row.at("sourcedId"), _bad_id(user_id))
            elif row["enabledUser"].lower() == "false" or (roles := self._v11_roles(row)) is None:
                skipped.add(user_id)
            else:
                users[user_id] = _User(row, roles)
        if self.bundle.version == V12:
            self._add_v12_roles(users, skipped)
        return users, skipped

    def _v11_roles(self, row: _Row) -> list[tuple[str, str]] | None:
        if self.bundle.version != V11:
            return []
        role = row["role"]
        if not _known(role, USER_ROLES):
            self.reject(row.at("role"), _unknown_role(role, USER_ROLES, "the user was left out"))
            return None
        return [(role, org) for org in row.ids("orgSourcedIds")] or [(role, "")]

    def _add_v12_roles(self, users: dict[str, _User], skipped: set[str]) -> None:
        for row in self.bundle.rows(ROLES):
            user_id, role = row["userSourcedId"], row["role"]
            if user_id in skipped:
                continue
            if user_id not in users:
                self.reject(row.at("userSourcedId"), "names no user in users.csv")
            elif not _known(role, USER_ROLES):
                self.reject(row.at("role"), _unknown_role(role, USER_ROLES, "the row was ignored"))
            else:
                users[user_id].roles.append((role, row["orgSourcedId"]))

    # classes and enrolments

    def _read_classes(self) -> dict[str, _Class]:
        """The school's classes the snapshot lists, by sourcedId."""
        ours: list[_Class] = []
        for row in self.bundle.rows(CLASSES):
            if not row["sourcedId"] or row["sourcedId"] in self.all_classes:
                self.reject(row.at("sourcedId"), _bad_id(row["sourcedId"]))
                continue
            self.all_classes.add(row["sourcedId"])
            if row["schoolSourcedId"] == self.school:
                ours.append(_Class(row))
                self.school_classes.add(row["sourcedId"])
        # In English primaries the registration class is the homeroom; timetabled sets are not.
        homerooms = [cls for cls in ours if cls.row["classType"] == "homeroom"]
        return {cls.id: cls for cls in homerooms or ours}

    def _enrol(self, row: _Row) -> None:
        class_id, user_id, role = row["classSourcedId"], row["userSourcedId"], row["role"]
        if not _known(role, ENROLLMENT_ROLES):
            self.reject(
                row.at("role"), _unknown_role(role, ENROLLMENT_ROLES, "the row was ignored")
            )
        elif class_id not in self.all_classes:
            self.reject(row.at("classSourcedId"), "names no class in classes.csv")
        elif user_id in self.skipped or class_id not in self.school_classes:
            return  # a disabled user, or another school's class
        elif (user := self.users.get(user_id)) is None:
            self.reject(row.at("userSourcedId"), "names no user in users.csv")
        elif role == "student":
            self._enrol_student(row, user)
        elif role in ("teacher", "aide") and class_id in self.classes:
            self._enrol_staff(row, user, self.classes[class_id])

    def _enrol_student(self, row: _Row, user: _User) -> None:
        if not user.has_role("student"):
            self.reject(row.at("userSourcedId"), "enrolled as a student but not one in its roles")
            return
        self.enrolled.setdefault(user.id, []).append(row["classSourcedId"])
        if row["classSourcedId"] in self.classes:
            self.classes[row["classSourcedId"]].pupils.append(user)

    def _enrol_staff(self, row: _Row, user: _User, cls: _Class) -> None:
        email = user.row["email"]
        if not email:
            self.reject(
                user.row.at("email"),
                f"no email, so this {row['role']} cannot be matched to a Threshold sign-in; "
                f"left off the class at {cls.row.at('sourcedId')}",
            )
            return
        support = row["role"] == "aide" or row["primary"].lower() == "false"
        staff = cls.support if support else cls.teachers
        if email not in staff:
            staff.append(email)

    def _class_row(self, cls: _Class) -> ClassRow | None:
        year = self._class_year(cls)
        if year is None:
            self.reject(
                cls.row.at("grades"),
                "no year group: neither the class's grades, its course's, nor its pupils' give "
                "one (KG for Reception, 01..13, PK for Nursery); the class was not imported",
            )
            return None
        data = {
            "mis_id": cls.id,
            "name": cls.row["title"],
            "year_group": year,
            "teacher_emails": cls.teachers,
            "support_staff_emails": cls.support,
        }
        where = {"mis_id": cls.row.at("sourcedId"), "name": cls.row.at("title")}
        return build_row(
            ClassRow, data, where=where, default=cls.row.at("sourcedId"), rejected=self.rejected
        )

    def _class_year(self, cls: _Class) -> YearGroup | None:
        course = self.courses.get(cls.row["courseSourcedId"])
        pupil_years = Counter(_year_group(pupil.row.ids("grades")) for pupil in cls.pupils)
        pupil_years.pop(None, None)
        return (
            _year_group(cls.row.ids("grades"))
            or (_year_group(course.ids("grades")) if course else None)
            or (pupil_years.most_common(1)[0][0] if pupil_years else None)
        )

    def _academic_year(self, given: str | None) -> str:
        if given:
            if not _ACADEMIC_YEAR.match(given):
                raise AcademicYearUnknown(f"{given!r} is not an academic year like 2026/27.")
            return given
        years = self._school_years()
        if not years:
            raise AcademicYearUnknown(
                "academicSessions.csv gives no schoolYear for the school's classes: say which "
                "academic year the roster is for."
            )
        end = _pick_year(years, date.today())
        return f"{end - 1}/{end % 100:02d}"

    def _school_years(self) -> set[int]:
        sessions = self.bundle.rows(SESSIONS)
        named = {term for cls in self.classes.values() for term in cls.row.ids("termSourcedIds")}
        chosen = [row for row in sessions if row["sourcedId"] in named] or sessions
        years: set[int] = set()
        for row in chosen:
            if _SCHOOL_YEAR.match(row["schoolYear"]):
                years.add(int(row["schoolYear"]))
            else:
                self.reject(row.at("schoolYear"), "not a year like 2027 (for 2026/27); ignored")
        return years

    # pupils

    def _pupils(self, class_ids: set[str]) -> list[tuple[_User, PupilRow]]:
        demographics = self._demographics()
        pupils: list[tuple[_User, PupilRow]] = []
        for user in self.users.values():
            if self._is_pupil(user):
                row = self._pupil(user, demographics.get(user.id), class_ids)
                if row is not None:
                    pupils.append((user, row))
        return pupils

    def _is_pupil(self, user: _User) -> bool:
        at_school = ("student", self.school) in user.roles
        return user.has_role("student") and (user.id in self.enrolled or at_school)

    def _demographics(self) -> dict[str, _Row]:
        found: dict[str, _Row] = {}
        for row in self.bundle.rows(DEMOGRAPHICS):
            if row["sourcedId"] in found:
                self.reject(row.at("sourcedId"), "a second row for this user; ignored")
            else:
                found[row["sourcedId"]] = row
        return found

    def _pupil(self, user: _User, demo: _Row | None, class_ids: set[str]) -> PupilRow | None:
        born = self._birth_date(user, demo)
        if born is None:
            return None
        sources = [row for row in (demo, user.row) if row is not None]
        names = user.row
        preferred_first = _first_filled(names, "preferredFirstName", "preferredGivenName")
        preferred_last = _first_filled(names, "preferredLastName", "preferredFamilyName")
        data: dict[str, Any] = {
            "mis_id": user.id,
            "upn": names["identifier"] if len(names["identifier"]) == UPN_LENGTH else None,
            "legal_first_name": names["givenName"],
            "legal_last_name": names["familyName"],
            "preferred_first_name": names[preferred_first] or None,
            "preferred_last_name": names[preferred_last] or None,
            "date_of_birth": born,
            "sex": self._sex(demo),
            "class_mis_id": next(
                (c for c in self.enrolled.get(user.id, []) if c in class_ids), None
            ),
            "free_school_meals": self._flag(sources, "metadata.fsm"),
            "pupil_premium": self._flag(sources, "metadata.pupilPremium"),
            "send": self._send(sources),
            "eal": self._flag(sources, "metadata.eal"),
            "home_language": _meta(sources, "metadata.homeLanguage")[0] or None,
            "looked_after": self._flag(sources, "metadata.lookedAfter"),
        }
        where = {
            "upn": names.at("identifier"),
            "legal_first_name": names.at("givenName"),
            "legal_last_name": names.at("familyName"),
            "preferred_first_name": names.at(preferred_first),
            "preferred_last_name": names.at(preferred_last),
            "home_language": _meta(sources, "metadata.homeLanguage")[1],
        }
        default = names.at("sourcedId")
        return build_row(PupilRow, data, where=where, default=default, rejected=self.rejected)

    def _birth_date(self, user: _User, demo: _Row | None) -> date | None:
        if demo is None:
            self.reject(
                user.row.at("sourcedId"),
                "no demographics.csv row for this student, so no birth date; not imported",
            )
            return None
        text = demo["birthDate"]
        try:
            return date.fromisoformat(text)
        except ValueError:
            reason = "not a date like 2020-09-01" if text else "no birth date"
            self.reject(demo.at("birthDate"), f"{reason}; the pupil was not imported")
            return None

    def _sex(self, demo: _Row | None) -> Sex | None:
        text = demo["sex"] if demo else ""
        if text and text.lower() not in SEXES:
            self.reject(
                demo.at("sex") if demo else "",
                "not a OneRoster sex (female, male, other, unspecified); ignored",
            )
        return SEXES.get(text.lower())

    def _flag(self, sources: list[_Row], column: str) -> bool:
        text, where = _meta(sources, column)
        if text and text.lower() not in FLAGS:
            self.reject(where, "not true/false, 1/0 or Y/N; read as false")
        return FLAGS.get(text.lower(), False)

    def _send(self, sources: list[_Row]) -> SendStatus:
        text, where = _meta(sources, "metadata.send")
        if text and text.lower() not in SEND:
            self.reject(where, "not none, sen_support or ehcp (N, K, E); read as none")
        return SEND.get(text.lower(), SendStatus.NONE)

    # households

    def _households(
        self, pupils: list[tuple[_User, PupilRow]]
    ) -> tuple[list[HouseholdRow], dict[str, str]]:
        links = self._guardian_links([user for user, _ in pupils])
        households: list[HouseholdRow] = []
        refs: dict[str, str] = {}
        for members in _linked_groups(links):
            household = self._household(members, links)
            if household is not None:
                households.append(household)
                refs.update((member.id, household.ref) for member in members)
        return households, refs

    def _guardian_links(self, pupils: list[_User]) -> dict[_User, dict[_User, tuple[int, int]]]:
        """For each pupil, its guardians and their rank: place in the pupil's agentSourcedIds,
        or after those when only the guardian names the pupil (a one-sided link)."""
        links: dict[_User, dict[_User, tuple[int, int]]] = {pupil: {} for pupil in pupils}
        by_id = {pupil.id: pupil for pupil in pupils}
        for pupil in pupils:
            for place, agent_id in enumerate(pupil.row.ids("agentSourcedIds")):
                agent = self.users.get(agent_id)
                if agent is None and agent_id not in self.skipped:
                    self.reject(
                        pupil.row.at("agentSourcedIds"),
                        f"id number {place + 1} of the list names no user in users.csv",
                    )
                elif agent is not None and agent.guardian_role:
                    links[pupil].setdefault(agent, (0, place))
        for guardian in self.users.values():
            for pupil_id in guardian.row.ids("agentSourcedIds") if guardian.guardian_role else []:
                if pupil_id in by_id:
                    links[by_id[pupil_id]].setdefault(guardian, (1, 0))
        return links

    def _household(
        self, members: list[_User], links: dict[_User, dict[_User, tuple[int, int]]]
    ) -> HouseholdRow | None:
        ranks: dict[_User, tuple[int, int, str]] = {}
        for member in members:
            for guardian, (side, place) in links[member].items():
                ranks[guardian] = min(ranks.get(guardian, (9, 0, "")), (side, place, guardian.id))
        guardians = sorted(ranks, key=ranks.__getitem__)
        if not guardians:
            for member in members:
                self.reject(member.row.at("agentSourcedIds"), NO_GUARDIAN)
            return None
        for extra in guardians[MAX_CONTACTS:]:
            self.reject(
                extra.row.at("sourcedId"), f"a household has at most {MAX_CONTACTS} contacts"
            )
        contacts = [self._contact(g, n) for n, g in enumerate(guardians[:MAX_CONTACTS], 1)]
        data: dict[str, Any] = {
            "ref": _household_ref(guardians),
            "contacts": [contact for contact in contacts if contact is not None],
        }
        # Without an address the household is still kept, flagged "address needed".
        home = _home(guardians)
        if home is None:
            return build_row(
                HouseholdRow,
                data,
                where={},
                default=guardians[0].row.at("sourcedId"),
                rejected=self.rejected,
            )
        data |= {
            "address_line1": home["metadata.addressLine1"],
            "address_line2": home["metadata.addressLine2"] or None,
            "town": home["metadata.town"] or None,
            "postcode": home["metadata.postcode"],
            "latitude": home["metadata.latitude"] or None,
            "longitude": home["metadata.longitude"] or None,
        }
        where = {name: home.at(f"metadata.{_camel(name)}") for name in ADDRESS_FIELDS}
        return build_row(
            HouseholdRow, data, where=where, default=home.at("sourcedId"), rejected=self.rejected
        )

    def _contact(self, guardian: _User, priority: int) -> ContactRow | None:
        row = guardian.row
        role = guardian.guardian_role or "relative"
        mobile = "sms" if row["sms"] else "phone"
        data = {
            "mis_id": guardian.id,
            "name": f"{row['givenName']} {row['familyName']}".strip(),
            "relationship": RELATIONSHIPS[role],
            "priority": priority,
            "parental_responsibility": role != "relative",
            "mobile": row[mobile] or None,
            "email": row["email"] or None,
            "preferred_language": row["metadata.preferredLanguage"] or None,
            "interpreter_needed": self._flag([row], "metadata.interpreterNeeded"),
            "sms_consent": self._flag([row], "metadata.smsConsent"),
        }
        where = {
            "name": row.at("givenName"),
            "mobile": row.at(mobile),
            "email": row.at("email"),
            "preferred_language": row.at("metadata.preferredLanguage"),
        }
        return build_row(
            ContactRow, data, where=where, default=row.at("sourcedId"), rejected=self.rejected
        )


def _known(value: str, allowed: frozenset[str]) -> bool:
    # The standard lets a bundle extend its enumerations with values prefixed "ext:".
    return value in allowed or value.startswith("ext:")


def _bad_id(value: str) -> str:
    said = "this sourcedId is used by an earlier row" if value else "no sourcedId"
    return f"{said}; the row was left out"


def _unknown_role(role: str, allowed: frozenset[str], outcome: str) -> str:
    listed = ", ".join(sorted(allowed))
    return f"not a OneRoster role ({listed}; case-sensitive); {outcome}"


def _first_filled(row: _Row, *columns: str) -> str:
    return next((column for column in columns if row[column]), columns[0])


def _meta(sources: list[_Row], column: str) -> tuple[str, str]:
    """The first filled cell of `column` among `sources`, and its pointer."""
    for row in sources:
        if row[column]:
            return row[column], row.at(column)
    return "", sources[0].at(column) if sources else ""


def _linked_groups(links: dict[_User, dict[_User, tuple[int, int]]]) -> list[list[_User]]:
    """Pupils who share a guardian, directly or through a chain of them, in first-pupil order."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]  # path halving keeps the chains short
            key = parent[key]
        return key

    for pupil, guardians in links.items():
        for guardian in guardians:
            parent[root("p:" + pupil.id)] = root("g:" + guardian.id)
    groups: dict[str, list[_User]] = {}
    for pupil in links:
        groups.setdefault(root("p:" + pupil.id), []).append(pupil)
    return list(groups.values())


def _home(guardians: list[_User]) -> _Row | None:
    """The first guardian row that gives an address (the standard has no address fields)."""
    rows = (guardian.row for guardian in guardians)
    return next((r for r in rows if r["metadata.addressLine1"] and r["metadata.postcode"]), None)


def _household_ref(guardians: list[_User]) -> str:
    # Stable while the household keeps its first guardian, whatever order the file lists them in.
    smallest = min(guardian.id for guardian in guardians)
    ref = "or:" + smallest
    if len(ref) > 64:
        ref = "or:" + hashlib.sha256(smallest.encode()).hexdigest()[:32]
    return ref


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)
