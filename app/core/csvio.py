"""CSV in and out: files as schools' MIS reports export them, and exports safe to open in Excel."""

import codecs
import csv
import io
from collections.abc import Iterable, Sequence

from app.core.storable import MESSAGE, unstorable


def decode_text(data: bytes) -> str:
    """Text of an uploaded file: UTF-8 with or without a byte-order mark, else Windows-1252.

    MIS report exports on Windows are often Windows-1252 ("Siân", "Zoë"); a file that is not
    valid UTF-8 is read as that rather than refused. Line endings are left to the csv module.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> str:
    """A cell Excel will not run as a formula (OWASP CSV injection): text that starts like one
    is prefixed with a quote. Numbers are written as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text with CRLF line endings, as Excel writes it; every cell goes through neutralise_cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutralise_cell(name) for name in header])
    for row in rows:
        writer.writerow([neutralise_cell(cell) for cell in row])
    return out.getvalue()


def read_csv(data: bytes) -> list[dict[str, str]]:
    """The rows of an uploaded CSV file as dicts keyed by the header row's (stripped) names.

    Rows that are entirely blank are skipped; a short row has "" for its missing cells. Raises
    ValueError for a file with no header row, a header naming a column twice, a row with more
    filled cells than the header has names, a cell the database could not store (a NUL: see
    core/storable.py), or text the csv module cannot parse.
    """
    text = decode_text(data)
    # newline="" leaves line endings to the csv module, which keeps quoted newlines in cells.
    reader = csv.DictReader(io.StringIO(text, newline=""), restval="")
    # Cells are searched one by one only to say where, in the rare file that has one.
    suspect = unstorable(text)
    try:
        reader.fieldnames = _header(reader.fieldnames)
        rows = [_cells(row, reader.line_num, suspect) for row in reader]
    except csv.Error as exc:
        raise ValueError(f"line {reader.line_num} of the file is not valid CSV: {exc}") from None
    return [row for row in rows if any(cell.strip() for cell in row.values())]


def _header(names: Sequence[str] | None) -> list[str]:
    header = [name.strip() for name in names or ()]
    if not any(header):
        raise ValueError("the file has no header row")
    for number, name in enumerate(header, start=1):
        if unstorable(name):
            # Named by position: the name itself is what cannot be stored (or shown).
            raise ValueError(f"column {number} of the header row {MESSAGE}")
    named = [name for name in header if name]
    for name in named:
        if named.count(name) > 1:
            # DictReader would silently keep only the last of the columns.
            raise ValueError(f"the header row names the column '{name}' more than once")
    return header


def _cells(row: dict[str | None, str | list[str]], line: int, suspect: bool) -> dict[str, str]:
    # DictReader files cells beyond the header's names under the key None.
    extra = row.pop(None, [])
    if any(cell.strip() for cell in extra):
        raise ValueError(f"line {line} has more cells than the header row has names")
    cells = {
        name: cell for name, cell in row.items() if isinstance(name, str) and isinstance(cell, str)
    }
    for name, cell in cells.items() if suspect else ():
        if unstorable(cell):
            raise ValueError(f"line {line}, column '{name}' {MESSAGE}")
    return cells
