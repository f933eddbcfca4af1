"""A function's code, by package type: a zip package or a resolved container image.

What CreateFunction and UpdateFunctionCode share — which settings go with which package
type (AWS refuses a runtime, handler or layers for an image, and an ``ImageConfig`` for a
zip), what the code makes of the handler, and the 250 MB quota on a function and its layers
unzipped together (spec §6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.core.models import FunctionConfiguration, LayerReference
from sandbox.core.validation import validate_handler, validate_runtime
from sandbox.errors import InvalidParameterValueException, validation_error
from sandbox.service.images import (
    IMAGE_REFUSES_ZIP_SETTINGS,
    image_code,
    image_config_of,
    resolve_handler,
)
from sandbox.store.artifacts import MAX_UNZIPPED_SIZE, unzipped_too_large
from sandbox.store.packaging import CodePackage, package_code

__all__ = [
    "DEFAULT_HANDLER",
    "DEFAULT_RUNTIME",
    "IMAGE_CONFIG_ON_ZIP",
    "FunctionCode",
    "check_unzipped",
    "code_for_create",
    "code_for_update",
]

DEFAULT_RUNTIME = "python3.13"
DEFAULT_HANDLER = "lambda_function.lambda_handler"
IMAGE_CONFIG_ON_ZIP = "ImageConfig is only valid for functions with PackageType Image."


@dataclass(frozen=True, slots=True)
class FunctionCode:
    """A function's code and what follows from it: a zip package or a resolved image."""

    zip_bytes: bytes
    code_sha256: str
    code_size: int
    unzipped_size: int
    runtime: str
    handler: str
    image_uri: str | None = None
    image_config: Mapping[str, object] = field(default_factory=dict)
    image: Mapping[str, object] = field(default_factory=dict)

    def settings(self) -> dict[str, Any]:
        return {
            "code_sha256": self.code_sha256,
            "code_size": self.code_size,
            "unzipped_size": self.unzipped_size,
            "runtime": self.runtime,
            "handler": self.handler,
            "image_uri": self.image_uri,
            "image_config": self.image_config,
            "image": self.image,
        }


def _zip_code(package: CodePackage, runtime: str, handler: str) -> FunctionCode:
    return FunctionCode(
        package.zip_bytes,
        package.code_sha256,
        package.code_size,
        package.unzipped_size,
        runtime,
        handler,
    )


def _image_code(code: object, image_config: Mapping[str, object]) -> FunctionCode:
    image = image_code(code)
    return FunctionCode(
        image.package.zip_bytes,
        image.code_sha256,
        0,  # AWS reports CodeSize 0 for an image function
        image.package.unzipped_size,
        str(image.image["Runtime"]),
        resolve_handler(image.image, image_config),
        image.image_uri,
        image_config,
        image.image,
    )


def code_for_create(
    package_type: str,
    code: object,
    runtime: str | None,
    handler: str | None,
    layers: Sequence[str],
    image_config: Mapping[str, object] | None,
) -> FunctionCode:
    """CreateFunction's code, by package type, with AWS's refusals of mixed settings."""
    if package_type not in ("Zip", "Image"):
        raise validation_error(
            package_type, "packageType", "Member must satisfy enum value set: [Image, Zip]"
        )
    if package_type == "Image":
        if runtime or handler or layers:
            raise InvalidParameterValueException(IMAGE_REFUSES_ZIP_SETTINGS)
        return _image_code(code, image_config_of(image_config))
    if image_config:
        raise InvalidParameterValueException(IMAGE_CONFIG_ON_ZIP)
    package = package_code(code)
    runtime = runtime or DEFAULT_RUNTIME
    handler = handler or package.default_handler or DEFAULT_HANDLER
    validate_runtime(runtime)
    validate_handler(handler)
    return _zip_code(package, runtime, handler)


def code_for_update(
    current: FunctionConfiguration, code: object, zip_file: bytes | None, image_uri: str | None
) -> FunctionCode:
    """UpdateFunctionCode's new code: the same package type as the function's."""
    if current.package_type == "Image":
        source = image_uri if image_uri is not None else code
        not_a_uri = isinstance(source, bytes | bytearray) or (
            isinstance(source, str) and "\n" in source
        )
        if zip_file is not None or source is None or not_a_uri or callable(source):
            raise InvalidParameterValueException(
                "Please provide ImageUri when updating a function with packageType Image."
            )
        return _image_code(source, current.image_config)
    if image_uri is not None:
        raise InvalidParameterValueException(
            "Please don't provide ImageUri when updating a function with packageType Zip."
        )
    source = zip_file if zip_file is not None else code
    if source is None:
        raise InvalidParameterValueException(
            "Please provide a source for function code: ZipFile, a path, source text or a callable."
        )
    package = package_code(source, operation="UpdateFunctionCode")
    return _zip_code(package, current.runtime, current.handler)


def check_unzipped(function_unzipped: int, layers: Sequence[LayerReference]) -> None:
    # spec §6: function + all layers unzipped <= 250 MB
    if function_unzipped + sum(layer.unzipped_size for layer in layers) > MAX_UNZIPPED_SIZE:
        raise unzipped_too_large(MAX_UNZIPPED_SIZE)
