"""Why a roster file cannot be imported: as a whole (an error) or row by row (a rejection).

A file that cannot be imported at all (not a zip, an unsafe or oversized zip, a required file or
column missing, text that is not CSV, no way to tell the school or the year) raises one of the
errors below, answered as problem+json; nothing of it is used. A row that is itself broken is
not an error: the importers record an `ImportRejection` with a JSON pointer to the file, row and
column, leave the row (or just the bad value) out and go on, so that one bad row does not hold
up a school's whole roster.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.core.errors import PayloadTooLarge, Unprocessable, clean_message, joined


class NotAZipFile(Unprocessable):
    type, title = "roster-import-not-zip", "Not a readable zip file"

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            detail
            or "The file is not a zip file: upload the OneRoster bundle as the .zip the "
            "MIS exported."
        )


class UnsafeZipFile(Unprocessable):
    type, title = "roster-import-unsafe-zip", "Unsafe zip file"

    def __init__(self, name: str, why: str) -> None:
        super().__init__(
            f"The zip file holds an entry named '{name}', which {why}; nothing in it was imported.",
            extra={"entry": name},
        )


class ZipTooLarge(PayloadTooLarge):
    type, title = "roster-import-too-large", "Zip file too large when unpacked"


class MissingFile(Unprocessable):
    type, title = "roster-import-missing-file", "Required file missing"

    def __init__(self, file: str, why: str, present: Sequence[str] = ()) -> None:
        held = ", ".join(present) or "no CSV files"
        super().__init__(
            f"The bundle has no {file}: {why}. The zip file holds: {held}.",
            extra={"file": file, "files": list(present)},
        )


class MissingColumns(Unprocessable):
    type, title = "roster-import-missing-columns", "Required columns missing"

    def __init__(
        self,
        file: str,
        missing: Sequence[str],
        present: Sequence[str],
        *,
        case_sensitive: bool = True,
    ) -> None:
        wanted = ", ".join(missing)
        held = ", ".join(f"'{name}'" for name in present if name) or "none"
        note = " (column names are case-sensitive)" if case_sensitive else ""
        super().__init__(
            f"{file} has no column {wanted}{note}. Its columns are: {held}.",
            extra={"file": file, "missing_columns": list(missing), "columns": list(present)},
        )


class UnreadableCsv(Unprocessable):
    type, title = "roster-import-unreadable-csv", "CSV file cannot be read"

    def __init__(self, file: str, why: str) -> None:
        super().__init__(f"{file} cannot be read as CSV: {why}.", extra={"file": file})


class EmptyFile(Unprocessable):
    type, title = "roster-import-empty", "Nothing to import"

    def __init__(self, file: str) -> None:
        # An empty roster applied as a snapshot would take every pupil off roll.
        super().__init__(f"{file} has a header row but no data rows.", extra={"file": file})


class UnsupportedBundle(Unprocessable):
    type, title = "roster-import-unsupported", "Bundle not supported"


class SchoolNotIdentified(Unprocessable):
    type, title = "roster-import-school", "School not identified"


class OtherSchoolBundle(SchoolNotIdentified):
    type, title = "roster-import-other-school", "Another school's roster"

    def __init__(self, urn: str, schools: Sequence[tuple[str, str]]) -> None:
        named = "; ".join(
            f"{name or 'unnamed'} (URN {found or 'blank'})" for name, found in schools
        )
        super().__init__(
            f"This school's URN is {urn}, but the school orgs in orgs.csv are: {named}. The "
            "bundle holds another school's roster; nothing of it was imported.",
            extra={"urn": urn, "bundle_urns": [found for _, found in schools]},
        )


class AcademicYearUnknown(Unprocessable):
    type, title = "roster-import-academic-year", "Academic year unknown"


class TooManyRows(Unprocessable):
    type, title = "roster-import-too-many-rows", "Too many rows"


def snapshot_refused(source: str, exc: ValidationError) -> TooManyRows:
    """A produced roster the snapshot schema refuses as a whole (too many pupils, say), told by
    where and which rule: pydantic's own text of the error would repeat the rows themselves."""
    problems = joined(
        [
            f"{'/'.join(str(part) for part in error['loc']) or 'roster'}: "
            f"{clean_message(error['msg'])}"
            for error in exc.errors()[:3]
        ]
    )
    return TooManyRows(f"{source} cannot be taken as a snapshot: {problems}.")


@dataclass(frozen=True)
class ImportRejection:
    """A row, or one value of it, left out: where it is in the upload, and why."""

    pointer: str
    reason: str


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) into an upload: "/users.csv/17/email", "/rows/3/Reg~1Class"."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


Row = TypeVar("Row", bound=BaseModel)


def build_row(
    model: type[Row],
    data: dict[str, Any],
    *,
    where: Mapping[str, str],
    default: str,
    rejected: list[ImportRejection],
) -> Row | None:
    """`data` as a snapshot row, or None with the reasons recorded in `rejected`.

    The snapshot schema is the judge, so that a produced snapshot always validates. A bad value
    of an optional field (an over-long email, a latitude off the map) is left out and reported
    rather than losing the whole row; a bad required value loses the row. `where` gives the
    pointer of each field's source cell; `default` is used for the others.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
    fields = [str(error["loc"][0]) if error["loc"] else "" for error in errors]
    required = {name for name, info in model.model_fields.items() if info.is_required()}
    keep = all(name and name not in required for name in fields)
    outcome = "the value was left out" if keep else "the row was not imported"
    for name, error in zip(fields, errors, strict=True):
        reason = f"{name or 'row'}: {clean_message(error['msg']).rstrip('. ')}; {outcome}"
        rejected.append(ImportRejection(where.get(name, default), reason))
    if not keep:
        return None
    try:
        return model.model_validate({k: v for k, v in data.items() if k not in fields})
    except ValidationError:
        rejected.append(ImportRejection(default, "the row was not imported"))
        return None
