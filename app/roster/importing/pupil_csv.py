"""A plain pupil list, one row per pupil, as schools export it from an MIS report, as a snapshot.

`PupilCsvMapping` names, for each Threshold field, the file's column (or the first of several
that the file has). Its defaults match common SIMS and Arbor report headers. Column names are
matched ignoring case and repeated spaces, because report headers are typed by hand.

A column the caller names explicitly must be in the file; a default column the file lacks is
simply not read (the result lists such fields in `absent_fields`). mis_id, the legal names and
the date of birth are always required.

Mapping decisions:

- Text is UTF-8 (with or without a byte-order mark) or else Windows-1252, as Excel on Windows
  saves it; line endings may be CRLF or LF.
- Dates are UK day-first: dd/mm/yyyy (also with - or . between, a two-digit year meaning 20yy
  or 19yy as Python reads %y, or "14 Mar 2019") or ISO yyyy-mm-dd; a trailing time such as
  Excel's " 00:00:00" is ignored.
- Yes/no columns read Y/N, Yes/No, True/False and 1/0 (any case); blank is no.
- SEN status: K or "SEN Support" -> sen_support; E, EHCP, "EHC Plan" (and the statements S
  that EHC plans replaced) -> ehcp; blank, N or None -> none.
- Gender: M/Male/Boy -> M, F/Female/Girl -> F; blank, U, X, Unknown, Other -> none.
- Year: "Reception"/"Rec"/"R"/"YR"/"Year R"/"F2"/"FS2" -> R; "N1"/"Nursery 1" -> N1;
  "N2"/"Nursery 2"/"Nursery"/"F1"/"FS1" (the nursery year before Reception) -> N2; "Year 3",
  "Y3", "3", "03", "NC Year 3" -> 3, up to 13.
- Classes: one per distinct value of the class column (its mis_id and name); its year group is
  the most common year of its pupils (the youngest on a tie). A class whose year cannot be
  told is rejected and its pupils imported without a class.
- Households: pupils with the same Family ID (used as the household's ref and MIS id); else
  pupils at the same address line 1 and postcode (ignoring case, spacing and punctuation, as
  the sync does), ref "addr:" and a hash of those. The address is the first of the household's
  rows that gives line 1 and postcode. A family none of whose rows gives one (or a file with
  Family IDs and no address columns) is kept without an address, flagged "address needed" as
  a plain OneRoster household is; the sync then leaves any address the office gave it. A pupil
  with neither a family id nor an address is imported without a household.
- Contacts: the "Contact n ..." column groups of every row of the household, merged by name and
  mobile, ordered by n (Contact 1 first), numbered from 1; parental responsibility is assumed
  unless a column says otherwise.
- UPN and phone numbers are passed on as written: the sync checks them.

Rejection pointers are "/rows/<data row, from 1; blank rows not counted>/<column name>".
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from app.core.csvio import TooManyCsvRows, read_csv, read_csv_header
from app.core.storable import MESSAGE
from app.core.types import YearGroup
from app.roster.importing.errors import (
    EmptyFile,
    ImportRejection,
    MissingColumns,
    TooManyRows,
    UnreadableCsv,
    build_row,
    pointer,
    snapshot_refused,
)
from app.roster.models import SendStatus, Sex
from app.roster.snapshot import ClassRow, ContactRow, HouseholdRow, PupilRow, RosterSnapshot
from app.roster.sync import address_key

FILE = "The pupil list"
REQUIRED_FIELDS = ("mis_id", "legal_first_name", "legal_last_name", "date_of_birth")
MAX_CONTACTS = 10
# Twice the pupils a snapshot may hold, leaving room for rows that are rejected.
MAX_ROWS = 20_000
YEAR_ORDER = list(YearGroup)

T = TypeVar("T")


def _column_names(value: object) -> object:
    # One name, several to try in turn, or none (not mapped).
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


ColumnNames = Annotated[list[str], BeforeValidator(_column_names)]


class ContactColumns(BaseModel):
    """The columns of one contact ("Contact 1 Name", "Contact 1 Mobile"...)."""

    model_config = ConfigDict(extra="forbid")

    name: ColumnNames = []
    relationship: ColumnNames = []
    mobile: ColumnNames = []
    email: ColumnNames = []
    parental_responsibility: ColumnNames = []
    preferred_language: ColumnNames = []
    sms_consent: ColumnNames = []

    @classmethod
    def numbered(cls, n: int) -> "ContactColumns":
        return cls(
            name=[f"Contact {n} Name"],
            relationship=[f"Contact {n} Relationship"],
            mobile=[f"Contact {n} Mobile", f"Contact {n} Phone"],
            email=[f"Contact {n} Email"],
            parental_responsibility=[f"Contact {n} Parental Responsibility"],
            preferred_language=[f"Contact {n} Language"],
            sms_consent=[f"Contact {n} SMS Consent"],
        )


class PupilCsvMapping(BaseModel):
    """Which column of the file holds each Threshold field: one name or several to try."""

    model_config = ConfigDict(extra="forbid")

    mis_id: ColumnNames = ["Adno", "MIS ID", "Admission Number"]
    upn: ColumnNames = ["UPN"]
    legal_first_name: ColumnNames = ["Legal Forename", "Forename"]
    legal_last_name: ColumnNames = ["Legal Surname", "Surname"]
    preferred_first_name: ColumnNames = ["Preferred Forename"]
    preferred_last_name: ColumnNames = ["Preferred Surname"]
    date_of_birth: ColumnNames = ["DOB", "Date of Birth"]
    sex: ColumnNames = ["Gender", "Sex"]
    class_name: ColumnNames = ["Reg Group", "Class", "Registration Group"]
    year_group: ColumnNames = ["Year", "Year Group", "NC Year"]
    free_school_meals: ColumnNames = ["FSM"]
    pupil_premium: ColumnNames = ["Pupil Premium"]
    send: ColumnNames = ["SEN Status", "SEN"]
    eal: ColumnNames = ["EAL"]
    home_language: ColumnNames = ["Home Language", "First Language"]
    looked_after: ColumnNames = ["Looked After", "In Care"]
    address_line1: ColumnNames = ["Address Line 1"]
    address_line2: ColumnNames = ["Address Line 2"]
    town: ColumnNames = ["Town"]
    postcode: ColumnNames = ["Postcode"]
    family_id: ColumnNames = ["Family ID"]
    contacts: list[ContactColumns] = Field(
        default_factory=lambda: [ContactColumns.numbered(1), ContactColumns.numbered(2)]
    )


@dataclass
class PupilCsvResult:
    snapshot: RosterSnapshot
    rejected: list[ImportRejection]
    absent_fields: list[str] = field(default_factory=list)
    """Fields whose default columns the file does not have, so were not read."""


def parse_pupil_csv(data: bytes, mapping: PupilCsvMapping, *, academic_year: str) -> PupilCsvResult:
    """One school's roster from a pupil-list CSV; see the module docstring for the mapping.

    Raises an error from app.roster.importing.errors when the file cannot be imported at all.
    """
    try:
        rows = read_csv(data, max_rows=MAX_ROWS)
    except TooManyCsvRows:
        raise TooManyRows(
            f"{FILE} has more than {MAX_ROWS:,} rows; a school's roster holds far fewer."
        ) from None
    except ValueError as exc:
        raise UnreadableCsv(FILE, str(exc)) from None
    if not rows:
        raise EmptyFile(FILE)
    columns, absent = _resolve(mapping, list(rows[0]))
    reader = _PupilList(columns)
    snapshot = reader.snapshot(rows, academic_year)
    return PupilCsvResult(snapshot, reader.rejected, absent)


def check_pupil_csv(data: bytes, mapping: PupilCsvMapping) -> None:
    """Refuse at once, from its header row alone (and a scan for NUL bytes), a file that can
    never import: no header, without a column the mapping needs, or holding a NUL. Raises the
    same errors as parse_pupil_csv."""
    nul = data.find(b"\x00")
    if nul >= 0:
        # A NUL cannot be stored: refused now, by its line, rather than by the job.
        line = data.count(b"\n", 0, nul) + 1
        raise UnreadableCsv(FILE, f"line {line} {MESSAGE}")
    try:
        header = read_csv_header(data)
    except ValueError as exc:
        raise UnreadableCsv(FILE, str(exc)) from None
    _resolve(mapping, header)


# --- values -------------------------------------------------------------------------------------


def _key(text: str) -> str:
    return " ".join(text.casefold().replace("_", " ").split())


@dataclass(frozen=True)
class Vocabulary(Generic[T]):
    """The words a column may hold (matched ignoring case), what blank means, and a hint."""

    words: dict[str, T]
    blank: T
    hint: str


YES_NO = Vocabulary(
    {
        **dict.fromkeys(("y", "yes", "true", "1"), True),
        **dict.fromkeys(("n", "no", "false", "0"), False),
    },
    False,
    "Y/N, Yes/No, True/False or 1/0",
)
# Assumed unless a column says otherwise: most contacts a school holds are parents.
PARENTAL_RESPONSIBILITY = Vocabulary(YES_NO.words, True, YES_NO.hint)
SEXES = Vocabulary[Sex | None](
    {
        **dict.fromkeys(("m", "male", "boy"), Sex.MALE),
        **dict.fromkeys(("f", "female", "girl"), Sex.FEMALE),
        **dict.fromkeys(("u", "x", "unknown", "not known", "other"), None),
    },
    None,
    "M, F or U",
)
SEND = Vocabulary(
    {
        **dict.fromkeys(("n", "no", "none"), SendStatus.NONE),
        **dict.fromkeys(("k", "sen support", "sen_support"), SendStatus.SEN_SUPPORT),
        **dict.fromkeys(("e", "ehcp", "ehc plan", "s", "statement"), SendStatus.EHCP),
    },
    SendStatus.NONE,
    "K/SEN Support, E/EHCP or N",
)
YEAR_WORDS = {
    **dict.fromkeys(
        ("r", "rec", "reception", "yr", "f2", "fs2", "foundation 2"), YearGroup.RECEPTION
    ),
    **dict.fromkeys(("n1", "nursery 1"), YearGroup.N1),
    **dict.fromkeys(("n2", "nursery 2", "nursery", "f1", "fs1", "foundation 1"), YearGroup.N2),
}
_YEAR_PREFIX = re.compile(r"^(?:nc year|ncy|year|yr|y)\s*")
_TRAILING_TIME = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%y", "%d %b %Y", "%d %B %Y")


def year_group_from_text(text: str) -> YearGroup | None:
    """The year group a pupil list writes as "Reception", "Year 3", "Y3", "03", "N2"..."""
    key = _key(text).replace("-", " ")
    if key in YEAR_WORDS:
        return YEAR_WORDS[key]
    key = _YEAR_PREFIX.sub("", key)
    if key in YEAR_WORDS:
        return YEAR_WORDS[key]
    if key.isdigit() and 1 <= int(key) <= 13:
        return YearGroup(str(int(key)))
    return None


def date_from_text(text: str) -> date | None:
    """A date written day-first (14/03/2019) or ISO (2019-03-14); None if it is neither."""
    text = _TRAILING_TIME.sub("", text.strip())
    for form in DATE_FORMATS:
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None


def _placed(row: PupilRow, class_ids: set[str], refs: dict[str, str]) -> PupilRow:
    """The pupil in its household, and in its class unless the class was rejected."""
    class_id = row.class_mis_id if row.class_mis_id in class_ids else None
    return row.model_copy(update={"class_mis_id": class_id, "household_ref": refs.get(row.mis_id)})


# --- columns ------------------------------------------------------------------------------------


@dataclass
class _Columns:
    fields: dict[str, str]
    """Threshold field -> the file's column name, for the fields the file has."""
    contacts: list[dict[str, str]]


def _resolve(mapping: PupilCsvMapping, header: list[str]) -> tuple[_Columns, list[str]]:
    named = {_key(name): name for name in header if name}
    fields: dict[str, str] = {}
    missing: list[str] = []
    absent: list[str] = []
    wanted = set(REQUIRED_FIELDS) | mapping.model_fields_set
    for name, candidates in mapping.model_dump(exclude={"contacts"}).items():
        found = next((named[_key(c)] for c in candidates if _key(c) in named), None)
        if found:
            fields[name] = found
        elif candidates and name in wanted:
            missing.append(f"{_either(candidates)} (for {name})")
        elif candidates:
            absent.append(name)
    contacts = [
        _contact_columns(c, named, "contacts" in mapping.model_fields_set, missing)
        for c in mapping.contacts
    ]
    if missing:
        raise MissingColumns(FILE, missing, header, case_sensitive=False)
    return _Columns(fields, [c for c in contacts if c]), absent


def _contact_columns(
    columns: ContactColumns, named: dict[str, str], explicit: bool, missing: list[str]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, candidates in columns.model_dump().items():
        column = next((named[_key(c)] for c in candidates if _key(c) in named), None)
        if column:
            found[name] = column
        elif candidates and explicit and name in columns.model_fields_set:
            missing.append(f"{_either(candidates)} (for a contact's {name})")
    return found


def _either(candidates: list[str]) -> str:
    return " or ".join(f"'{name}'" for name in candidates)


# --- rows ---------------------------------------------------------------------------------------


@dataclass
class _Contact:
    rank: tuple[int, int]
    number: int
    columns: dict[str, str]
    data: dict[str, Any]

    def at(self, name: str) -> str:
        return pointer("rows", self.number, self.columns.get(name, name))


@dataclass
class _Pupil:
    number: int
    cells: dict[str, str]
    row: PupilRow


class _PupilList:
    """The mapping of one file, row by row, collecting rejections as it goes."""

    def __init__(self, columns: _Columns) -> None:
        self.columns = columns
        self.rejected: list[ImportRejection] = []

    def reject(self, where: str, reason: str) -> None:
        self.rejected.append(ImportRejection(where, reason))

    def at(self, number: int, name: str) -> str:
        return pointer("rows", number, self.columns.fields.get(name, name))

    def cell(self, cells: dict[str, str], name: str) -> str:
        column = self.columns.fields.get(name)
        return cells.get(column, "").strip() if column else ""

    def snapshot(self, rows: list[dict[str, str]], academic_year: str) -> RosterSnapshot:
        pupils = self._pupils(rows)
        classes = self._classes(pupils)
        households, refs = self._households(pupils)
        class_ids = {row.mis_id for row in classes}
        final = [_placed(pupil.row, class_ids, refs) for pupil in pupils]
        try:
            return RosterSnapshot(
                academic_year=academic_year, classes=classes, households=households, pupils=final
            )
        except ValidationError as exc:
            raise snapshot_refused("The pupil list", exc) from None

    # pupils

    def _pupils(self, rows: list[dict[str, str]]) -> list[_Pupil]:
        pupils: list[_Pupil] = []
        seen: set[str] = set()
        for number, cells in enumerate(rows, 1):
            mis_id = self.cell(cells, "mis_id")
            if mis_id in seen:
                self.reject(self.at(number, "mis_id"), "this mis_id is on an earlier row; left out")
            elif (row := self._pupil(number, cells)) is not None:
                seen.add(mis_id)
                pupils.append(_Pupil(number, cells, row))
        return pupils

    def _pupil(self, number: int, cells: dict[str, str]) -> PupilRow | None:
        born = self._birth_date(number, cells)
        if born is None:
            return None

        def text(name: str) -> str | None:
            return self.cell(cells, name) or None

        def value(name: str, vocabulary: Vocabulary[T]) -> T:
            return self._choice(self.at(number, name), self.cell(cells, name), vocabulary)

        data: dict[str, Any] = {
            "mis_id": self.cell(cells, "mis_id"),
            "upn": text("upn"),
            "legal_first_name": self.cell(cells, "legal_first_name"),
            "legal_last_name": self.cell(cells, "legal_last_name"),
            "preferred_first_name": text("preferred_first_name"),
            "preferred_last_name": text("preferred_last_name"),
            "date_of_birth": born,
            "sex": value("sex", SEXES),
            "class_mis_id": text("class_name"),
            "free_school_meals": value("free_school_meals", YES_NO),
            "pupil_premium": value("pupil_premium", YES_NO),
            "send": value("send", SEND),
            "eal": value("eal", YES_NO),
            "home_language": text("home_language"),
            "looked_after": value("looked_after", YES_NO),
        }
        where = {name: self.at(number, name) for name in data}
        where["class_mis_id"] = self.at(number, "class_name")
        default = self.at(number, "mis_id")
        return build_row(PupilRow, data, where=where, default=default, rejected=self.rejected)

    def _birth_date(self, number: int, cells: dict[str, str]) -> date | None:
        text = self.cell(cells, "date_of_birth")
        born = date_from_text(text) if text else None
        if born is None:
            said = "not a date like 14/03/2019" if text else "no date of birth"
            self.reject(self.at(number, "date_of_birth"), f"{said}; the pupil was not imported")
        return born

    def _choice(self, where: str, text: str, vocabulary: Vocabulary[T]) -> T:
        if not text:
            return vocabulary.blank
        if _key(text) not in vocabulary.words:
            self.reject(where, f"not {vocabulary.hint}; ignored")
            return vocabulary.blank
        return vocabulary.words[_key(text)]

    # classes

    def _classes(self, pupils: list[_Pupil]) -> list[ClassRow]:
        years: dict[str, Counter[YearGroup]] = {}
        first: dict[str, int] = {}
        for pupil in pupils:
            name = pupil.row.class_mis_id
            if name:
                first.setdefault(name, pupil.number)
                year = self._year(pupil)
                years.setdefault(name, Counter()).update([year] if year else [])
        return [row for name in first if (row := self._class(name, years[name], first[name]))]

    def _year(self, pupil: _Pupil) -> YearGroup | None:
        text = self.cell(pupil.cells, "year_group")
        year = year_group_from_text(text) if text else None
        if text and year is None:
            self.reject(
                self.at(pupil.number, "year_group"),
                "not a year group (Reception, Year 3, N2...); ignored",
            )
        return year

    def _class(self, name: str, years: Counter[YearGroup], number: int) -> ClassRow | None:
        if not years:
            self.reject(
                self.at(number, "class_name"),
                "no year group for this class: none of its pupils has a readable year; "
                "the class was not imported",
            )
            return None
        # The most common year; on a tie, the youngest.
        year = min(years, key=lambda y: (-years[y], YEAR_ORDER.index(y)))
        data = {"mis_id": name, "name": name, "year_group": year}
        where = {"mis_id": self.at(number, "class_name"), "name": self.at(number, "class_name")}
        default = self.at(number, "class_name")
        return build_row(ClassRow, data, where=where, default=default, rejected=self.rejected)

    # households

    def _households(self, pupils: list[_Pupil]) -> tuple[list[HouseholdRow], dict[str, str]]:
        fields = self.columns.fields.keys()
        if "family_id" not in fields and not {"address_line1", "postcode"} <= fields:
            return [], {}  # neither family ids nor addresses: nothing to report row by row
        groups: dict[tuple[str, str | None], list[_Pupil]] = {}
        for pupil in pupils:
            key = self._household_key(pupil.cells)
            if key is None:
                self._no_address(pupil)
            else:
                groups.setdefault(key, []).append(pupil)
        households: list[HouseholdRow] = []
        refs: dict[str, str] = {}
        for (ref, mis_id), members in groups.items():
            household = self._household(ref, mis_id, members)
            if household is not None:
                households.append(household)
                refs.update((member.row.mis_id, household.ref) for member in members)
        return households, refs

    def _household_key(self, cells: dict[str, str]) -> tuple[str, str | None] | None:
        family = self.cell(cells, "family_id")
        if family:
            return family, family
        line1, postcode = self.cell(cells, "address_line1"), self.cell(cells, "postcode")
        if line1 and postcode:
            return "addr:" + address_key(line1, postcode.upper())[:24], None
        return None

    def _no_address(self, pupil: _Pupil) -> None:
        self.reject(
            self.at(pupil.number, "address_line1"),
            "no family id and no address (line 1 and postcode), so no household; the pupil is "
            "imported without one",
        )

    def _household(
        self, ref: str, mis_id: str | None, members: list[_Pupil]
    ) -> HouseholdRow | None:
        cell = self.cell
        home = next(
            (m for m in members if cell(m.cells, "address_line1") and cell(m.cells, "postcode")),
            None,
        )
        data: dict[str, Any] = {"ref": ref, "mis_id": mis_id, "contacts": self._contacts(members)}
        if home is not None:
            data |= {
                "address_line1": cell(home.cells, "address_line1"),
                "address_line2": cell(home.cells, "address_line2") or None,
                "town": cell(home.cells, "town") or None,
                "postcode": cell(home.cells, "postcode"),
            }
        # Else a family known by its id alone: kept without an address, as a plain OneRoster
        # household is, so that the sync leaves the address the office gave it.
        number = (home or members[0]).number
        where = {name: self.at(number, name) for name in data}
        where["ref"] = where["mis_id"] = self.at(number, "family_id")
        default = self.at(number, "address_line1")
        return build_row(HouseholdRow, data, where=where, default=default, rejected=self.rejected)

    def _contacts(self, members: list[_Pupil]) -> list[ContactRow]:
        """The contacts of every row of the household, once each, Contact 1s first."""
        found: dict[tuple[str, str], _Contact] = {}
        for member in members:
            for place, columns in enumerate(self.columns.contacts, 1):
                data = self._contact_data(member.number, member.cells, columns)
                if data is None:
                    continue
                key = (_key(data["name"]), re.sub(r"\D", "", data["mobile"] or ""))
                rank = (place, len(found))
                found.setdefault(key, _Contact(rank, member.number, columns, data))
        ordered = sorted(found.values(), key=lambda contact: contact.rank)
        if len(ordered) > MAX_CONTACTS:
            where = ordered[MAX_CONTACTS].at("name")
            self.reject(
                where, f"a household has at most {MAX_CONTACTS} contacts; the rest left out"
            )
        built = (self._contact(c, n) for n, c in enumerate(ordered[:MAX_CONTACTS], 1))
        return [contact for contact in built if contact is not None]

    def _contact(self, contact: _Contact, priority: int) -> ContactRow | None:
        where = {name: contact.at(name) for name in contact.columns}
        data = {**contact.data, "priority": priority}
        default = contact.at("name")
        return build_row(ContactRow, data, where=where, default=default, rejected=self.rejected)

    def _contact_data(
        self, number: int, cells: dict[str, str], columns: dict[str, str]
    ) -> dict[str, Any] | None:
        values = {name: cells.get(column, "").strip() for name, column in columns.items()}
        if not any(values.values()):
            return None
        if not values.get("name"):
            where = pointer("rows", number, columns.get("name", next(iter(columns.values()))))
            self.reject(where, "a contact with no name; left out")
            return None

        def flag(name: str, vocabulary: Vocabulary[bool]) -> bool:
            where = pointer("rows", number, columns.get(name, name))
            return self._choice(where, values.get(name, ""), vocabulary)

        return {
            "name": values["name"],
            "relationship": values.get("relationship") or None,
            "mobile": values.get("mobile") or None,
            "email": values.get("email") or None,
            "preferred_language": values.get("preferred_language") or None,
            "parental_responsibility": flag("parental_responsibility", PARENTAL_RESPONSIBILITY),
            "sms_consent": flag("sms_consent", YES_NO),
        }
