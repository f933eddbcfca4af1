"""Content-addressed code artifacts on disk: zips stored once by their SHA-256, their
extractions, and the ``/opt`` trees of lists of layers.

Why it exists: every function version and layer version points at a zip by its SHA-256,
so identical code is stored once and a published version can never change under a
running environment. Reading a zip is :mod:`sandbox.store.unzip`'s job (it is hostile
input); this module decides where things live and that each is made once.

Layout under the store's root::

    code/ab/ab12...ef.zip      the zip, read-only, named by its hex SHA-256
    extracted/ab12...ef/       its extraction, made once, read-only
    opt/<key>/                 several layers merged in order (hard links), read-only
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Collection, Sequence
from pathlib import Path

from sandbox.errors import StoreError
from sandbox.store.unzip import (
    MAX_UNZIPPED_SIZE,
    UNZIP_FAILED_MESSAGE,
    ZipMember,
    ZipReader,
    force_rmtree,
    safe_extract,
    seal,
    unzipped_too_large,
)

__all__ = [
    "MAX_UNZIPPED_SIZE",
    "UNZIP_FAILED_MESSAGE",
    "ArtifactStore",
    "ZipMember",
    "ZipReader",
    "safe_extract",
    "unzipped_too_large",
]

_SHA_HEX = re.compile(r"[0-9a-f]{64}")


class ArtifactStore:
    """Zips stored once by content, and their extractions, under one root directory.

    Everything in it is immutable: ``put`` writes a zip atomically and makes it
    read-only, ``extracted`` unpacks it once (safe between threads and processes) and
    makes the tree read-only. ``remove_unreferenced`` is the only way anything leaves.

    Args:
        root: the store's directory (created if missing).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def path(self, sha_hex: str) -> Path:
        """Where the zip with this hex SHA-256 lives (``code/ab/ab...ef.zip``)."""
        _check_sha(sha_hex)
        return self.root / "code" / sha_hex[:2] / f"{sha_hex}.zip"

    def put(self, zip_bytes: bytes) -> str:
        """Store a zip and return its hex SHA-256. Storing the same bytes again is a no-op.

        The file is written to a temporary name in its final directory, flushed to
        disk, made read-only and renamed into place, so a reader sees all of it or none.
        """
        sha_hex = hashlib.sha256(zip_bytes).hexdigest()
        final = self.path(sha_hex)
        if final.exists():
            return sha_hex
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{sha_hex}.", suffix=".tmp", dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(zip_bytes)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp_name, 0o444)
            os.replace(tmp_name, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(final.parent)
        return sha_hex

    def exists(self, sha_hex: str) -> bool:
        """Whether the zip with this hex SHA-256 is stored."""
        return self.path(sha_hex).is_file()

    def get(self, sha_hex: str) -> bytes:
        """Return a stored zip's bytes, checked against their name.

        Raises:
            StoreError: the artifact is missing or its content no longer matches.
        """
        try:
            data = self.path(sha_hex).read_bytes()
        except FileNotFoundError as exc:
            raise StoreError(f"code artifact {sha_hex} is missing from {self.root}") from exc
        if hashlib.sha256(data).hexdigest() != sha_hex:
            raise StoreError(f"code artifact {sha_hex} in {self.root} is corrupt")
        return data

    def extracted(self, sha_hex: str) -> Path:
        """Return the directory holding a stored zip's files, extracting it the first time.

        Safe to call from many threads and processes at once: each extracts into its
        own temporary directory and renames it into place; whoever loses the rename
        uses the winner's tree. Within a process, one thread extracts while the others
        wait.

        Raises:
            StoreError: the zip is not in the store.
            InvalidParameterValueException: the zip is unsafe or over the quota.
        """
        _check_sha(sha_hex)
        dest = self.root / "extracted" / sha_hex
        if dest.is_dir():
            return dest
        with self._lock_for(sha_hex):
            if dest.is_dir():
                return dest
            source = self.path(sha_hex)
            if not source.is_file():
                raise StoreError(f"code artifact {sha_hex} is missing from {self.root}")
            try:
                safe_extract(source, dest)
            except FileExistsError:
                if not dest.is_dir():  # pragma: no cover - something else squats the name
                    raise
        return dest

    def layered(self, sha_hexes: Sequence[str]) -> Path | None:
        """Return the ``/opt`` tree of a list of layers, merging it the first time.

        Layers merge in list order, directories merge and a later layer's file replaces an
        earlier one's (spec §6). No layer gives ``None``; one layer is its extraction; more
        are merged once into ``opt/<key>/`` out of hard links to the extractions (copies
        where links are impossible), read-only, and shared by every environment of every
        version that uses the same list (extract once, not per cold start).

        Raises:
            StoreError: a layer's zip is not in the store.
        """
        if not sha_hexes:
            return None
        trees = [self.extracted(sha) for sha in sha_hexes]
        if len(trees) == 1:
            return trees[0]
        key = hashlib.sha256("\n".join(sha_hexes).encode()).hexdigest()
        dest = self.root / "opt" / key
        if dest.is_dir():
            return dest
        with self._lock_for(key):
            if dest.is_dir():
                return dest
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=".tmp", dir=dest.parent))
            try:
                for tree in trees:
                    _overlay(tree, tmp)
                seal(tmp)
                try:
                    os.rename(tmp, dest)
                except OSError as exc:  # another process won the race: use its tree
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
                    force_rmtree(tmp)
            except BaseException:
                force_rmtree(tmp)
                raise
        return dest

    def remove_unreferenced(self, keep: Collection[str]) -> int:
        """Delete every zip and extraction whose hex SHA-256 is not in ``keep``.

        Also clears temporary files left by interrupted writes of unreferenced code.
        Do not run it while code that is not in ``keep`` is being stored or extracted.

        Returns:
            How many artifacts (distinct SHA-256s) were removed.
        """
        keep_set = set(keep)
        removed: set[str] = set()
        code_dir = self.root / "code"
        if code_dir.is_dir():
            for fan in sorted(code_dir.iterdir()):
                if not fan.is_dir():
                    continue
                for entry in sorted(fan.iterdir()):
                    sha_hex = _sha_of(entry.name)
                    if sha_hex is None or sha_hex in keep_set:
                        continue
                    entry.unlink()
                    if entry.name == f"{sha_hex}.zip":
                        removed.add(sha_hex)
                with contextlib.suppress(OSError):  # not empty, or removed meanwhile
                    if not any(fan.iterdir()):
                        fan.rmdir()
        extracted_dir = self.root / "extracted"
        if extracted_dir.is_dir():
            for entry in sorted(extracted_dir.iterdir()):
                sha_hex = _sha_of(entry.name)
                if sha_hex is None or sha_hex in keep_set:
                    continue
                force_rmtree(entry)
                if entry.name == sha_hex:
                    removed.add(sha_hex)
        return len(removed)

    def _lock_for(self, sha_hex: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(sha_hex, threading.Lock())


def _clear(path: str) -> None:
    """Make room at ``path`` for what a later layer puts there."""
    if os.path.isdir(path) and not os.path.islink(path):
        force_rmtree(Path(path))
    elif os.path.lexists(path):
        os.unlink(path)


def _overlay(source: Path, root: Path) -> None:
    """Lay one extracted layer over ``root``: its files win over what is there."""
    for dirpath, dirnames, filenames in os.walk(source):
        rel = os.path.relpath(dirpath, source)
        target_dir = os.path.normpath(os.path.join(root, rel))
        for name in list(dirnames):
            src = os.path.join(dirpath, name)
            dst = os.path.join(target_dir, name)
            if os.path.islink(src):
                dirnames.remove(name)  # a link to a directory is placed, not entered
                _clear(dst)
                os.symlink(os.readlink(src), dst)
            elif not os.path.isdir(dst) or os.path.islink(dst):
                _clear(dst)
                os.mkdir(dst, 0o755)
        for name in filenames:
            src = os.path.join(dirpath, name)
            dst = os.path.join(target_dir, name)
            _clear(dst)
            if os.path.islink(src):
                os.symlink(os.readlink(src), dst)
                continue
            try:
                os.link(src, dst)
            except OSError:  # another file system, or links not allowed: copy
                shutil.copy2(src, dst)


def _check_sha(sha_hex: str) -> None:
    if not _SHA_HEX.fullmatch(sha_hex):
        raise ValueError(f"not a lowercase hex SHA-256: {sha_hex!r}")


def _sha_of(entry_name: str) -> str | None:
    """The SHA-256 an entry of the store belongs to (``<sha>.zip``, ``<sha>``, temp names)."""
    candidate = entry_name.lstrip(".")[:64]
    return candidate if _SHA_HEX.fullmatch(candidate) else None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
