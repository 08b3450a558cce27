"""Uploaded zips read without trusting them: bombs and forged directories are refused before
anything is inflated, and no entry unpacks past its cap whatever it declares."""

import io
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from app.roster.importing.archive import ZipLimits, open_zip, read_head, read_member
from app.roster.importing.errors import NotAZipFile, UnsafeZipFile, ZipTooLarge
from tests.roster.importing.bombs import MIB, Entry, deflated, end_record, zeros, zip_entries
from tests.roster.importing.bundles import primary_school, zip_bundle, zip_of

LIMITS = ZipLimits(max_unpacked_bytes=32 * MIB, max_ratio=100)
MANIFEST = deflated("manifest.csv", b"propertyName,value\r\noneroster.version,1.1\r\n")


@contextmanager
def bounded(seconds: float, bytes_allocated: int) -> Iterator[None]:
    """Fails unless the block takes less than `seconds` and allocates, at its peak, less than
    `bytes_allocated` more than it started with."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds, elapsed
    assert peak < bytes_allocated, f"{peak:,} bytes at the peak"


def refused(data: bytes, error: type[Exception], limits: ZipLimits = LIMITS) -> str:
    with pytest.raises(error) as caught:
        open_zip(data, limits).close()
    return str(caught.value)


def test_a_gigabyte_of_zeros_is_refused_by_its_ratio_before_inflating() -> None:
    bomb = zip_entries([MANIFEST, zeros("users.csv", 1024)])  # about 1 MB packed

    with bounded(seconds=1, bytes_allocated=8 * MIB):
        detail = refused(bomb, ZipTooLarge)
    assert "users.csv" in detail
    assert "more than 100 times" in detail


def test_entries_that_declare_more_than_the_cap_in_all_are_refused() -> None:
    small = ZipLimits(max_unpacked_bytes=1_000, max_ratio=100)

    assert "at most 1,000 are accepted" in refused(zip_bundle(primary_school()), ZipTooLarge, small)


def test_an_entry_that_lies_about_its_size_stops_at_what_it_declared() -> None:
    # Declares 10 kB, holds a gigabyte: zipfile stops at the declared size, and the checksum of
    # what was read then fails. Nothing near a gigabyte is ever unpacked.
    liar = zeros("users.csv", 1024, head=b"sourcedId,givenName\r\n", declared=10_000)

    with (
        bounded(seconds=1, bytes_allocated=8 * MIB),
        open_zip(zip_entries([liar]), LIMITS) as archive,
        pytest.raises(NotAZipFile, match=r"users\.csv in the zip file cannot be unpacked"),
    ):
        read_member(archive, archive.getinfo("users.csv"), LIMITS.max_unpacked_bytes)


def test_reading_stops_at_the_cap_on_bytes_actually_unpacked() -> None:
    entry = zeros("users.csv", 2, head=b"sourcedId\r\n")
    lenient = ZipLimits(max_unpacked_bytes=32 * MIB, max_ratio=10_000)

    with open_zip(zip_entries([entry]), lenient) as archive:
        info = archive.getinfo("users.csv")
        with pytest.raises(ZipTooLarge, match="more than the 1,048,576 bytes allowed"):
            read_member(archive, info, MIB)
        assert read_head(archive, info, 11) == b"sourcedId\r\n"
        assert len(read_member(archive, info, info.file_size)) == info.file_size


def test_entries_sharing_their_packed_data_are_refused() -> None:
    overlapping = zip_entries([deflated("users.csv", b"sourcedId\r\n1\r\n")], aliases=10)

    assert "shares its packed data" in refused(overlapping, UnsafeZipFile)


def test_a_directory_declaring_more_packed_bytes_than_the_file_holds_is_refused() -> None:
    entry = deflated("users.csv", b"sourcedId\r\n1\r\n")
    forged = Entry(entry.name, entry.packed + bytes(10), entry.crc, entry.size)
    data = bytearray(zip_entries([forged]))
    size_field = data.rfind(b"PK\x01\x02") + 20
    data[size_field : size_field + 4] = struct.pack("<L", 10 * MIB)

    assert "more packed bytes than the file holds" in refused(bytes(data), NotAZipFile)


@pytest.mark.parametrize("name", ["inner.zip", "data/roster.ZIP", "users.csv.gz"])
def test_an_archive_inside_the_archive_is_refused_by_name(name: str) -> None:
    assert "archive inside the archive" in refused(zip_of({name: b"PK\x03\x04"}), UnsafeZipFile)


def test_a_zip_disguised_as_a_csv_is_refused_when_read() -> None:
    inner = zip_of({"users.csv": b"sourcedId\r\n1\r\n"})

    with open_zip(zip_of({"users.csv": inner}), LIMITS) as archive:
        info = archive.getinfo("users.csv")
        with pytest.raises(UnsafeZipFile, match="is itself a zip file"):
            read_head(archive, info, 1024)


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_entries_packed_otherwise_than_deflate_are_refused(method: int) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        archive.writestr("users.csv", b"sourcedId\r\n" + bytes(2 * MIB))

    assert f"compression method {method}" in refused(out.getvalue(), UnsafeZipFile)


def test_an_encrypted_entry_is_refused() -> None:
    entry = deflated("users.csv", b"sourcedId\r\n1\r\n")
    locked = Entry(entry.name, entry.packed, entry.crc, entry.size, flags=0x1)

    assert "is encrypted" in refused(zip_entries([locked]), UnsafeZipFile)


Forgery = Callable[[bytes], bytes]


def _claims_entries(count: int) -> Forgery:
    def forge(data: bytes) -> bytes:
        end = data.rfind(b"PK\x05\x06")
        size, offset = struct.unpack_from("<2L", data, end + 12)
        return data[:end] + end_record(count, size, offset)

    return forge


def _zip64_claims_directory_bytes(size: int) -> Forgery:
    # A ZIP64 end record and locator before the ordinary end record: zipfile believes them.
    def forge(data: bytes) -> bytes:
        end = data.rfind(b"PK\x05\x06")
        record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1, size, 0)
        locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
        return data[:end] + record + locator + data[end:]

    return forge


@pytest.mark.parametrize(
    ("forge", "said"),
    [
        (_claims_entries(60_000), "holds 60,000 entries"),
        (_zip64_claims_directory_bytes(30 * MIB), "directory takes 31,457,280 bytes"),
    ],
)
def test_a_forged_directory_is_refused_before_it_is_parsed(forge: Forgery, said: str) -> None:
    data = forge(zip_of({"manifest.csv": b"propertyName,value\r\n"}))

    assert said in refused(data, ZipTooLarge)
