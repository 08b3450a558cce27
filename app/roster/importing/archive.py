"""An uploaded zip, read without trusting it.

A zip bomb lies in its central directory, or packs a little into a lot. So before anything is
inflated, what the directory says is held to caps: the directory itself (its entry count and
size, read from the end record exactly as `zipfile` will read them, so that a forged directory
of a million entries is never parsed), at most `max_members` entries, each named safely, none
an archive itself, stored or deflated (zipfile inflates bzip2 and lzma a whole block at a time
whatever is asked for), not encrypted, none sharing packed bytes with another (the overlapping
entries of a non-recursive bomb), none unpacking to more than `max_ratio` times its packed size
and all together to at most `max_unpacked_bytes`. Then every entry is read in chunks against a
hard cap on the bytes that actually come out, whatever the directory declared.

Nothing is ever extracted to disk.
"""

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

from app.core.settings import get_settings
from app.roster.importing.errors import NotAZipFile, UnsafeZipFile, ZipTooLarge

MAX_MEMBERS = 50
# A central directory entry is 46 bytes plus its name and extra fields: a few hundred bytes in
# practice. More than this per entry is padding to make the directory itself expensive.
DIRECTORY_BYTES_PER_MEMBER = 4096
# Below this an entry cannot hurt whatever its ratio (an empty file, a column of zeros).
RATIO_FLOOR = 1024 * 1024
CHUNK = 64 * 1024
ARCHIVE_SUFFIXES = (".zip", ".jar", ".7z", ".rar", ".gz", ".tgz", ".bz2", ".xz", ".tar")
READABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
ZIP_MAGIC = b"PK\x03\x04"

_END = struct.Struct("<4s4H2LH")
_END_SIGNATURE = b"PK\x05\x06"
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_END64 = struct.Struct("<4sQ2H2L4Q")
_END64_SIGNATURE = b"PK\x06\x06"
_MAX_COMMENT = 0xFFFF
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ZipLimits:
    max_unpacked_bytes: int
    max_ratio: int
    max_members: int = MAX_MEMBERS

    @classmethod
    def from_settings(cls) -> "ZipLimits":
        settings = get_settings()
        return cls(settings.max_import_unpacked_bytes, settings.max_import_compression_ratio)


def open_zip(data: bytes, limits: ZipLimits) -> zipfile.ZipFile:
    """The zip, its directory checked against `limits`; nothing has been inflated yet."""
    _check_directory_extent(data, limits)
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error):
        raise NotAZipFile() from None
    try:
        _check_members(archive.infolist(), len(data), limits)
    except BaseException:
        archive.close()
        raise
    return archive


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """An entry's bytes, refused with ZipTooLarge as soon as more than `cap` come out."""
    chunks: list[bytes] = []
    total = 0
    for chunk in _chunks(archive, info):
        total += len(chunk)
        if total > cap:
            raise ZipTooLarge(
                f"{info.filename} unpacks to more than the {cap:,} bytes allowed; "
                "nothing in the zip file was imported."
            )
        chunks.append(chunk)
    return b"".join(chunks)


def read_head(archive: zipfile.ZipFile, info: zipfile.ZipInfo, size: int) -> bytes:
    """At most the first `size` bytes of an entry, inflating no more than that."""
    head = b""
    for chunk in _chunks(archive, info):
        head += chunk
        if len(head) >= size:
            return head[:size]
    return head


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    try:
        with archive.open(info) as stream:
            first = True
            while chunk := stream.read(CHUNK):
                if first and chunk.startswith(ZIP_MAGIC):
                    raise UnsafeZipFile(info.filename, "is itself a zip file")
                first = False
                yield chunk
    except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, OSError) as exc:
        raise NotAZipFile(f"{info.filename} in the zip file cannot be unpacked: {exc}.") from None


# --- the directory ------------------------------------------------------------------------------


def _check_directory_extent(data: bytes, limits: ZipLimits) -> None:
    extent = _declared_directory(data)
    if extent is None:
        raise NotAZipFile()
    entries, size = extent
    if entries > limits.max_members:
        raise _too_many(entries, limits)
    if size > limits.max_members * DIRECTORY_BYTES_PER_MEMBER:
        raise ZipTooLarge(
            f"The zip file's directory takes {size:,} bytes; a bundle of at most "
            f"{limits.max_members} files needs far fewer."
        )


def _declared_directory(data: bytes) -> tuple[int, int] | None:
    """(entries, directory size) as zipfile will read them: from the end record found the
    same way, or from the ZIP64 end record when a locator precedes it."""
    at = _end_record_at(data)
    if at < 0 or at + _END.size > len(data):
        return None
    _, _, _, _, entries, size, _, _ = _END.unpack_from(data, at)
    locator = at - _END64_LOCATOR.size
    if locator >= 0 and data[locator : locator + 4] == _END64_LOCATOR_SIGNATURE:
        record = locator - _END64.size
        if record >= 0 and data[record : record + 4] == _END64_SIGNATURE:
            fields = _END64.unpack_from(data, record)
            entries, size = fields[7], fields[8]
    return entries, size


def _end_record_at(data: bytes) -> int:
    last = len(data) - _END.size
    if last >= 0 and data[last : last + 4] == _END_SIGNATURE and data[-2:] == b"\0\0":
        return last
    return data.rfind(_END_SIGNATURE, max(len(data) - _MAX_COMMENT - _END.size, 0))


def _check_members(members: list[zipfile.ZipInfo], packed: int, limits: ZipLimits) -> None:
    if len(members) > limits.max_members:
        raise _too_many(len(members), limits)
    for info in members:
        why = _unsafe(info)
        if why:
            raise UnsafeZipFile(info.filename, why)
        _check_ratio(info, limits.max_ratio)
    _check_packed(members, packed)
    declared = sum(info.file_size for info in members)
    if declared > limits.max_unpacked_bytes:
        raise ZipTooLarge(
            f"The zip file unpacks to {declared:,} bytes; at most "
            f"{limits.max_unpacked_bytes:,} are accepted."
        )


def _check_packed(members: list[zipfile.ZipInfo], packed: int) -> None:
    seen: set[int] = set()
    for info in members:
        if info.header_offset in seen:
            # Entries that share their packed bytes: how a bomb makes a few kilobytes count
            # many times over without nesting zips.
            raise UnsafeZipFile(info.filename, "shares its packed data with another entry")
        seen.add(info.header_offset)
    if sum(info.compress_size for info in members) > packed:
        raise NotAZipFile(
            "The zip file's directory declares more packed bytes than the file holds: it is "
            "broken or forged."
        )


def _too_many(entries: int, limits: ZipLimits) -> ZipTooLarge:
    return ZipTooLarge(
        f"The zip file holds {entries:,} entries; at most {limits.max_members} are accepted."
    )


def _check_ratio(info: zipfile.ZipInfo, max_ratio: int) -> None:
    if info.file_size > RATIO_FLOOR and info.file_size > max_ratio * info.compress_size:
        raise ZipTooLarge(
            f"{info.filename} would unpack from {info.compress_size:,} bytes to "
            f"{info.file_size:,}: more than {max_ratio} times, as a zip bomb does and a roster "
            "never needs. Nothing in the zip file was unpacked."
        )


def _unsafe(info: zipfile.ZipInfo) -> str | None:
    why = _unsafe_name(info.filename)
    if why or info.is_dir():
        return why
    if info.filename.lower().endswith(ARCHIVE_SUFFIXES):
        return "is an archive inside the archive; put the CSV files in the zip itself"
    if info.compress_type not in READABLE_METHODS:
        return (
            f"is packed with compression method {info.compress_type}; only stored and "
            "deflated entries (what every zip tool writes by default) are read"
        )
    if info.flag_bits & 0x1:
        return "is encrypted"
    return None


def _unsafe_name(name: str) -> str | None:
    # Nothing is extracted to disk, but a name that would escape a folder there is a sign of a
    # hostile or broken file, and refusing it keeps that true if the bytes are ever written out.
    if not name.strip("/"):
        return "has no name"
    if "\\" in name:
        return "contains a backslash"
    if name.startswith("/"):
        return "is an absolute path"
    if _DRIVE_LETTER.match(name):
        return "starts with a drive letter"
    if ".." in name.split("/"):
        return "climbs out of its folder with '..'"
    return None
