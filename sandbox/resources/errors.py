"""The errors of the resource stand-ins: SQS, SNS, EventBridge and S3 answer in their own words.

Lambda's errors live in :mod:`sandbox.errors`; the services that receive destinations (and,
later, trigger functions) have codes and messages of their own, which a student meets when
boto3 raises ``ClientError``. Each class here carries the service's error code (what
botocore puts in ``error.response["Error"]["Code"]``), its HTTP status and its message, so
``except sqs.exceptions.QueueDoesNotExist`` reads as it does with boto3.

Hierarchy::

    SandboxError
    └── ServiceError                          .service, .code, .status_code, .message
        ├── SQSError                          Amazon SQS (query/JSON protocol codes)
        │   ├── QueueDoesNotExist             400  AWS.SimpleQueueService.NonExistentQueue
        │   ├── QueueNameExists               400  QueueAlreadyExists
        │   ├── PurgeQueueInProgress          400  AWS.SimpleQueueService.PurgeQueueInProgress
        │   ├── ReceiptHandleIsInvalid        400
        │   ├── InvalidMessageContents        400
        │   ├── InvalidAttributeName          400
        │   ├── InvalidAttributeValue         400
        │   ├── InvalidParameterValue         400
        │   ├── MissingParameter              400
        │   ├── InvalidAddress                400
        │   ├── UnsupportedOperation          400  AWS.SimpleQueueService.UnsupportedOperation
        │   ├── MessageNotInflight            400  AWS.SimpleQueueService.MessageNotInflight
        │   ├── EmptyBatchRequest             400  AWS.SimpleQueueService.EmptyBatchRequest
        │   ├── TooManyEntriesInBatchRequest  400  AWS.SimpleQueueService.TooManyEntriesIn...
        │   ├── BatchEntryIdsNotDistinct      400  AWS.SimpleQueueService.BatchEntryIdsNot...
        │   ├── InvalidBatchEntryId           400  AWS.SimpleQueueService.InvalidBatchEntryId
        │   └── BatchRequestTooLong           400  AWS.SimpleQueueService.BatchRequestTooLong
        ├── SNSError                          Amazon SNS
        │   ├── NotFound                      404
        │   ├── InvalidParameter              400
        │   └── ParameterValueInvalid         400  (boto3: InvalidParameterValueException)
        ├── EventBridgeError                  Amazon EventBridge
        │   ├── ResourceNotFoundException     400
        │   ├── ResourceAlreadyExistsException 400
        │   ├── ValidationException           400
        │   ├── InvalidEventPatternException  400
        │   └── LimitExceededException        400
        └── S3Error                           Amazon S3
            ├── NoSuchBucket                  404
            ├── NoSuchKey                     404
            ├── BucketAlreadyExists           409
            ├── BucketAlreadyOwnedByYou       409
            ├── BucketNotEmpty                409
            ├── InvalidBucketName             400
            ├── IllegalLocationConstraintException 400
            ├── KeyTooLongError               400
            ├── InvalidArgument               400
            └── AccessDenied                  403

Each client's ``exceptions`` attribute is this module, as boto3's ``client.exceptions``.
"""

from __future__ import annotations

from typing import ClassVar

from sandbox.errors import SandboxError

__all__ = [
    "AccessDenied",
    "BatchEntryIdsNotDistinct",
    "BatchRequestTooLong",
    "BucketAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "BucketNotEmpty",
    "EmptyBatchRequest",
    "EventBridgeError",
    "IllegalLocationConstraintException",
    "InvalidAddress",
    "InvalidArgument",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "InvalidBatchEntryId",
    "InvalidBucketName",
    "InvalidEventPatternException",
    "InvalidMessageContents",
    "InvalidParameter",
    "InvalidParameterValue",
    "KeyTooLongError",
    "LimitExceededException",
    "MessageNotInflight",
    "MissingParameter",
    "NoSuchBucket",
    "NoSuchKey",
    "NotFound",
    "ParameterValueInvalid",
    "PurgeQueueInProgress",
    "QueueDoesNotExist",
    "QueueNameExists",
    "ReceiptHandleIsInvalid",
    "ResourceAlreadyExistsException",
    "ResourceNotFoundException",
    "S3Error",
    "SNSError",
    "SQSError",
    "ServiceError",
    "TooManyEntriesInBatchRequest",
    "UnsupportedOperation",
    "ValidationException",
    "error_for",
]


class ServiceError(SandboxError):
    """An error with the shape of an AWS service's answer.

    Attributes:
        service: the AWS service, e.g. ``"sqs"``.
        code: the error code on the wire, e.g. ``"AWS.SimpleQueueService.NonExistentQueue"``.
        status_code: the HTTP status the service answers with.
        message: the service's message text.
    """

    service: ClassVar[str] = ""
    code: ClassVar[str] = "InternalFailure"
    status_code: ClassVar[int] = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def to_aws(self) -> dict[str, object]:
        """The ``Error`` member of boto3's ``ClientError.response``."""
        return {"Code": self.code, "Message": self.message}


# SQS -----------------------------------------------------------------------------------------
class SQSError(ServiceError):
    service = "sqs"


class QueueDoesNotExist(SQSError):
    code = "AWS.SimpleQueueService.NonExistentQueue"


class QueueNameExists(SQSError):
    code = "QueueAlreadyExists"


class PurgeQueueInProgress(SQSError):
    code = "AWS.SimpleQueueService.PurgeQueueInProgress"


class ReceiptHandleIsInvalid(SQSError):
    code = "ReceiptHandleIsInvalid"


class InvalidMessageContents(SQSError):
    code = "InvalidMessageContents"


class InvalidAttributeName(SQSError):
    code = "InvalidAttributeName"


class InvalidAttributeValue(SQSError):
    code = "InvalidAttributeValue"


class InvalidParameterValue(SQSError):
    code = "InvalidParameterValue"


class MissingParameter(SQSError):
    code = "MissingParameter"


class InvalidAddress(SQSError):
    code = "InvalidAddress"


class UnsupportedOperation(SQSError):
    code = "AWS.SimpleQueueService.UnsupportedOperation"


class MessageNotInflight(SQSError):
    code = "AWS.SimpleQueueService.MessageNotInflight"


class EmptyBatchRequest(SQSError):
    code = "AWS.SimpleQueueService.EmptyBatchRequest"


class TooManyEntriesInBatchRequest(SQSError):
    code = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"


class BatchEntryIdsNotDistinct(SQSError):
    code = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"


class InvalidBatchEntryId(SQSError):
    code = "AWS.SimpleQueueService.InvalidBatchEntryId"


class BatchRequestTooLong(SQSError):
    code = "AWS.SimpleQueueService.BatchRequestTooLong"


# SNS -----------------------------------------------------------------------------------------
class SNSError(ServiceError):
    service = "sns"


class NotFound(SNSError):
    code = "NotFound"
    status_code = 404


class InvalidParameter(SNSError):
    code = "InvalidParameter"


class ParameterValueInvalid(SNSError):
    code = "ParameterValueInvalid"


# EventBridge ---------------------------------------------------------------------------------
class EventBridgeError(ServiceError):
    service = "events"


class ResourceNotFoundException(EventBridgeError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExistsException(EventBridgeError):
    code = "ResourceAlreadyExistsException"


class ValidationException(EventBridgeError):
    code = "ValidationException"


class InvalidEventPatternException(EventBridgeError):
    code = "InvalidEventPatternException"


class LimitExceededException(EventBridgeError):
    code = "LimitExceededException"


# S3 ------------------------------------------------------------------------------------------
class S3Error(ServiceError):
    service = "s3"


class NoSuchBucket(S3Error):
    code = "NoSuchBucket"
    status_code = 404


class NoSuchKey(S3Error):
    code = "NoSuchKey"
    status_code = 404


class BucketAlreadyExists(S3Error):
    code = "BucketAlreadyExists"
    status_code = 409


class BucketAlreadyOwnedByYou(S3Error):
    code = "BucketAlreadyOwnedByYou"
    status_code = 409


class BucketNotEmpty(S3Error):
    code = "BucketNotEmpty"
    status_code = 409


class InvalidBucketName(S3Error):
    code = "InvalidBucketName"


class IllegalLocationConstraintException(S3Error):
    code = "IllegalLocationConstraintException"


class KeyTooLongError(S3Error):
    code = "KeyTooLongError"


class InvalidArgument(S3Error):
    code = "InvalidArgument"


class AccessDenied(S3Error):
    code = "AccessDenied"
    status_code = 403


_BY_SERVICE_CODE: dict[tuple[str, str], type[ServiceError]] = {
    (cls.service, cls.code): cls
    for cls in (
        QueueDoesNotExist,
        QueueNameExists,
        PurgeQueueInProgress,
        ReceiptHandleIsInvalid,
        InvalidMessageContents,
        InvalidAttributeName,
        InvalidAttributeValue,
        InvalidParameterValue,
        MissingParameter,
        InvalidAddress,
        UnsupportedOperation,
        MessageNotInflight,
        EmptyBatchRequest,
        TooManyEntriesInBatchRequest,
        BatchEntryIdsNotDistinct,
        InvalidBatchEntryId,
        BatchRequestTooLong,
        NotFound,
        InvalidParameter,
        ParameterValueInvalid,
        ResourceNotFoundException,
        ResourceAlreadyExistsException,
        ValidationException,
        InvalidEventPatternException,
        LimitExceededException,
        NoSuchBucket,
        NoSuchKey,
        BucketAlreadyExists,
        BucketAlreadyOwnedByYou,
        BucketNotEmpty,
        InvalidBucketName,
        IllegalLocationConstraintException,
        KeyTooLongError,
        InvalidArgument,
        AccessDenied,
    )
}


def error_for(service: str, code: str, message: str) -> ServiceError:
    """The exception for a service's error code (the store reports refusals by code).

    >>> error_for("sqs", "InvalidParameterValue", "too big").code
    'InvalidParameterValue'
    """
    cls = _BY_SERVICE_CODE.get((service, code))
    if cls is None:
        raise ValueError(f"no {service} error class for code {code!r}")
    return cls(message)
