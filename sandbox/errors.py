"""The one exception tree of lambda-sandbox.

Every error a user can cause carries the AWS error code, HTTP status and the AWS message
wording (``../shared/spec/lambda-semantics.md``), so that what a student sees here is what
boto3 would raise against real Lambda. Function failures are *results* (an AWS error
payload), never exceptions from this tree.

Hierarchy::

    SandboxError                          anything raised by lambda-sandbox
    ├── SandboxClosedError                the Sandbox (or one of its parts) was closed
    ├── StoreError                        the embedded store is unusable (corrupt, locked, ...)
    └── LambdaError                       an AWS-shaped error: .code, .status_code, .message
        ├── ValidationException                   400  request fails the API model
        ├── InvalidParameterValueException        400  a parameter value is not allowed
        ├── InvalidRequestContentException        400  the request body is not valid JSON
        ├── CodeStorageExceededException          400  code storage quota
        ├── PolicyLengthExceededException         400  a resource-based policy over 20 KB
        ├── ResourceInUseException                400  the resource is being changed
        ├── RecursiveInvocationException          400  a recursive loop was stopped
        ├── AccessDeniedException                 403  another account's resource, not granted
        ├── ResourceNotFoundException             404  function, version, alias, layer ...
        ├── ProvisionedConcurrencyConfigNotFoundException   404
        ├── ResourceConflictException             409  state or existence conflict
        ├── PreconditionFailedException           412  RevisionId / CodeSha256 precondition
        ├── RequestTooLargeException              413  payload over the limit
        ├── UnsupportedMediaTypeException         415
        ├── TooManyRequestsException              429  throttled: .reason, .retry_after_seconds
        ├── ServiceException                      500  the sandbox itself failed
        ├── InvalidRuntimeException               502
        ├── InvalidZipFileException               502
        └── ResourceNotReadyException             502

``Sandbox.exceptions`` exposes this module, mirroring boto3's ``client.exceptions``.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDeniedException",
    "CodeStorageExceededException",
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "InvalidRuntimeException",
    "InvalidZipFileException",
    "LambdaError",
    "PolicyLengthExceededException",
    "PreconditionFailedException",
    "ProvisionedConcurrencyConfigNotFoundException",
    "RecursiveInvocationException",
    "RequestTooLargeException",
    "ResourceConflictException",
    "ResourceInUseException",
    "ResourceNotFoundException",
    "ResourceNotReadyException",
    "SandboxClosedError",
    "SandboxError",
    "ServiceException",
    "StoreError",
    "TooManyRequestsException",
    "UnsupportedMediaTypeException",
    "ValidationException",
    "validation_error",
]


class SandboxError(Exception):
    """Root of every exception raised by lambda-sandbox."""


class SandboxClosedError(SandboxError):
    """The Sandbox, or the part of it that was used, has been closed."""


class StoreError(SandboxError):
    """The embedded store cannot be used (corrupt file, schema from a newer release...)."""


class LambdaError(SandboxError):
    """An error with AWS's shape: an error code, an HTTP status and AWS's message.

    Attributes:
        code: the AWS error code, e.g. ``"ResourceNotFoundException"`` (the wire name, what
            botocore puts in ``error.response["Error"]["Code"]``).
        status_code: the HTTP status AWS answers with.
        message: AWS's message text.
        type: ``"User"`` for caller errors, ``"Service"`` for platform failures.
    """

    code: ClassVar[str] = "ServiceException"
    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "User"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def type(self) -> str:
        return self.error_type

    def __str__(self) -> str:
        return self.message

    def to_aws(self) -> dict[str, object]:
        """The JSON error body AWS returns (``Type``, ``message`` and any extra members)."""
        return {"Type": self.error_type, "message": self.message}


class ValidationException(LambdaError):
    code = "ValidationException"
    status_code = 400


class InvalidParameterValueException(LambdaError):
    code = "InvalidParameterValueException"
    status_code = 400


class InvalidRequestContentException(LambdaError):
    code = "InvalidRequestContentException"
    status_code = 400


class CodeStorageExceededException(LambdaError):
    code = "CodeStorageExceededException"
    status_code = 400


class PolicyLengthExceededException(LambdaError):
    code = "PolicyLengthExceededException"
    status_code = 400


class ResourceInUseException(LambdaError):
    code = "ResourceInUseException"
    status_code = 400


class RecursiveInvocationException(LambdaError):
    code = "RecursiveInvocationException"
    status_code = 400


class AccessDeniedException(LambdaError):
    """Another account's resource that no resource-based policy shares with the caller."""

    code = "AccessDeniedException"
    status_code = 403


class ResourceNotFoundException(LambdaError):
    code = "ResourceNotFoundException"
    status_code = 404


class ProvisionedConcurrencyConfigNotFoundException(LambdaError):
    code = "ProvisionedConcurrencyConfigNotFoundException"
    status_code = 404


class ResourceConflictException(LambdaError):
    code = "ResourceConflictException"
    status_code = 409


class PreconditionFailedException(LambdaError):
    code = "PreconditionFailedException"
    status_code = 412


class RequestTooLargeException(LambdaError):
    """Payload over a limit. The wire code is ``RequestEntityTooLargeException``."""

    code = "RequestEntityTooLargeException"
    status_code = 413


class UnsupportedMediaTypeException(LambdaError):
    code = "UnsupportedMediaTypeException"
    status_code = 415


class TooManyRequestsException(LambdaError):
    """A throttle. ``reason`` is AWS's ``Reason`` enum value (spec §3, §4)."""

    code = "TooManyRequestsException"
    status_code = 429

    def __init__(
        self,
        message: str = "Rate Exceeded.",
        *,
        reason: str,
        retry_after_seconds: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds
        self.request_id = request_id  # as x-amzn-RequestId: sb.explain(error.request_id)

    def __str__(self) -> str:
        return f"{self.message} (Reason: {self.reason})"

    def to_aws(self) -> dict[str, object]:
        body = super().to_aws()
        body["Reason"] = self.reason
        if self.retry_after_seconds is not None:
            body["retryAfterSeconds"] = str(self.retry_after_seconds)
        return body


class ServiceException(LambdaError):
    code = "ServiceException"
    status_code = 500
    error_type = "Service"


class InvalidRuntimeException(LambdaError):
    code = "InvalidRuntimeException"
    status_code = 502


class InvalidZipFileException(LambdaError):
    code = "InvalidZipFileException"
    status_code = 502


class ResourceNotReadyException(LambdaError):
    code = "ResourceNotReadyException"
    status_code = 502


def validation_error(value: object, member: str, constraint: str) -> ValidationException:
    """Build AWS's API-model validation error.

    >>> error = validation_error(0, "timeout", "Member must have value greater than or equal to 1")
    >>> error.message.startswith("1 validation error detected: Value '0' at 'timeout' failed")
    True
    """
    return ValidationException(
        f"1 validation error detected: Value '{value}' at '{member}' "
        f"failed to satisfy constraint: {constraint}"
    )
