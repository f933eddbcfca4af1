"""Container-image functions (``PackageType="Image"``): from a local image to a version.

Why it exists: on AWS an image function names an image in ECR by tag; Lambda resolves the
tag to a digest when the function is created or its code updated, and that digest is what
runs from then on. Here the image is a local directory (a Dockerfile's build context, an
OCI image layout, or a plain directory — :func:`sandbox.store.images.build_image`), and
"resolving" it snapshots it into the content-addressed store, so editing the directory
afterwards changes nothing until ``update_function_code`` — as pushing a new image to the
same tag does nothing on AWS until then.

The image's ENTRYPOINT, CMD and WORKDIR can be overridden by the function's
``ImageConfig`` (``EntryPoint``, ``Command``, ``WorkingDirectory``); on the Python base
image the effective CMD's first word is the handler.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sandbox.errors import InvalidParameterValueException, validation_error
from sandbox.store.images import ImagePackage, build_image

__all__ = [
    "BASE_ENTRY_POINT",
    "IMAGE_REFUSES_ZIP_SETTINGS",
    "ImageCode",
    "image_code",
    "image_config_of",
    "image_uri_of",
    "resolve_handler",
]

BASE_ENTRY_POINT = ("/lambda-entrypoint.sh",)
# AWS's 400 for Runtime, Handler or Layers given with PackageType Image (spec §6: image
# functions use no layers).
IMAGE_REFUSES_ZIP_SETTINGS = (
    "Please don't provide Handler or Runtime or Layer when the intended function "
    "PackageType is Image."
)
_IMAGE_CONFIG_KEYS = ("EntryPoint", "Command", "WorkingDirectory")


@dataclass(frozen=True, slots=True)
class ImageCode:
    """An image resolved for a function: the snapshot to store and what it runs.

    Attributes:
        package: the image's files and metadata (see :class:`ImagePackage`).
        image_uri: what the caller named (a path or ``file://`` URI).
        image: the sandbox's record of the image (digest, runtime, ENTRYPOINT, CMD,
            WORKDIR, ENV), kept with the version.
    """

    package: ImagePackage
    image_uri: str
    image: dict[str, object] = field(default_factory=dict)

    @property
    def code_sha256(self) -> str:
        return base64.b64encode(bytes.fromhex(self.package.digest.removeprefix("sha256:"))).decode()


def image_uri_of(code: object) -> str:
    """The image a ``Code`` argument names: boto3's ``{"ImageUri": ...}``, a path or a
    ``file://`` URI."""
    if isinstance(code, Mapping):
        unsupported = sorted(str(k) for k in code if k != "ImageUri")
        uri = code.get("ImageUri")
        if unsupported or not isinstance(uri, str):
            raise InvalidParameterValueException(
                "A function with PackageType Image takes Code={'ImageUri': <path of a local "
                "image: a directory with a Dockerfile, an OCI image layout, or a directory>}."
            )
        return uri
    if isinstance(code, str | os.PathLike):
        return os.fspath(code)
    raise InvalidParameterValueException(
        f"Cannot use an object of type {type(code).__name__} as an image: give "
        "Code={'ImageUri': <path>} or a path."
    )


def image_config_of(image_config: Mapping[str, object] | None) -> dict[str, object]:
    """A validated ``ImageConfig``: ``EntryPoint`` and ``Command`` lists of strings (at
    most 1,500), ``WorkingDirectory`` a string of at most 1,000 characters."""
    if not image_config:
        return {}
    out: dict[str, object] = {}
    for key, value in image_config.items():
        if key not in _IMAGE_CONFIG_KEYS:
            raise InvalidParameterValueException(
                f"ImageConfig has no member {key!r}: it takes EntryPoint, Command and "
                "WorkingDirectory."
            )
        member = "imageConfig." + key[0].lower() + key[1:]
        if key == "WorkingDirectory":
            if not isinstance(value, str) or len(value) > 1000:
                raise validation_error(
                    value, member, "Member must have length less than or equal to 1000"
                )
            out[key] = value
            continue
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise InvalidParameterValueException(f"ImageConfig.{key} must be a list of strings.")
        if len(value) > 1500:
            raise validation_error(
                list(value), member, "Member must have length less than or equal to 1500"
            )
        out[key] = [str(word) for word in value]
    return out


def image_code(code: object) -> ImageCode:
    """Snapshot the image ``code`` names.

    Raises:
        InvalidParameterValueException: no such image, or one the sandbox cannot read.
    """
    uri = image_uri_of(code)
    package = build_image(uri)
    record: dict[str, object] = {
        "Digest": package.digest,
        "Runtime": package.runtime,
        "EntryPoint": list(package.entry_point),
        "Command": list(package.command),
        "WorkingDirectory": package.working_directory,
        "Environment": dict(package.environment),
        "Source": package.source,
        "ResolvedImageUri": f"{uri}@{package.digest}",
    }
    return ImageCode(package, uri, record)


def _words(value: object) -> tuple[str, ...]:
    return tuple(str(w) for w in value) if isinstance(value, list | tuple) else ()


def effective(
    image: Mapping[str, object], image_config: Mapping[str, object]
) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """ENTRYPOINT, CMD and WORKDIR after the function's ``ImageConfig`` overrides."""
    entry = _words(image_config["EntryPoint"]) if "EntryPoint" in image_config else None
    command = _words(image_config["Command"]) if "Command" in image_config else None
    workdir = image_config.get("WorkingDirectory") or image.get("WorkingDirectory")
    return (
        entry if entry is not None else _words(image.get("EntryPoint")),
        command if command is not None else _words(image.get("Command")),
        str(workdir or "/var/task"),
    )


def resolve_handler(image: Mapping[str, object], image_config: Mapping[str, object]) -> str:
    """The handler an image function runs: the first word of its effective CMD.

    Raises:
        InvalidParameterValueException: a custom runtime or entry point (they speak the
            Runtime API, which arrives with the Extensions issue), or no CMD at all.
    """
    entry, command, _ = effective(image, image_config)
    runtime = str(image.get("Runtime", ""))
    if not runtime.startswith("python") or entry not in (BASE_ENTRY_POINT, ()):
        what = (
            f"runtime {runtime}"
            if not runtime.startswith("python")
            else (f"ENTRYPOINT {list(entry)}")
        )
        raise InvalidParameterValueException(
            f"The image's {what} needs a runtime that speaks the Lambda Runtime API itself; "
            "this release of the sandbox runs images built on the AWS Python base image "
            "(FROM public.ecr.aws/lambda/python:3.x, ENTRYPOINT /lambda-entrypoint.sh)."
        )
    if not command:
        raise InvalidParameterValueException(
            "The image has no CMD, so Lambda would not know the handler: add "
            'CMD ["app.handler"] to the Dockerfile, or pass '
            'image_config={"Command": ["app.handler"]}.'
        )
    return command[0]
