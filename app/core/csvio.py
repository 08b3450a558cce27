"""CSV in and out: files as schools' MIS reports export them, and exports safe to open in Excel."""

import codecs
import csv
import io
from collections.abc import Iterable, Mapping, Sequence

from starlette.responses import Response

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


class TooManyCsvRows(ValueError):
    """More data rows than the reader was told to hold."""


def csv_download(text: str, filename: str, headers: Mapping[str, str] | None = None) -> Response:
    """An export as a file to save: never cached on the way, since every export holds
    families' or pupils' data."""
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{filename}"',
            **(headers or {}),
        },
    )


def read_csv(data: bytes, *, max_rows: int | None = None) -> list[dict[str, str]]:
    """The rows of an uploaded CSV file as dicts keyed by the header row's (stripped) names.

    Rows that are entirely blank are skipped; a short row has "" for its missing cells. Raises
    ValueError for a file with no header row, a header naming a column twice, a row with more
    filled cells than the header has names, a cell the database could not store (a NUL: see
    core/storable.py), or text the csv module cannot parse; and TooManyCsvRows past `max_rows`
    data rows, before reading more of the file.
    """
    reader = csv.DictReader(_text_stream(data), restval="")
    # Cells are searched one by one only to say where, in the rare file that has one. Text
    # decoded from UTF-8 or Windows-1252 can hold no unpaired surrogate, so a NUL byte it is.
    suspect = b"\x00" in data
    rows: list[dict[str, str]] = []
    try:
        reader.fieldnames = _header(reader.fieldnames)
        for raw in reader:
            cells = _cells(raw, reader.line_num, suspect)
            if not any(cell.strip() for cell in cells.values()):
                continue
            if max_rows is not None and len(rows) >= max_rows:
                raise TooManyCsvRows(f"the file has more than {max_rows:,} rows")
            rows.append(cells)
    except csv.Error as exc:
        raise ValueError(f"line {reader.line_num} of the file is not valid CSV: {exc}") from None
    except UnicodeDecodeError:
        raise ValueError("it starts with a UTF-8 byte-order mark but is not UTF-8 text") from None
    return rows


def read_csv_header(data: bytes, *, max_bytes: int = 64 * 1024) -> list[str]:
    """The column names of a CSV file's header row, from `data` (the whole file or its first
    bytes), reading no more than `max_bytes` of it; the same names and errors as read_csv."""
    head = data[:max_bytes]
    ends = [at for at in (head.find(b"\n"), head.find(b"\r")) if at >= 0]
    if ends:
        head = head[: min(ends)]
    elif len(data) >= max_bytes:
        raise ValueError(f"its header row is longer than {max_bytes:,} bytes")
    reader = csv.reader(_text_stream(head))
    try:
        return _header(next(reader, None))
    except csv.Error as exc:
        raise ValueError(f"its header row is not valid CSV: {exc}") from None
    except UnicodeDecodeError:
        raise ValueError("it starts with a UTF-8 byte-order mark but is not UTF-8 text") from None


def _text_stream(data: bytes) -> io.TextIOWrapper:
    # Decoded as the csv module asks for lines, rather than into one string up front (which a
    # StringIO would then copy at four bytes a character): a large upload is held once, as bytes.
    # newline="" leaves line endings to the csv module, which keeps quoted newlines in cells.
    encoding = _encoding(data)
    errors = "replace" if encoding == "cp1252" else "strict"
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors=errors, newline="")


def _encoding(data: bytes) -> str:
    """As decode_text reads it: UTF-8 with or without a byte-order mark, else Windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(view), _CHECK_CHUNK):
            decoder.decode(view[start : start + _CHECK_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


_CHECK_CHUNK = 1024 * 1024


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
