"""The in-memory image filesystem and the host-directory helpers every image form shares.

Why it exists: all three image forms (Dockerfile, OCI layout, plain directory) end as the
same thing, a root filesystem whose ``/var/task`` and ``/opt`` trees become the function's
zip. :class:`_RootFS` holds it, resolves symbolic links inside the image as a container
would, counts every byte against the image quota and materialises links on export.
:func:`_walk` reads host directories (form 3, and ``COPY`` sources) without letting links
lead outside the image directory. The errors all forms raise are built here too.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

from sandbox.errors import InvalidParameterValueException

# spec §10: container image <= 10 GB uncompressed (all layers).
MAX_IMAGE_SIZE = 10_737_418_240

_TASK_ROOT = "/var/task"
_KEPT_ROOTS = ("var/task", "opt")
_MAX_LINK_HOPS = 40  # Linux's MAXSYMLINKS
_SKIPPED_DIRS = frozenset({"__pycache__"})

Source = Literal["dockerfile", "oci", "directory"]


class _ImageConfig(NamedTuple):
    """What an image form yields besides its files: the arguments of ``_package``."""

    source: Source
    runtime: str
    entry_point: tuple[str, ...]
    command: tuple[str, ...]
    working_directory: str
    environment: dict[str, str]


def _invalid(message: str) -> InvalidParameterValueException:
    return InvalidParameterValueException(message)


def _too_large(limit: int) -> InvalidParameterValueException:
    # The reason AWS gives for an image over the quota (InvalidImage, SizeLimitExceeded).
    size = "10 GiB" if limit == MAX_IMAGE_SIZE else f"{limit} bytes"
    return _invalid(f"Uncompressed container image size exceeds {size} limit")


# --- the image filesystem --------------------------------------------------------------------


@dataclass(slots=True)
class _Node:
    kind: Literal["file", "dir", "symlink"]
    data: bytes | None = None  # None for files outside /var/task and /opt: never read
    mode: int = 0o644
    target: str = ""


def _kept(path: str) -> bool:
    return any(path == top or path.startswith(top + "/") for top in _KEPT_ROOTS)


def _parts(path: str) -> list[str]:
    return [part for part in path.split("/") if part not in ("", ".")]


class _RootFS:
    """The image's root filesystem in memory; paths are relative to ``/``, without it.

    Symbolic links are resolved inside the image, as in a container: an absolute target
    starts at the image root, and ``..`` at the root stays there. Contents are kept for
    ``/var/task`` and ``/opt`` only; every byte added is counted against ``max_size``.
    """

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.size = 0
        self.nodes: dict[str, _Node] = {"": _Node("dir", mode=0o755)}
        self.added: set[str] = set()  # paths the current layer added (whiteouts spare them)
        for top in ("var", *_KEPT_ROOTS):
            self.nodes[top] = _Node("dir", mode=0o755)

    def count(self, size: int) -> None:
        self.size += size
        if self.size > self.max_size:
            raise _too_large(self.max_size)

    def resolve(self, path: str, *, follow_last: bool = True) -> str:
        pending, done, hops = _parts(path), list[str](), 0
        while pending:
            part = pending.pop(0)
            if part == "..":
                if done:
                    done.pop()
                continue
            node = self.nodes.get("/".join([*done, part]))
            if node is not None and node.kind == "symlink" and (pending or follow_last):
                hops += 1
                if hops > _MAX_LINK_HOPS:
                    raise _invalid(f"Too many levels of symbolic links in image path /{path}.")
                if node.target.startswith("/"):
                    done = []
                pending = _parts(node.target) + pending
                continue
            done.append(part)
        return "/".join(done)

    def is_dir(self, path: str) -> bool:
        node = self.nodes.get(self.resolve(path))
        return node is not None and node.kind == "dir"

    def _place(self, path: str) -> str:
        """Where an entry named ``path`` lands: parents resolved and created as directories."""
        parent, name = posixpath.split(path)
        where = ""
        for part in _parts(self.resolve(parent)):
            where = f"{where}/{part}" if where else part
            if self.nodes.get(where, _Node("file")).kind != "dir":
                self._drop(where)
                self.nodes[where] = _Node("dir", mode=0o755)
        final = f"{where}/{name}" if where else name
        self.added.add(final)
        return final

    def _drop(self, path: str) -> None:
        node = self.nodes.pop(path, None)
        if node is not None and node.kind == "dir":  # scan for a subtree only when there is one
            for key in [k for k in self.nodes if k.startswith(path + "/")]:
                del self.nodes[key]

    def add_dir(self, path: str, mode: int) -> None:
        final = self._place(path)
        existing = self.nodes.get(final)
        if existing is None or existing.kind != "dir":
            self._drop(final)
        self.nodes[final] = _Node("dir", mode=mode)

    def add_file(self, path: str, read: Callable[[], bytes], mode: int, size: int) -> None:
        final = self._place(path)
        self._drop(final)
        self.count(size)
        self.nodes[final] = _Node("file", read() if _kept(final) else None, mode)

    def add_symlink(self, path: str, target: str) -> None:
        depth = len(_parts(posixpath.dirname(path)))
        for part in [] if target.startswith("/") else _parts(target):
            depth += -1 if part == ".." else 1
            if depth < 0:
                raise _invalid(
                    f"Symbolic link /{path} -> {target} points outside the image: "
                    "lambda-sandbox refuses images with links that climb out of their root."
                )
        final = self._place(path)
        self._drop(final)
        self.nodes[final] = _Node("symlink", target=target)

    def add_hardlink(self, path: str, target: str) -> None:
        source = self.nodes.get(self.resolve(target, follow_last=False))
        if source is None or source.kind != "file":
            raise _invalid(f"Hard link /{path} points to /{target}, which is not a file.")
        final = self._place(path)
        self._drop(final)
        data = source.data if _kept(final) else None
        self.nodes[final] = _Node("file", data, source.mode)

    def whiteout(self, path: str) -> None:
        final = f"{self.resolve(posixpath.dirname(path))}/{posixpath.basename(path)}".lstrip("/")
        if final not in self.added:  # OCI: a whiteout hides lower layers only
            self._drop(final)

    def make_opaque(self, path: str) -> None:
        prefix = self.resolve(path) + "/"
        for key in [k for k in self.nodes if k.startswith(prefix) and k not in self.added]:
            del self.nodes[key]

    def export(self) -> tuple[dict[str, bytes], set[str]]:
        """Files under /var/task and /opt for the zip, and the executable ones."""
        files: dict[str, bytes] = {}
        executable: set[str] = set()
        for name, node in sorted(self.nodes.items()):
            if not _kept(name) or node.kind == "dir":
                continue
            for member, found in self._materialise(name, node):
                files[member] = found.data or b""
                if found.mode & 0o111:
                    executable.add(member)
        return files, executable

    def _materialise(self, name: str, node: _Node) -> Iterator[tuple[str, _Node]]:
        if node.kind == "file":
            if node.data is not None:  # None: hard link to a base-image file (dropped)
                yield name, node
            return
        try:
            real = self.resolve(name)
        except InvalidParameterValueException:
            return  # a link loop: dropped, like a dangling link
        found = self.nodes.get(real)
        if found is None or not _kept(real):
            return  # dangling, or into the base image (dropped: see the module docstring)
        if found.kind == "file":
            if found.data is not None:
                yield name, found
            return
        for key, below in sorted(self.nodes.items()):  # a link to a directory: its files
            if key.startswith(real + "/") and below.kind == "file" and below.data is not None:
                yield name + key[len(real) :], below


# --- form 3 and COPY sources: host directories ----------------------------------------------


def _inside(path: Path, root: Path) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def _walk(top: Path, context: Path) -> Iterator[tuple[str, Path]]:
    """(relative name, path) of files under ``top``, links followed inside ``context`` only.

    ``__pycache__`` and ``*.pyc`` are skipped, as when packaging a zip function.
    """
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        real = os.path.realpath(dirpath)
        if not _inside(Path(dirpath), context):
            raise _outside_context(Path(dirpath), context)
        if real in seen:  # a link back up the tree: do not go round in circles
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for filename in sorted(filenames):
            full = Path(dirpath, filename)
            if filename.endswith(".pyc") or not full.is_file():
                continue
            if not _inside(full, context):
                raise _outside_context(full, context)
            yield full.relative_to(top).as_posix(), full


def _outside_context(path: Path, context: Path) -> InvalidParameterValueException:
    return _invalid(
        f"{path} is a symbolic link to {os.path.realpath(path)}, outside the image "
        f"directory {context}: an image may only contain files from its own directory."
    )
