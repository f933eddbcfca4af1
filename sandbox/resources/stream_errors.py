"""The errors of the Kinesis and DynamoDB stand-ins, in those services' own words.

Kinesis and DynamoDB both answer ``ResourceNotFoundException``, ``ResourceInUseException``
and ``ValidationException``, with different messages, so their classes here are distinct
(each carries its service) and each client's ``exceptions`` namespace gives them the names
boto3 uses: ``sb.kinesis.exceptions.ResourceNotFoundException`` is
:class:`StreamNotFound`, ``sb.dynamodb.exceptions.ResourceNotFoundException`` is
:class:`TableNotFound`. Messages follow the services' answers as observed (the sources are
named where the messages are raised).

Hierarchy::

    SandboxError
    └── ServiceError                          .service, .code, .status_code, .message
        ├── KinesisError                      Amazon Kinesis Data Streams
        │   ├── StreamNotFound                400  ResourceNotFoundException
        │   ├── StreamInUse                   400  ResourceInUseException
        │   ├── InvalidArgumentException      400
        │   ├── KinesisValidationException    400  ValidationException
        │   ├── LimitExceededException        400
        │   └── ExpiredIteratorException      400
        └── DynamoDBError                     Amazon DynamoDB
            ├── TableNotFound                 400  ResourceNotFoundException
            ├── TableInUse                    400  ResourceInUseException
            └── DynamoDBValidationException   400  ValidationException
"""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.resources.errors import ServiceError

__all__ = [
    "DynamoDBError",
    "DynamoDBExceptions",
    "DynamoDBValidationException",
    "ExpiredIteratorException",
    "InvalidArgumentException",
    "KinesisError",
    "KinesisExceptions",
    "KinesisValidationException",
    "LimitExceededException",
    "StreamInUse",
    "StreamNotFound",
    "TableInUse",
    "TableNotFound",
    "validation_message",
]


# Kinesis --------------------------------------------------------------------------------------
class KinesisError(ServiceError):
    service = "kinesis"


class StreamNotFound(KinesisError):
    code = "ResourceNotFoundException"


class StreamInUse(KinesisError):
    code = "ResourceInUseException"


class InvalidArgumentException(KinesisError):
    code = "InvalidArgumentException"


class KinesisValidationException(KinesisError):
    code = "ValidationException"


class LimitExceededException(KinesisError):
    code = "LimitExceededException"


class ExpiredIteratorException(KinesisError):
    code = "ExpiredIteratorException"


# DynamoDB -------------------------------------------------------------------------------------
class DynamoDBError(ServiceError):
    service = "dynamodb"


class TableNotFound(DynamoDBError):
    code = "ResourceNotFoundException"


class TableInUse(DynamoDBError):
    code = "ResourceInUseException"


class DynamoDBValidationException(DynamoDBError):
    code = "ValidationException"


# boto3's client.exceptions --------------------------------------------------------------------
class KinesisExceptions:
    """``sb.kinesis.exceptions``: the classes under boto3's names."""

    ClientError = KinesisError
    ResourceNotFoundException = StreamNotFound
    ResourceInUseException = StreamInUse
    InvalidArgumentException = InvalidArgumentException
    ValidationException = KinesisValidationException
    LimitExceededException = LimitExceededException
    ExpiredIteratorException = ExpiredIteratorException


class DynamoDBExceptions:
    """``sb.dynamodb.exceptions``: the classes under boto3's names."""

    ClientError = DynamoDBError
    ResourceNotFoundException = TableNotFound
    ResourceInUseException = TableInUse
    ValidationException = DynamoDBValidationException


def validation_message(problems: Sequence[str]) -> str:
    """The API-model validation message both services share: ``1 validation error
    detected: Value 'x' at 'streamName' failed to satisfy constraint: ...``, or ``N
    validation errors detected: ...; ...`` for several.

    >>> validation_message(["Value null at 'data' failed ...", "Value null at 'x' failed ..."])
    "2 validation errors detected: Value null at 'data' failed ...; Value null at 'x' failed ..."
    """
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(problems)
