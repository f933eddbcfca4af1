"""The one safe way to unzip: member names checked, real bytes counted against the quota.

Why it exists: zips come from students and from the internet, so reading one is treated as
hostile: member names may try to climb out of the package (``../``, absolute paths,
symbolic links), and headers may lie about sizes (zip bombs). Every byte that comes out of
an archive goes through :class:`ZipReader`, which checks names and counts *actual*
decompressed bytes against AWS's unzipped-size quota; :func:`safe_extract` writes a
checked archive out, all or nothing, read-only.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

from sandbox.errors import InvalidParameterValueException

__all__ = [
    "MAX_UNZIPPED_SIZE",
    "UNZIP_FAILED_MESSAGE",
    "ZipMember",
    "ZipReader",
    "force_rmtree",
    "safe_extract",
    "seal",
    "unzipped_too_large",
]

# spec §6/§10: function + layers unzipped <= 250 MB (AccountLimit.CodeSizeUnzipped).
MAX_UNZIPPED_SIZE = 262_144_000
# AWS's 400 InvalidParameterValueException for a file it cannot unzip (CreateFunction,
# UpdateFunctionCode, PublishLayerVersion); wording as reported in public issues.
UNZIP_FAILED_MESSAGE = (
    "Could not unzip uploaded file. Please check your file, then try to upload again."
)

_READ_CHUNK = 1 << 16  # compressed bytes read at a time
_OUT_CHUNK = 1 << 20  # most decompressed bytes produced by one step
_MAX_LINK_TARGET = 4096  # PATH_MAX: a longer "symlink target" is not a symlink
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # PKZIP local file header, 30 bytes

MemberKind = Literal["file", "dir", "symlink"]


def unzipped_too_large(limit: int = MAX_UNZIPPED_SIZE) -> InvalidParameterValueException:
    """AWS's error for a package whose unzipped size is over ``limit`` (spec §6)."""
    return InvalidParameterValueException(f"Unzipped size must be smaller than {limit} bytes")


def _unzip_failed() -> InvalidParameterValueException:
    return InvalidParameterValueException(UNZIP_FAILED_MESSAGE)


def _bad_member(name: str, why: str) -> InvalidParameterValueException:
    return InvalidParameterValueException(f"Could not unzip uploaded file: member '{name}' {why}.")


def _link_escapes(name: str, target: str) -> InvalidParameterValueException:
    return InvalidParameterValueException(
        f"Could not unzip uploaded file: symbolic link '{name}' points to '{target}', "
        "outside the package."
    )


@dataclass(frozen=True, slots=True)
class ZipMember:
    """One checked entry of an archive.

    Attributes:
        name: the name as stored in the archive.
        parts: the relative path it extracts to, split on ``/`` (``.`` and empty
            components dropped; never absolute, never ``..``).
        kind: ``"file"``, ``"dir"`` or ``"symlink"``.
        mode: the Unix permission bits stored with it (0 when the zip has none).
        info: zipfile's view of the entry (its sizes come from headers: not trusted).
    """

    name: str
    parts: tuple[str, ...]
    kind: MemberKind
    mode: int
    info: zipfile.ZipInfo

    @property
    def executable(self) -> bool:
        """Whether any execute bit is set."""
        return bool(self.mode & 0o111)


def _check_member(info: zipfile.ZipInfo) -> ZipMember:
    name = info.filename
    unix_mode = info.external_attr >> 16
    if name.startswith("/"):
        raise _bad_member(name, "has an absolute path")
    if "\x00" in name:
        raise _bad_member(name.replace("\x00", "\\0"), "has a NUL byte in its name")
    raw_parts = name.split("/")
    if ".." in raw_parts:
        raise _bad_member(name, "has a '..' path component")
    parts = tuple(p for p in raw_parts if p not in ("", "."))
    kind: MemberKind
    if stat.S_ISLNK(unix_mode):
        kind = "symlink"
    elif info.is_dir() or stat.S_ISDIR(unix_mode):
        kind = "dir"
    else:
        kind = "file"
    if not parts and kind != "dir":
        raise _bad_member(name, "has an empty path")
    return ZipMember(name, parts, kind, stat.S_IMODE(unix_mode), info)


def _lexically_escapes(parts: tuple[str, ...], target: str) -> bool:
    """Whether a link at ``parts`` pointing at ``target`` leaves the root, on paper."""
    if not target or target.startswith("/"):
        return True
    where = list(parts[:-1])
    for component in target.split("/"):
        if component in ("", "."):
            continue
        if component == "..":
            if not where:
                return True
            where.pop()
        else:
            where.append(component)
    return False


class ZipReader:
    """Reads an untrusted zip: checked member names, streamed and counted contents.

    Opening it checks every member name (no absolute paths, no ``..``), refuses
    encrypted entries and unknown compression methods, and refuses an archive whose
    *declared* unzipped size is over the quota. Reading a member decompresses it in
    bounded steps and counts the bytes that really come out: the quota is enforced on
    those, so an archive whose headers lie stops as soon as it passes the limit. A
    member whose real size or CRC differs from its header is reported as corrupt.

    Use as a context manager; it owns an open file when given a path.

    Args:
        source: the zip's bytes, or the path of a zip file.
        max_unzipped: the quota on decompressed bytes (spec §6).

    Raises:
        InvalidParameterValueException: not a zip, a refused member name, or over quota.
    """

    def __init__(self, source: bytes | Path, *, max_unzipped: int = MAX_UNZIPPED_SIZE) -> None:
        self.max_unzipped = max_unzipped
        self.extracted_size = 0
        self._fp: BinaryIO = (
            BytesIO(source) if isinstance(source, bytes | bytearray) else open(source, "rb")  # noqa: SIM115
        )
        try:
            try:
                self._zip = zipfile.ZipFile(self._fp)
                infos = self._zip.infolist()
            except (
                zipfile.BadZipFile,
                zipfile.LargeZipFile,
                OSError,
                ValueError,
                EOFError,
                struct.error,
                NotImplementedError,
            ) as exc:
                raise _unzip_failed() from exc
            members = []
            for info in infos:
                # An encrypted entry or an unknown method cannot be unzipped by Lambda either.
                if info.flag_bits & 0x1 or info.compress_type not in _METHODS:
                    raise _unzip_failed()
                members.append(_check_member(info))
            self.members: tuple[ZipMember, ...] = tuple(members)
            self.declared_size = sum(info.file_size for info in infos)
            # spec §6: unzipped size limit, first on what the headers claim.
            if self.declared_size > max_unzipped:
                raise unzipped_too_large(max_unzipped)
        except BaseException:
            self._fp.close()
            raise

    def __enter__(self) -> ZipReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the archive (idempotent)."""
        self._zip.close()
        self._fp.close()

    def chunks(self, member: ZipMember) -> Iterator[bytes]:
        """Yield a member's decompressed bytes, counting them against the quota.

        Raises:
            InvalidParameterValueException: the quota is passed (as soon as it is), or
                the data is corrupt (bad stream, wrong size or CRC).
        """
        if member.kind == "dir":
            return
        info = member.info
        produced = 0
        crc = 0
        try:
            raw = (
                self._raw_chunks(info)
                if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
                else self._zipfile_chunks(info)
            )
            for chunk in raw:
                produced += len(chunk)
                self.extracted_size += len(chunk)
                # spec §6: the limit counts real bytes, not what the headers claim.
                if self.extracted_size > self.max_unzipped:
                    raise unzipped_too_large(self.max_unzipped)
                crc = zlib.crc32(chunk, crc)
                yield chunk
        except (
            zlib.error,
            zipfile.BadZipFile,
            EOFError,
            struct.error,
            OSError,
            ValueError,
            NotImplementedError,
        ) as exc:
            raise _unzip_failed() from exc
        if produced != info.file_size or crc != info.CRC:
            raise _unzip_failed()

    def read_link(self, member: ZipMember) -> str:
        """Return a symlink member's target, refusing one that leaves the package."""
        data = bytearray()
        for chunk in self.chunks(member):
            data += chunk
            if len(data) > _MAX_LINK_TARGET:
                raise _bad_member(member.name, "is a symbolic link with an over-long target")
        try:
            target = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad_member(member.name, "is a symbolic link with an unreadable target") from exc
        if "\x00" in target or _lexically_escapes(member.parts, target):
            raise _link_escapes(member.name, target)
        return target

    def verify(self) -> int:
        """Read every member once (discarding it) and return the real unzipped size."""
        for member in self.members:
            if member.kind == "symlink":
                self.read_link(member)
            else:
                for _ in self.chunks(member):
                    pass
        return self.extracted_size

    def _raw_chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """Stored or deflated data, decompressed here so that no header is believed."""
        self._fp.seek(info.header_offset)
        header = self._fp.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size:
            raise zipfile.BadZipFile("truncated local header")
        fields = _LOCAL_HEADER.unpack(header)
        if fields[0] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local header signature")
        position = info.header_offset + _LOCAL_HEADER.size + fields[10] + fields[11]
        remaining = info.compress_size

        def read() -> bytes:
            nonlocal position, remaining
            self._fp.seek(position)  # another reader may have moved the shared file
            data = self._fp.read(min(_READ_CHUNK, remaining))
            if not data:
                raise zipfile.BadZipFile("truncated member data")
            position += len(data)
            remaining -= len(data)
            return data

        if info.compress_type == zipfile.ZIP_STORED:
            while remaining > 0:
                yield read()
            return
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        while not inflater.eof:
            if inflater.unconsumed_tail:
                data = inflater.unconsumed_tail
            elif remaining > 0:
                data = read()
            else:
                data = b""
            out = inflater.decompress(data, _OUT_CHUNK)
            if out:
                yield out
            elif not data:
                raise zipfile.BadZipFile("truncated deflate stream")

    def _zipfile_chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """bzip2 / LZMA: zipfile stops at the declared size, so these are bounded too."""
        with self._zip.open(info) as stream:
            while chunk := stream.read(_OUT_CHUNK):
                yield chunk


_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def force_rmtree(path: Path) -> None:
    """Remove a tree even if it was made read-only (dirs 0o555 block unlinking)."""
    if not os.path.lexists(path):
        return
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return
    for dirpath, dirnames, _ in os.walk(path):
        os.chmod(dirpath, 0o700)
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    shutil.rmtree(path)


def safe_extract(
    zip_source: bytes | Path, dest: Path, *, max_unzipped: int = MAX_UNZIPPED_SIZE
) -> int:
    """Extract an untrusted zip into ``dest``, all or nothing.

    Members go into a temporary directory next to ``dest``, which is renamed to
    ``dest`` only once everything is out and checked, so a refused or failed archive
    leaves nothing behind. Files become read-only (0o444, or 0o555 when the zip marks
    them executable), directories 0o555. Symbolic links are kept when they resolve
    inside the package, after all files are written, so no write ever goes through one.

    Args:
        zip_source: the zip's bytes, or the path of a zip file.
        dest: the directory to create. It must not exist (an empty directory is
            replaced).
        max_unzipped: quota on the bytes actually decompressed (spec §6).

    Returns:
        The number of bytes extracted.

    Raises:
        InvalidParameterValueException: not a zip, corrupt, a member name that is
            absolute or has ``..``, a symbolic link leaving the package, or more than
            ``max_unzipped`` bytes ("Unzipped size must be smaller than N bytes").
        FileExistsError: ``dest`` already exists and is not empty.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        with ZipReader(zip_source, max_unzipped=max_unzipped) as reader:
            total = _extract_into(reader, tmp)
        try:
            os.rename(tmp, dest)
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dest)) from exc
            raise
    except BaseException:
        force_rmtree(tmp)
        raise
    return total


def _extract_into(reader: ZipReader, root: Path) -> int:
    modes: dict[Path, int] = {}
    links: list[tuple[ZipMember, str]] = []
    try:
        for member in reader.members:
            path = root.joinpath(*member.parts)
            if member.kind == "dir":
                path.mkdir(parents=True, exist_ok=True)
            elif member.kind == "symlink":
                links.append((member, reader.read_link(member)))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as out:
                    for chunk in reader.chunks(member):
                        out.write(chunk)
                modes[path] = 0o555 if member.executable else 0o444
        link_paths = {member.parts for member, _ in links}
        for member, target in links:
            # A link under another link would make mkdir/symlink follow it: refuse.
            if any(member.parts[:i] in link_paths for i in range(1, len(member.parts))):
                raise _unzip_failed()
            path = root.joinpath(*member.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, path)
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        # Members that clash (a file where a directory must be, a duplicate link...).
        raise _unzip_failed() from exc
    real_root = os.path.realpath(root)
    for member, target in links:
        # Checked on the real tree too: a chain of links can leave what looked inside.
        if not _inside(os.path.realpath(root.joinpath(*member.parts)), real_root):
            raise _link_escapes(member.name, target)
    for path, mode in modes.items():
        os.chmod(path, mode)
    seal(root)
    return reader.extracted_size


def seal(root: Path) -> None:
    """Directories read-only (files already are), so no environment can write."""
    for dirpath, dirnames, _ in os.walk(root, topdown=False):
        for name in dirnames:
            sub = os.path.join(dirpath, name)
            if not os.path.islink(sub):
                os.chmod(sub, 0o555)
    os.chmod(root, 0o555)
