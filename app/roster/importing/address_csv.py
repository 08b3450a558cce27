"""The office's CSV of home addresses, one row per family, keyed by the school's MIS family id.

A plain OneRoster feed carries no addresses, so its households arrive flagged "address needed";
the office gives them their addresses in one file rather than one PATCH each. Column names are
matched ignoring case, spaces and punctuation, so the household's field names and the headings
of a pupil-list report are both read:

- family_id (or "Family ID", or mis_family_id as the data-quality list names it): required
- address_line1 (or "Address Line 1", "line1") and postcode: required in every row
- address_line2 (or "line2") and town: optional; a blank cell means none
- latitude and longitude: optional, both columns or neither; a blank pair means none

Other columns are ignored. The file is checked whole here; the service then looks the family ids
up. Every fault is reported as a pointer "#/rows/<data row, from 1; blank rows not counted>/
<the file's column name>", the same rows as a pupil list's, and nothing is written unless every
row is right.
"""

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import StringConstraints, ValidationError

from app.core.csvio import TooManyCsvRows, read_csv, read_csv_header
from app.core.errors import clean_message, json_pointer
from app.core.schemas import Input
from app.core.types import Postcode
from app.roster.importing.errors import EmptyFile, MissingColumns, TooManyRows, UnreadableCsv
from app.roster.schemas import AddressLine1, AddressLine2, Latitude, Longitude, Town

FILE = "The address list"
# A school has a few thousand families; the request's size cap (1 MiB) holds about this many.
MAX_ROWS = 20_000
ADDRESS_FIELDS = ("address_line1", "address_line2", "town", "postcode")
COORDINATES = ("latitude", "longitude")
REQUIRED = ("family_id", "address_line1", "postcode")
# Column names, compacted as _compact does, and the field each holds.
COLUMNS = {
    "familyid": "family_id",
    "misfamilyid": "family_id",
    "addressline1": "address_line1",
    "line1": "address_line1",
    "addressline2": "address_line2",
    "line2": "address_line2",
    "town": "town",
    "postcode": "postcode",
    "latitude": "latitude",
    "longitude": "longitude",
}


class AddressRow(Input):
    family_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    address_line1: AddressLine1
    address_line2: AddressLine2 | None = None
    town: Town | None = None
    postcode: Postcode
    latitude: Latitude | None = None
    longitude: Longitude | None = None


@dataclass(frozen=True)
class FamilyAddress:
    """One row of the file: a family and the household columns its address sets."""

    number: int
    family_id: str
    values: dict[str, Any]


@dataclass
class AddressFile:
    columns: dict[str, str]
    """Field -> the file's column name, for the fields the file has."""
    rows: list[FamilyAddress] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def has_coordinates(self) -> bool:
        return "latitude" in self.columns

    def at(self, number: int, name: str) -> str:
        return json_pointer("rows", number, self.columns.get(name, name))

    def refuse(self, number: int, name: str, detail: str) -> None:
        self.errors.append({"pointer": self.at(number, name), "detail": detail})


def parse_addresses(data: bytes) -> AddressFile:
    """Every row of the file, checked; raises an error of app.roster.importing.errors when the
    file as a whole cannot be read (not CSV, a required column missing, no rows, too many)."""
    try:
        columns = _columns(read_csv_header(data))
        rows = read_csv(data, max_rows=MAX_ROWS)
    except TooManyCsvRows:
        raise TooManyRows(
            f"{FILE} has more than {MAX_ROWS:,} rows; send a school's families only."
        ) from None
    except ValueError as exc:
        raise UnreadableCsv(FILE, str(exc)) from None
    if not rows:
        raise EmptyFile(FILE)
    parsed = AddressFile(columns)
    first_row_of: dict[str, int] = {}
    for number, cells in enumerate(rows, 1):
        family_id = cells.get(columns["family_id"], "").strip()
        first = first_row_of.setdefault(family_id, number) if family_id else number
        if first != number:
            parsed.refuse(
                number, "family_id", f"this family id is on row {first} too; give each family once"
            )
        row = _row(parsed, number, cells)
        if row is not None and first == number:
            parsed.rows.append(row)
    return parsed


def _compact(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.casefold())


def _columns(header: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in header:
        wanted = COLUMNS.get(_compact(name))
        if wanted is None:
            continue
        if wanted in found:
            raise UnreadableCsv(
                FILE, f"the columns '{found[wanted]}' and '{name}' both give the {wanted}"
            )
        found[wanted] = name
    missing = [name for name in REQUIRED if name not in found]
    if ("latitude" in found) != ("longitude" in found):
        missing.append("longitude" if "latitude" in found else "latitude")
    if missing:
        raise MissingColumns(FILE, missing, header, case_sensitive=False)
    return found


def _row(parsed: AddressFile, number: int, cells: dict[str, str]) -> FamilyAddress | None:
    data = {name: cells.get(column, "").strip() or None for name, column in parsed.columns.items()}
    blank = [name for name in REQUIRED if data.get(name) is None]
    for name in blank:
        parsed.refuse(number, name, "blank; every row needs a family id, line 1 and a postcode")
    if (data.get("latitude") is None) != (data.get("longitude") is None):
        blank.append("coordinates")
        parsed.refuse(
            number,
            "longitude" if data.get("longitude") is None else "latitude",
            "blank; give both latitude and longitude, or neither",
        )
    if blank:
        return None
    try:
        row = AddressRow.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            # Named by place and rule: pydantic's message never repeats the value given.
            parsed.refuse(number, str(error["loc"][0]), clean_message(error["msg"]))
        return None
    names = ADDRESS_FIELDS + (COORDINATES if parsed.has_coordinates else ())
    return FamilyAddress(number, row.family_id, {name: getattr(row, name) for name in names})
