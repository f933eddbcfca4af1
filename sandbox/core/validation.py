"""Parameter validation for functions, versions and aliases, with AWS's messages.

Two kinds of refusal exist on AWS and both are kept: the API model's constraints
(``ValidationException``, "1 validation error detected: ...") and the service's own rules
(``InvalidParameterValueException``). Sources: botocore's Lambda model and spec §1.2, §5, §10.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from sandbox.errors import InvalidParameterValueException, validation_error

__all__ = [
    "DEPRECATED_RUNTIMES",
    "EXECUTABLE_RUNTIMES",
    "RESERVED_ENVIRONMENT_KEYS",
    "RUNTIMES",
    "validate_architectures",
    "validate_description",
    "validate_environment",
    "validate_ephemeral_storage",
    "validate_function_name_for_create",
    "validate_handler",
    "validate_memory_size",
    "validate_role",
    "validate_routing_weights",
    "validate_runtime",
    "validate_timeout",
]

# botocore Lambda model, shape Runtime (order kept: AWS prints the enum in this order).
RUNTIMES: tuple[str, ...] = (
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "java8",
    "java8.al2",
    "java11",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "python3.9",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "dotnet8",
    "nodejs4.3-edge",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "provided",
    "provided.al2",
    "nodejs18.x",
    "python3.10",
    "java17",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "python3.11",
    "nodejs20.x",
    "provided.al2023",
    "python3.12",
    "java21",
    "python3.13",
    "nodejs22.x",
    "nodejs24.x",
    "python3.14",
    "java25",
    "dotnet10",
    "ruby4.0",
)

# Runtimes AWS no longer lets you create or update functions with (deprecation policy).
DEPRECATED_RUNTIMES: frozenset[str] = frozenset(
    {
        "nodejs",
        "nodejs4.3",
        "nodejs6.10",
        "nodejs8.10",
        "nodejs10.x",
        "nodejs12.x",
        "nodejs14.x",
        "nodejs4.3-edge",
        "java8",
        "python2.7",
        "python3.6",
        "python3.7",
        "python3.8",
        "dotnetcore1.0",
        "dotnetcore2.0",
        "dotnetcore2.1",
        "dotnetcore3.1",
        "dotnet6",
        "go1.x",
        "ruby2.5",
        "ruby2.7",
        "provided",
    }
)

# What the sandbox can actually run: Python runtimes, on the host interpreter
# (docs/fidelity.md). Other runtimes can be created but not invoked.
EXECUTABLE_RUNTIMES: frozenset[str] = frozenset(
    {
        "python3.9",
        "python3.10",
        "python3.11",
        "python3.12",
        "python3.13",
        "python3.14",
        # OS-only runtimes: the function's (or a layer's) `bootstrap` drives the Runtime API
        "provided.al2023",
        "provided.al2",
    }
)

# spec §1.2: keys Lambda sets itself and refuses to let a user set.
RESERVED_ENVIRONMENT_KEYS: frozenset[str] = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)

_NAME_PATTERN = r"[a-zA-Z0-9-_]+"
_ROLE_PATTERN = r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
_ENV_KEY_PATTERN = r"[a-zA-Z]([a-zA-Z0-9_])+"
_ENV_LIMIT = 4096  # spec §10: 4 KB of environment variables per function


def validate_function_name_for_create(name: str, plain: str) -> None:
    """CreateFunction takes a name, a partial or a full ARN (``plain`` is its name part,
    already parsed); the name part is at most 64 characters."""
    if len(plain) > 64:
        raise validation_error(
            name, "functionName", "Member must have length less than or equal to 64"
        )


def validate_runtime(runtime: str) -> None:
    if runtime not in RUNTIMES:
        raise validation_error(
            runtime, "runtime", f"Member must satisfy enum value set: [{', '.join(RUNTIMES)}]"
        )
    if runtime in DEPRECATED_RUNTIMES:
        # AWS runtime deprecation policy: no create or update on a deprecated runtime.
        raise InvalidParameterValueException(
            f"The runtime parameter of {runtime} is no longer supported for creating or "
            "updating AWS Lambda functions. We recommend you use the new runtime "
            f"({_successor(runtime)}) while creating or updating functions."
        )


def _successor(runtime: str) -> str:
    """The runtime AWS recommends instead of a deprecated one (same language family)."""
    for prefix, successor in (
        ("python", "python3.13"),
        ("nodejs", "nodejs22.x"),
        ("java", "java21"),
        ("dotnet", "dotnet8"),
        ("ruby", "ruby3.3"),
    ):
        if runtime.startswith(prefix):
            return successor
    return "provided.al2023"


def validate_handler(handler: str) -> None:
    if len(handler) > 128:
        raise validation_error(
            handler, "handler", "Member must have length less than or equal to 128"
        )
    if not re.fullmatch(r"[^\s]+", handler):
        raise validation_error(
            handler, "handler", r"Member must satisfy regular expression pattern: [^\s]+"
        )


def validate_memory_size(memory_size: int) -> None:
    if memory_size < 128:
        raise validation_error(
            memory_size, "memorySize", "Member must have value greater than or equal to 128"
        )
    if memory_size > 10240:
        # The model allows 32,768 for Managed Instances only; standard functions stop at 10,240.
        raise InvalidParameterValueException(
            "'MemorySize' value failed to satisfy constraint: "
            "Member must have value less than or equal to 10240"
        )


def validate_timeout(timeout: int) -> None:
    if timeout < 1:
        raise validation_error(
            timeout, "timeout", "Member must have value greater than or equal to 1"
        )
    if timeout > 900:
        raise validation_error(
            timeout, "timeout", "Member must have value less than or equal to 900"
        )


def validate_description(description: str) -> None:
    if len(description) > 256:
        raise validation_error(
            description, "description", "Member must have length less than or equal to 256"
        )


def validate_ephemeral_storage(size: int) -> None:
    if size < 512:
        raise validation_error(
            size, "ephemeralStorage.size", "Member must have value greater than or equal to 512"
        )
    if size > 10240:
        raise validation_error(
            size, "ephemeralStorage.size", "Member must have value less than or equal to 10240"
        )


def validate_role(role: str) -> None:
    if not re.fullmatch(_ROLE_PATTERN, role):
        raise validation_error(
            role, "role", f"Member must satisfy regular expression pattern: {_ROLE_PATTERN}"
        )


def validate_architectures(architectures: tuple[str, ...]) -> None:
    if len(architectures) != 1:
        raise validation_error(
            list(architectures),
            "architectures",
            "Member must have length less than or equal to 1"
            if architectures
            else "Member must have length greater than or equal to 1",
        )
    if architectures[0] not in ("x86_64", "arm64"):
        raise validation_error(
            list(architectures),
            "architectures",
            "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]",
        )


def validate_environment(variables: Mapping[str, str]) -> None:
    """spec §1.2: key pattern, values as strings, reserved keys, 4 KB in total."""
    for key, value in variables.items():
        if not isinstance(key, str) or not re.fullmatch(_ENV_KEY_PATTERN, key):
            raise validation_error(
                "[" + ", ".join(map(str, variables)) + "]",
                "environment.variables",
                "Map keys must satisfy constraint: "
                f"[Member must satisfy regular expression pattern: {_ENV_KEY_PATTERN}]",
            )
        if not isinstance(value, str):
            raise InvalidParameterValueException(
                f"Environment variable {key} must be a string, not {type(value).__name__}."
            )
    reserved = [key for key in variables if key in RESERVED_ENVIRONMENT_KEYS]
    if reserved:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the "
            "environment variables you have provided contains reserved keys that are "
            "currently not supported for modification. Reserved keys used in this request: "
            + ",".join(reserved)
        )
    measured = json.dumps(dict(variables), separators=(",", ":"))
    if len(measured.encode()) > _ENV_LIMIT:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the "
            "environment variables you have provided exceeded the 4KB limit. "
            f"String measured: {measured}"
        )


def validate_routing_weights(primary: str, weights: Mapping[str, float]) -> None:
    """An alias routes to at most one extra numbered version with a weight in [0, 1]
    (spec §5)."""
    if len(weights) > 1:
        raise InvalidParameterValueException(
            "Number of items in AdditionalVersionWeights cannot be greater than 1"
        )
    for version, weight in weights.items():
        if not re.fullmatch(r"[0-9]+", version):
            raise validation_error(
                "{" + ", ".join(f"{k}={v}" for k, v in weights.items()) + "}",
                "routingConfig.additionalVersionWeights",
                "Map keys must satisfy constraint: [Member must have length less than or equal "
                "to 1024, Member must have length greater than or equal to 1, Member must "
                "satisfy regular expression pattern: [0-9]+]",
            )
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not 0.0 <= weight <= 1.0
        ):
            raise validation_error(
                "{" + ", ".join(f"{k}={v}" for k, v in weights.items()) + "}",
                "routingConfig.additionalVersionWeights",
                "Map value must satisfy constraint: [Member must have value less than or equal "
                "to 1.0, Member must have value greater than or equal to 0.0]",
            )
        if version == primary:
            raise InvalidParameterValueException(
                f"Invalid function version {version}. Function version {version} is already "
                "included in routing configuration."
            )
    if weights and primary == "$LATEST":
        raise InvalidParameterValueException(
            "$LATEST is not supported for an alias pointing to more than 1 version"
        )
