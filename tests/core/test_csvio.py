"""CSV in and out: MIS exports decoded and parsed, exports safe against formula injection."""

import codecs
import datetime
import decimal

import pytest

from app.core.csvio import (
    TooManyCsvRows,
    decode_text,
    neutralise_cell,
    read_csv,
    read_csv_header,
    write_csv,
)

# --- decode_text --------------------------------------------------------------------------------


def test_utf8_byte_order_mark_is_stripped() -> None:
    assert decode_text(codecs.BOM_UTF8 + b"upn,name\r\n") == "upn,name\r\n"


def test_utf8_without_bom_is_decoded() -> None:
    assert decode_text("Siân,Zoë".encode()) == "Siân,Zoë"


def test_windows_1252_names_are_decoded() -> None:
    assert decode_text("Siân,Zoë".encode("cp1252")) == "Siân,Zoë"


# --- neutralise_cell ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+447911123456", "'+447911123456"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\rx", "'\rx"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ],
)
def test_text_starting_like_a_formula_is_neutralised(value: str, cell: str) -> None:
    assert neutralise_cell(value) == cell


@pytest.mark.parametrize(
    "value", ["Siân", "1+1", "a=b", "'=1+1", " =1+1", "", "O'Brien", "07911 123456"]
)
def test_ordinary_text_is_unchanged(value: str) -> None:
    assert neutralise_cell(value) == value


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (-2, "-2"),
        (42, "42"),
        (-1.5, "-1.5"),
        (decimal.Decimal("-0.5"), "-0.5"),
        (datetime.date(2026, 9, 1), "2026-09-01"),
    ],
)
def test_non_text_values(value: object, cell: str) -> None:
    assert neutralise_cell(value) == cell


# --- write_csv ----------------------------------------------------------------------------------


def test_write_csv_uses_crlf_and_minimal_quoting() -> None:
    text = write_csv(["upn", "name"], [["B801200005001", "Siân"], ["", 'Zoë "Z", Jones']])
    assert text == 'upn,name\r\nB801200005001,Siân\r\n,"Zoë ""Z"", Jones"\r\n'


def test_write_csv_neutralises_formula_cells() -> None:
    rows = [["=1+1", "+447911123456", "-2", "@SUM(A1)", "\tx"]]
    text = write_csv(["a", "b", "c", "d", "e"], rows)
    assert text == "a,b,c,d,e\r\n'=1+1,'+447911123456,'-2,'@SUM(A1),'\tx\r\n"


def test_write_csv_neutralises_the_header_too() -> None:
    assert write_csv(["=cmd"], []) == "'=cmd\r\n"


def test_write_csv_leaves_numbers_alone() -> None:
    assert write_csv(["n", "x", "ok"], [[-2, 1.5, True], [None, 0, False]]) == (
        "n,x,ok\r\n-2,1.5,true\r\n,0,false\r\n"
    )


def test_write_csv_takes_a_generator_of_rows() -> None:
    text = write_csv(["n"], ([i] for i in range(3)))
    assert text == "n\r\n0\r\n1\r\n2\r\n"


def test_formula_cells_round_trip_neutralised() -> None:
    values = ["=1+1", "+447911123456", "-2", "@SUM(A1)", "\t=1+1", "line one\nline two"]
    header = [f"c{i}" for i in range(len(values))]
    (row,) = read_csv(write_csv(header, [values]).encode())
    assert list(row.values()) == [
        "'=1+1",
        "'+447911123456",
        "'-2",
        "'@SUM(A1)",
        "'\t=1+1",
        "line one\nline two",
    ]


# --- read_csv -----------------------------------------------------------------------------------


def test_read_csv_with_bom_and_crlf() -> None:
    data = codecs.BOM_UTF8 + "upn,forename\r\nB801200005001,Siân\r\n".encode()
    assert read_csv(data) == [{"upn": "B801200005001", "forename": "Siân"}]


def test_read_csv_windows_1252() -> None:
    data = "forename,surname\r\nSiân,Jones\r\nZoë,Brontë\r\n".encode("cp1252")
    assert read_csv(data) == [
        {"forename": "Siân", "surname": "Jones"},
        {"forename": "Zoë", "surname": "Brontë"},
    ]


@pytest.mark.parametrize("ending", ["\r\n", "\n", "\r"])
def test_read_csv_line_endings(ending: str) -> None:
    data = ending.join(["a,b", "1,2", "3,4", ""]).encode()
    assert read_csv(data) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_read_csv_without_final_newline() -> None:
    assert read_csv(b"a,b\r\n1,2") == [{"a": "1", "b": "2"}]


def test_read_csv_keeps_quoted_newlines_and_commas() -> None:
    data = b'name,address\r\nSian,"1 High St\r\nLeeds, LS1 1AA"\r\nZoe,"2 Low Rd\nYork"\r\n'
    assert read_csv(data) == [
        {"name": "Sian", "address": "1 High St\r\nLeeds, LS1 1AA"},
        {"name": "Zoe", "address": "2 Low Rd\nYork"},
    ]


def test_read_csv_strips_header_names_not_cells() -> None:
    data = b" upn , forename\t\r\n B801200005001 ,Sian\r\n"
    assert read_csv(data) == [{"upn": " B801200005001 ", "forename": "Sian"}]


def test_read_csv_skips_entirely_empty_rows() -> None:
    data = b"a,b\r\n\r\n1,2\r\n,\r\n , \r\n\r\n3,\r\n,,\r\n"
    assert read_csv(data) == [{"a": "1", "b": "2"}, {"a": "3", "b": ""}]


def test_read_csv_short_row_gets_empty_cells() -> None:
    assert read_csv(b"a,b,c\r\n1\r\n") == [{"a": "1", "b": "", "c": ""}]


def test_read_csv_ignores_empty_extra_cells() -> None:
    assert read_csv(b"a,b\r\n1,2,,\r\n") == [{"a": "1", "b": "2"}]


def test_read_csv_refuses_filled_cells_beyond_the_header() -> None:
    with pytest.raises(ValueError, match=r"^line 3 has more cells than the header row has names$"):
        read_csv(b"a,b\r\n1,2\r\n3,4,5\r\n")


def test_read_csv_refuses_a_column_named_twice() -> None:
    with pytest.raises(ValueError, match=r"names the column 'upn' more than once"):
        read_csv(b"upn,name, upn\r\n1,2,3\r\n")


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"upn,forename\r\nA1,Si\x00\xc3\xa2n\r\n", "line 2, column 'forename'"),
        (b'upn,forename\r\nA1,ok\r\n"A\x00\r\n2",x\r\n', "line 4, column 'upn'"),
        (b"upn,fore\x00name\r\nA1,x\r\n", "column 2 of the header row"),
    ],
)
def test_read_csv_refuses_a_nul_naming_the_cell_not_the_value(data: bytes, where: str) -> None:
    with pytest.raises(ValueError, match=r"cannot be stored") as refused:
        read_csv(data)
    assert str(refused.value).startswith(where)
    assert "\x00" not in str(refused.value)
    assert "Si" not in str(refused.value)


def test_read_csv_header_only_gives_no_rows() -> None:
    assert read_csv(b"a,b\r\n") == []


@pytest.mark.parametrize("data", [b"", b"\r\n", b"\r\n\r\n", b"\n\n\n", b" , ,\r\n1,2,3\r\n"])
def test_read_csv_without_header_row_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"^the file has no header row$"):
        read_csv(data)


def test_read_csv_bom_only_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^the file has no header row$"):
        read_csv(codecs.BOM_UTF8)


def test_read_csv_unparseable_text_is_a_value_error() -> None:
    too_long = b"a\r\n" + b"x" * 200_000 + b"\r\n"
    with pytest.raises(ValueError, match=r"is not valid CSV"):
        read_csv(too_long)


def test_read_csv_round_trips_write_csv() -> None:
    rows: list[list[object]] = [["B801200005001", "Siân", 7, None], ["", 'Zoë "Z"', -1, True]]
    data = write_csv(["upn", "forename", "year", "flag"], rows).encode()
    assert read_csv(data) == [
        {"upn": "B801200005001", "forename": "Siân", "year": "7", "flag": ""},
        {"upn": "", "forename": 'Zoë "Z"', "year": "-1", "flag": "true"},
    ]


def test_read_csv_stops_past_max_rows_not_counting_blank_ones() -> None:
    data = b"a,b\r\n1,2\r\n,\r\n\r\n3,4\r\n"
    assert len(read_csv(data, max_rows=2)) == 2
    with pytest.raises(TooManyCsvRows, match="more than 1 rows"):
        read_csv(data, max_rows=1)


def test_read_csv_with_a_bom_that_is_not_utf8_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="byte-order mark but is not UTF-8"):
        read_csv(codecs.BOM_UTF8 + "upn,name\r\n1,Siân\r\n".encode("cp1252"))


# --- read_csv_header ----------------------------------------------------------------------------


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r", b""])
def test_read_csv_header_reads_the_first_line_only(ending: bytes) -> None:
    rest = ending + b'\x00\xff broken "quote' if ending else b""
    assert read_csv_header(codecs.BOM_UTF8 + b" upn ,Forename" + rest) == ["upn", "Forename"]


def test_read_csv_header_is_windows_1252_when_not_utf8() -> None:
    assert read_csv_header("Prénom,Nom\r\n".encode("cp1252")) == ["Prénom", "Nom"]


def test_read_csv_header_refuses_what_read_csv_refuses() -> None:
    with pytest.raises(ValueError, match="more than once"):
        read_csv_header(b"upn,upn\r\n")
    with pytest.raises(ValueError, match="no header row"):
        read_csv_header(b"\r\n1,2\r\n")


def test_read_csv_header_longer_than_its_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="header row is longer than 100 bytes"):
        read_csv_header(b"a," * 100, max_bytes=100)
