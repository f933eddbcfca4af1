"""Zips for the store tests: written by zipfile, or hand-built with lying headers."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

EPOCH = (1980, 1, 1, 0, 0, 0)


def exact(message: str) -> str:
    """A ``match=`` pattern for exactly this message."""
    return f"^{re.escape(message)}$"


def make_zip(
    entries: list[tuple[str, bytes, int]], compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    """A zip written by zipfile with the given (name, data, unix mode) entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.create_system = 3
            info.external_attr = mode << 16
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


def lying_bomb(real_mib: int, declared: int = 10, name: str = "bomb.txt") -> bytes:
    """One deflated member of ``real_mib`` MiB of zeros whose headers claim ``declared`` bytes."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    # After a full flush the compressor forgets everything: one MiB always gives this piece.
    piece = deflate.compress(bytes(1 << 20)) + deflate.flush(zlib.Z_FULL_FLUSH)
    stream = piece * real_mib + deflate.flush()
    raw_name = name.encode()
    local = struct.pack(
        "<4s2B4HL2L2H",
        b"PK\x03\x04",
        20,
        0,
        0,
        8,
        0,
        0x21,
        0,
        len(stream),
        declared,
        len(raw_name),
        0,
    )
    central = (
        struct.pack(
            "<4s4B4HL2L5H2L",
            b"PK\x01\x02",
            20,
            3,
            20,
            0,
            0,
            8,
            0,
            0x21,
            0,
            len(stream),
            declared,
            len(raw_name),
            0,
            0,
            0,
            0,
            0o100644 << 16,
            0,
        )
        + raw_name
    )
    body = local + raw_name + stream
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(body), 0)
    return body + central + end


def unix_zip(files: dict[str, str | bytes], executable: tuple[str, ...] = ()) -> bytes:
    """A zip of ``files`` with Unix modes: 0o755 for names in ``executable`` (a layer's
    ``extensions/...`` or ``bootstrap``), 0o644 otherwise."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o100755 if name in executable else 0o100644) << 16
            archive.writestr(info, content)
    return buffer.getvalue()
