"""Hostile zip files, built by hand so that a gigabyte-sized entry costs a megabyte and a moment.

A run of zeros deflated once, with a full flush (which makes the compressed block independent of
what came before it), can be repeated to make a stream of any length; its CRC is computed a
mebibyte at a time. The zip around it is written field by field, so its directory can say
whatever a test needs it to, true or not.
"""

import struct
import zipfile
import zlib
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Entry:
    name: str
    packed: bytes
    crc: int
    size: int
    """The unpacked size the zip declares (the truth unless a test wants a lie)."""
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0


def deflated(name: str, content: bytes) -> Entry:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    packed = packer.compress(content) + packer.flush()
    return Entry(name, packed, zlib.crc32(content), len(content))


def zeros(name: str, mebibytes: int, *, head: bytes = b"", declared: int | None = None) -> Entry:
    """`head` then `mebibytes` MiB of zero bytes, deflated, declaring `declared` bytes unpacked
    (by default the true size)."""
    unit_packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    unit = unit_packer.compress(bytes(MIB)) + unit_packer.flush(zlib.Z_FULL_FLUSH)
    head_packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = head_packer.compress(head) + head_packer.flush(zlib.Z_FULL_FLUSH) if head else b""
    packed = start + unit * mebibytes + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc = zlib.crc32(head)
    block = bytes(MIB)
    for _ in range(mebibytes):
        crc = zlib.crc32(block, crc)
    size = len(head) + mebibytes * MIB
    return Entry(name, packed, crc, size if declared is None else declared)


def zip_entries(entries: list[Entry], *, aliases: int = 0) -> bytes:
    """A zip of `entries` exactly as given (sizes and all); with `aliases`, that many more
    directory entries pointing at the first entry's data, as a non-recursive bomb has them."""
    body, directory = bytearray(), bytearray()
    for entry in entries:
        directory += _directory_entry(entry, entry.name, len(body))
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, *_fields(entry, entry.name), 0)
        body += entry.name.encode() + entry.packed
    for n in range(aliases):
        directory += _directory_entry(entries[0], f"alias{n}.csv", 0)
    count = len(entries) + aliases
    return bytes(body + directory + end_record(count, len(directory), len(body)))


def end_record(entries: int, directory_size: int, directory_offset: int) -> bytes:
    return struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, directory_size, directory_offset, 0
    )


def _fields(entry: Entry, name: str) -> tuple[int, ...]:
    packed, encoded = len(entry.packed), len(name.encode())
    return (entry.flags, entry.method, 0, 0x21, entry.crc, packed, entry.size, encoded)


def _directory_entry(entry: Entry, name: str, offset: int) -> bytes:
    head = struct.pack(
        "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, *_fields(entry, name), 0, 0, 0, 0, 0, offset
    )
    return head + name.encode()
