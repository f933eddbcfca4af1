"""The OCI image layout reader: form 2 of an image (``oci-layout`` + ``index.json``).

Why it exists: an image built elsewhere (``skopeo copy``, ``docker buildx --output
type=oci``) arrives as an OCI image layout, which is untrusted input. This module picks
the manifest (linux/amd64, else the first), verifies every blob's size and SHA-256,
applies the layers' tar entries (whiteouts included) to the image filesystem of
:mod:`._rootfs` while refusing entries that climb out of the root and device files,
counts decompressed bytes against the image quota as they stream, and reads the config.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import posixpath
import re
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, cast

from sandbox.store.images._rootfs import _TASK_ROOT, _ImageConfig, _invalid, _parts, _RootFS

_MAX_JSON = 4 * 1024 * 1024  # ECR's limit on a manifest; plenty for index and config too
_CHUNK = 1 << 20

_INDEX_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
_LAYER_TYPES = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
    }
)
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")


def _from_oci(root: Path, fs: _RootFS) -> _ImageConfig:
    index = _load_json(root / "index.json", "index.json")
    descriptor = _choose(index, "index.json")
    manifest = _blob_json(root, descriptor)
    if descriptor.get("mediaType") in _INDEX_TYPES or "manifests" in manifest:
        descriptor = _choose(manifest, f"image index {descriptor.get('digest')}")
        manifest = _blob_json(root, descriptor)
        if descriptor.get("mediaType") in _INDEX_TYPES or "manifests" in manifest:
            raise _invalid("OCI image indexes nested more than one level are not supported.")
    config_doc = _blob_json(root, _descriptor(manifest.get("config"), "config"))
    config = config_doc.get("config") or {}
    layers = manifest.get("layers")
    if not isinstance(config, dict) or not isinstance(layers, list):
        raise _invalid("OCI image manifest or config is malformed (no layers or config).")
    for layer in layers:
        _apply_layer(root, fs, _descriptor(layer, "layer"))
    env: dict[str, str] = {}
    for item in _strings(config.get("Env")):
        name, _, value = item.partition("=")
        env[name] = value
    entry_point, command = _strings(config.get("Entrypoint")), _strings(config.get("Cmd"))
    # An image without a WorkingDir runs in /, which the sandbox does not hold: /var/task.
    workdir = str(config.get("WorkingDir") or _TASK_ROOT)
    return _ImageConfig("oci", _oci_runtime(fs, env), entry_point, command, workdir, env)


def _strings(value: object) -> tuple[str, ...]:
    """A config list of strings (``null`` is empty)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _invalid(f"OCI image config has {value!r:.100} where a list of strings belongs.")
    return tuple(value)


def _platform(descriptor: dict[str, object]) -> tuple[object, object]:
    platform = descriptor.get("platform")
    if not isinstance(platform, dict):
        return (None, None)
    return (platform.get("os"), platform.get("architecture"))


def _oci_runtime(fs: _RootFS, env: dict[str, str]) -> str:
    """The runtime an image stands for: its AWS_EXECUTION_ENV, else what it contains."""
    match = re.fullmatch(
        r"AWS_Lambda_(python3\.\d+|provided\.al2023|provided\.al2)",
        env.get("AWS_EXECUTION_ENV", ""),
    )
    if match:
        return match.group(1)
    versions = [
        m.group(1) for k in fs.nodes if (m := re.fullmatch(r"var/lang/bin/python(3\.\d+)", k))
    ]
    if versions:  # the AWS Python base image's interpreter
        return "python" + max(versions, key=lambda v: int(v.split(".")[1]))
    has_python = any(re.fullmatch(r"(usr/(local/)?bin|var/lang/bin)/python3?", k) for k in fs.nodes)
    bootstrap = ("var/runtime/bootstrap", "var/task/bootstrap", "opt/bootstrap")
    if any(name in fs.nodes for name in bootstrap) and not has_python:
        return "provided.al2023"
    return "python3.13"


def _descriptor(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict) or not isinstance(value.get("digest"), str):
        raise _invalid(f"OCI image {what} descriptor is malformed: {value!r:.200}")
    return cast(dict[str, object], value)


def _choose(index: dict[str, object], where: str) -> dict[str, object]:
    """The manifest to use from an index: linux/amd64, else the first (attestations skipped)."""
    manifests = index.get("manifests")
    listed = [_descriptor(m, "manifest") for m in manifests] if isinstance(manifests, list) else []
    # buildx lists attestations as platform unknown/unknown: they are not images.
    candidates = [m for m in listed if _platform(m)[0] != "unknown"]
    if not candidates:
        raise _invalid(f"OCI {where} lists no image manifest.")
    return next((m for m in candidates if _platform(m) == ("linux", "amd64")), candidates[0])


def _load_json(path: Path, what: str) -> dict[str, object]:
    if path.stat().st_size > _MAX_JSON:
        raise _invalid(f"OCI {what} is larger than {_MAX_JSON} bytes.")
    try:
        value = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _invalid(f"OCI {what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise _invalid(f"OCI {what} is not a JSON object.")
    return cast(dict[str, object], value)


def _blob(root: Path, descriptor: dict[str, object], max_bytes: int | None = None) -> Path:
    """The blob a descriptor names, after checking its size and SHA-256."""
    digest = str(descriptor["digest"])
    match = _DIGEST.fullmatch(digest)
    if match is None:
        raise _invalid(f"OCI blob digest {digest!r:.100} is not supported (sha256 only).")
    path = root / "blobs" / "sha256" / match.group(1)
    if not path.is_file() or path.is_symlink():
        raise _invalid(f"OCI blob {digest} is missing from {root}.")
    size = descriptor.get("size")
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise _invalid(f"OCI blob {digest} is larger than {max_bytes} bytes.")
    if isinstance(size, int) and path.stat().st_size != size:
        raise _invalid(f"OCI blob {digest} has {path.stat().st_size} bytes, not {size}.")
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha.update(chunk)
    if sha.hexdigest() != match.group(1):
        raise _invalid(f"OCI blob {digest} does not match its digest (sha256:{sha.hexdigest()}).")
    return path


def _blob_json(root: Path, descriptor: dict[str, object]) -> dict[str, object]:
    return _load_json(_blob(root, descriptor, _MAX_JSON), f"blob {descriptor['digest']}")


class _Counted:
    """A read-only stream that counts the bytes read from it against the image quota."""

    def __init__(self, read: Callable[[int], bytes], fs: _RootFS) -> None:
        self._read, self.fs = read, fs

    def read(self, size: int = -1) -> bytes:
        data = self._read(size)
        self.fs.count(len(data))
        return data


def _apply_layer(root: Path, fs: _RootFS, descriptor: dict[str, object]) -> None:
    media_type = str(descriptor.get("mediaType", ""))
    if media_type not in _LAYER_TYPES:
        raise _invalid(
            f"OCI layer media type {media_type!r} is not supported: use uncompressed or "
            "gzip tar layers (application/vnd.oci.image.layer.v1.tar[+gzip])."
        )
    path = _blob(root, descriptor)
    fs.added = set()
    try:
        with path.open("rb") as raw:
            magic = raw.read(2)
            raw.seek(0)
            read = gzip.GzipFile(fileobj=raw).read if magic == b"\x1f\x8b" else raw.read
            # Bytes are counted as they are decompressed, so members are added with size 0.
            counted = cast(IO[bytes], _Counted(read, fs))
            with tarfile.open(fileobj=counted, mode="r|") as tar:
                for member in tar:
                    _apply_member(fs, tar, member)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise _invalid(
            f"OCI layer {descriptor['digest']} is not a valid tar archive: {exc}"
        ) from exc


def _apply_member(fs: _RootFS, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
    parts = _parts(member.name)
    if ".." in parts:
        raise _invalid(f"OCI layer entry {member.name!r} escapes the image root.")
    name = "/".join(parts)
    if not name:
        return  # the root directory itself
    parent, base = posixpath.split(name)
    if base == ".wh..wh..opq":  # OCI opaque whiteout: hide the lower layers' directory
        fs.make_opaque(parent)
    elif base.startswith(".wh."):  # OCI whiteout: delete a lower layer's file
        fs.whiteout(posixpath.join(parent, base[4:]))
    elif member.isdir():
        fs.add_dir(name, member.mode)
    elif member.isreg():
        extracted = tar.extractfile(member)
        assert extracted is not None  # a regular file always has a data stream
        fs.add_file(name, extracted.read, member.mode, 0)  # already counted as read
    elif member.issym():
        fs.add_symlink(name, member.linkname)
    elif member.islnk():
        target = _parts(member.linkname)
        if ".." in target:
            raise _invalid(f"OCI layer hard link {member.name!r} escapes the image root.")
        fs.add_hardlink(name, "/".join(target))
    else:
        raise _invalid(
            f"OCI layer entry {member.name!r} is a device or FIFO: images for lambda-sandbox "
            "may hold only files, directories and links."
        )
