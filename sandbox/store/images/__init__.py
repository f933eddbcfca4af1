"""Turn a local "container image" into the immutable package of a ``PackageType="Image"`` function.

Why it exists: on AWS an image function points at an ECR image (spec §6, §10: up to 10 GB
uncompressed). The sandbox has no Docker and no registry, so an image is a local directory
in one of three forms, and this module reduces each to what the rest of the sandbox needs:
a deterministic zip of the image's ``/var/task`` and ``/opt`` trees plus the image config
(runtime, ENTRYPOINT, CMD, WORKDIR, ENV).

1. A directory with a ``Dockerfile`` - what students write. A small, strict subset of the
   Dockerfile language is interpreted on top of an AWS Lambda base image: ``FROM`` (one
   stage), ``ARG``, ``ENV``, ``WORKDIR``, ``COPY``/``ADD`` of local files, ``CMD``,
   ``ENTRYPOINT`` and metadata. ``RUN`` is refused: there is nothing to run it in, so
   dependencies are vendored into the directory and copied like code.
2. An OCI image layout (``oci-layout`` + ``index.json``), e.g. from ``skopeo copy`` or
   ``docker buildx --output type=oci``. It is untrusted input: digests are verified, layer
   entries may not climb out of the root, device files are refused, and the decompressed
   size is counted as it streams, against the image quota.
3. Any other directory: its contents are ``/var/task`` of a python3.13 base image.

Dockerfile choices: ``ARG`` may come before ``FROM`` and is then usable in ``FROM`` only,
as in Docker; a ``COPY`` destination or ``WORKDIR`` outside ``/var/task`` and ``/opt`` is
refused; ``ADD`` of a URL or of a tar archive (which Docker would extract) is refused;
``.dockerignore`` is not read (there is no build context to send, so nothing to trim).

Only ``/var/task`` and ``/opt`` are kept, because that is all the sandbox's image
filesystem holds; the base image's own files (``/var/lang``, ``/var/runtime``) are the
host's Python here. Symbolic links inside those trees are *materialised*: the zip holds a
copy of the target's content (a link to a directory: copies of the files below it), since
``build_zip`` writes regular files only. Links into the rest of the image (``/etc/...``),
dangling links and link loops are dropped; links that climb out of the image root are
refused, as are links out of the image directory when building from a Dockerfile.

The package is split by job: ``_rootfs`` holds the in-memory image filesystem, the
host-directory walk and the quota; ``_dockerfile`` interprets form 1; ``_oci`` reads
form 2. This module picks the form and packages the result.
"""

from __future__ import annotations

import hashlib
import os
import stat
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.store.images._dockerfile import _BASE_ENTRY_POINT, _BASE_ENV, _from_dockerfile
from sandbox.store.images._oci import _from_oci
from sandbox.store.images._rootfs import (
    _TASK_ROOT,
    MAX_IMAGE_SIZE,
    Source,
    _invalid,
    _RootFS,
    _too_large,
    _walk,
)
from sandbox.store.packaging import build_zip

__all__ = ["MAX_IMAGE_SIZE", "ImagePackage", "build_image"]


@dataclass(frozen=True, slots=True)
class ImagePackage:
    """A container image, reduced to what an image function runs from.

    Attributes:
        zip_bytes: deterministic zip of the image filesystem, entries ``var/task/...`` and
            ``opt/...`` only, execute bits kept; symbolic links become copies of their
            targets (links to files outside those trees, or dangling, are dropped).
        digest: ``"sha256:<hex>"`` of ``zip_bytes``: same content, same digest.
        runtime: ``"python3.12"``, ``"provided.al2023"``, ...
        entry_point: the image's ENTRYPOINT.
        command: the image's CMD (empty when the function's ImageConfig must give it).
        working_directory: the image's WORKDIR.
        environment: the image's ENV, base image defaults first, in order.
        source: ``"dockerfile"``, ``"oci"`` or ``"directory"``.
        unzipped_size: bytes of the files in ``zip_bytes``.
    """

    zip_bytes: bytes = field(repr=False)
    digest: str
    runtime: str
    entry_point: tuple[str, ...]
    command: tuple[str, ...]
    working_directory: str
    environment: dict[str, str]
    source: str
    unzipped_size: int


def build_image(path: str | os.PathLike[str], *, max_size: int = MAX_IMAGE_SIZE) -> ImagePackage:
    """Build the package of an image function from a local directory (or ``file://`` URI).

    The directory holds a ``Dockerfile`` (interpreted, see the module docstring), an OCI
    image layout, or just the function's files (they become ``/var/task``). A path to a
    ``Dockerfile`` itself builds from its directory.

    Args:
        path: the image directory, or a ``file://`` URI naming it.
        max_size: the quota on uncompressed image bytes (spec §10: 10 GB).

    Returns:
        The image's files as a deterministic zip, and its config.

    Raises:
        InvalidParameterValueException: a missing path, a refused Dockerfile instruction,
            an unsafe or corrupt OCI layout, or an image over ``max_size``.
    """
    uri = os.fspath(path)
    local = urllib.parse.unquote(uri.removeprefix("file://")) if uri.startswith("file:") else uri
    root = Path(local).expanduser()
    if not root.exists():
        # AWS's message when CreateFunction's ImageUri names no image in ECR.
        raise _invalid(f"Source image {uri} does not exist. Provide a valid source image.")
    if root.is_file() and root.name == "Dockerfile":
        root = root.parent
    if not root.is_dir():
        raise _invalid(
            f"Source image {uri} is not a directory. lambda-sandbox builds images from a "
            "directory holding a Dockerfile, an OCI image layout or the function's files."
        )
    fs = _RootFS(max_size)
    if (root / "oci-layout").is_file() and (root / "index.json").is_file():
        return _package(fs, *_from_oci(root, fs))
    if (root / "Dockerfile").is_file():
        return _package(fs, *_from_dockerfile(root, fs))
    for name, full in _walk(root, root):
        info = full.stat()
        fs.add_file(f"var/task/{name}", full.read_bytes, stat.S_IMODE(info.st_mode), info.st_size)
    env = dict(_BASE_ENV)
    return _package(fs, "directory", "python3.13", _BASE_ENTRY_POINT, (), _TASK_ROOT, env)


def _package(
    fs: _RootFS,
    source: Source,
    runtime: str,
    entry_point: tuple[str, ...],
    command: tuple[str, ...],
    working_directory: str,
    environment: dict[str, str],
) -> ImagePackage:
    files, executable = fs.export()
    unzipped = sum(map(len, files.values()))
    if unzipped > fs.max_size:  # materialised links can add bytes
        raise _too_large(fs.max_size)
    zip_bytes = build_zip(files, executable=executable)
    return ImagePackage(
        zip_bytes=zip_bytes,
        digest="sha256:" + hashlib.sha256(zip_bytes).hexdigest(),
        runtime=runtime,
        entry_point=entry_point,
        command=command,
        working_directory=working_directory,
        environment=environment,
        source=source,
        unzipped_size=unzipped,
    )
