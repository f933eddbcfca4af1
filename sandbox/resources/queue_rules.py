"""SQS's input rules, each with SQS's error code and message: queue names and addresses,
queue attributes (RedrivePolicy included), message bodies, attributes and ids, batches.

Why it exists: :class:`~sandbox.resources.queues.SQSClient` and its batch calls check the
same things (a batch entry fails with exactly the error a single call raises), and SNS
checks message attributes by SQS's rules too. Everything here is pure but
:func:`check_redrive_target`, which looks the dead-letter queue up in the store.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.resources.errors import (
    BatchEntryIdsNotDistinct,
    EmptyBatchRequest,
    InvalidAddress,
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidBatchEntryId,
    InvalidMessageContents,
    InvalidParameterValue,
    MessageNotInflight,
    MissingParameter,
    ReceiptHandleIsInvalid,
    ServiceError,
    TooManyEntriesInBatchRequest,
    UnsupportedOperation,
)
from sandbox.store.queue_messages import MAX_VISIBILITY_TIMEOUT, HandleOutcome
from sandbox.store.resource_rows import (
    FIFO_QUEUE_DEFAULTS,
    MAX_MESSAGE_BYTES,
    QUEUE_DEFAULTS,
    MessageAttributes,
    ResourceRef,
    get_queue,
    parse_arn,
)

__all__ = [
    "KNOWN_QUEUE_ATTRIBUTES",
    "MAX_BATCH_ENTRIES",
    "SYSTEM_ATTRIBUTES",
    "check_attributes",
    "check_batch",
    "check_body",
    "check_delay",
    "check_message_attributes",
    "check_message_id",
    "check_queue_name",
    "check_redrive_target",
    "check_visibility_timeout",
    "delete_error",
    "parse_queue",
    "visibility_error",
]

MAX_BATCH_ENTRIES = 10  # SendMessageBatch and friends: at most 10 entries

# CreateQueue API reference, QueueName
_STANDARD_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_FIFO_NAME = re.compile(r"[A-Za-z0-9_-]{1,75}\.fifo")
_URL = re.compile(
    r"^https?://sqs\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<account>\d{12})/"
    r"(?P<name>[A-Za-z0-9_.-]+)/?$"
)
# SendMessage API reference: the characters a message may hold
_INVALID_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_MESSAGE_ID = re.compile(r"[!-~]{1,128}")  # MessageGroupId: alphanumerics and punctuation
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
_ARN = re.compile(r"arn:aws[a-zA-Z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+")

# SetQueueAttributes API reference: the settable attributes and their ranges
_INTEGER_RANGES = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, MAX_MESSAGE_BYTES),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, MAX_VISIBILITY_TIMEOUT),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400),
}
_BOOLEANS = {"SqsManagedSseEnabled", "FifoQueue", "ContentBasedDeduplication"}
_CHOICES = {
    "DeduplicationScope": {"messageGroup", "queue"},
    "FifoThroughputLimit": {"perQueue", "perMessageGroupId"},
}
_FREE_TEXT = {"Policy", "KmsMasterKeyId"}
_FIFO_ONLY = {"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"}
_LATER = {"RedriveAllowPolicy"}
_COMPUTED = {
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
}
KNOWN_QUEUE_ATTRIBUTES = frozenset(
    _COMPUTED
    | set(QUEUE_DEFAULTS)
    | set(FIFO_QUEUE_DEFAULTS)
    | _FREE_TEXT
    | set(_INTEGER_RANGES)
    | _LATER
    | {"RedrivePolicy"}
)
"""The names GetQueueAttributes knows."""

SYSTEM_ATTRIBUTES = frozenset(
    {
        "SenderId",
        "SentTimestamp",
        "ApproximateReceiveCount",
        "ApproximateFirstReceiveTimestamp",
        "SequenceNumber",
        "MessageDeduplicationId",
        "MessageGroupId",
        "AWSTraceHeader",
        "DeadLetterQueueSourceArn",
    }
)
"""The message system attributes ReceiveMessage can return (besides ``All``)."""


# queues ---------------------------------------------------------------------------------------
def parse_queue(queue: object) -> ResourceRef:
    """A queue URL or ARN as a reference.

    Raises:
        InvalidAddress: neither.
    """
    if isinstance(queue, str):
        if m := _URL.match(queue):
            return ResourceRef("sqs", m["account"], m["region"], m["name"])
        ref = parse_arn(queue)
        if ref is not None and ref.service == "sqs":
            return ref
    raise InvalidAddress(f"The address {queue} is not valid for this endpoint.")


def check_queue_name(name: object, fifo: bool) -> None:
    if not isinstance(name, str):
        raise MissingParameter("The request must contain the parameter QueueName.")
    if fifo and not _FIFO_NAME.fullmatch(name):
        raise InvalidParameterValue(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or "
            "underscores, must end with .fifo suffix and be 1 to 80 in length."
        )
    if not fifo and not _STANDARD_NAME.fullmatch(name):
        raise InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )


def check_attributes(given: Mapping[str, object], *, fifo: bool) -> dict[str, str]:
    """The attributes, checked and normalised (integers without padding, booleans in lower
    case, a RedrivePolicy as compact JSON) so that equal settings compare equal. An empty
    RedrivePolicy or Policy stays empty: setting it removes the policy."""
    checked: dict[str, str] = {}
    for name, raw in given.items():
        value = str(raw)
        if name in _LATER:
            raise UnsupportedOperation(
                f"{name} is not supported by the sandbox: every queue may be any queue's "
                "dead-letter queue (as with SQS's default, allowAll)."
            )
        if name in _FIFO_ONLY and not fifo:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        invalid = InvalidAttributeValue(f"Invalid value for the parameter {name}.")
        if name in _INTEGER_RANGES:
            low, high = _INTEGER_RANGES[name]
            if not re.fullmatch(r"\d+", value) or not low <= int(value) <= high:
                raise invalid
            value = str(int(value))
        elif name in _BOOLEANS:
            if value.lower() not in ("true", "false"):
                raise invalid
            value = value.lower()
        elif name in _CHOICES:
            if value not in _CHOICES[name]:
                raise invalid
        elif name == "Policy":
            if value:
                try:
                    json.loads(value)
                except ValueError:
                    raise invalid from None
        elif name == "RedrivePolicy":
            value = _redrive_policy(value)
        elif name not in _FREE_TEXT:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        checked[name] = value
    if checked.get("FifoQueue") == "false":
        del checked["FifoQueue"]  # a standard queue's default, not a setting of its own
    return checked


def _redrive_policy(raw: str) -> str:
    """A RedrivePolicy checked as SQS checks it before looking the target up (SQS
    Developer Guide, "Using dead-letter queues"), as compact JSON; "" stays ""."""
    if raw == "":
        return raw
    try:
        policy = json.loads(raw)
    except ValueError:
        policy = None
    if not isinstance(policy, dict):
        raise InvalidAttributeValue(
            "Invalid value for the parameter RedrivePolicy. "
            "Reason: Redrive policy is not a valid JSON map."
        )
    if set(policy) - {"deadLetterTargetArn", "maxReceiveCount"}:
        raise _bad_redrive(
            raw, "Only following attributes are supported: [maxReceiveCount, deadLetterTargetArn]."
        )
    for mandatory in ("maxReceiveCount", "deadLetterTargetArn"):
        if mandatory not in policy:
            raise _bad_redrive(
                raw, f"Redrive policy does not contain mandatory attribute: {mandatory}."
            )
    count = policy["maxReceiveCount"]
    number = count if isinstance(count, int) and not isinstance(count, bool) else None
    if isinstance(count, str) and re.fullmatch(r"-?\d+", count.strip()):
        number = int(count)
    if number is None or not 1 <= number <= 1000:
        raise _bad_redrive(
            raw,
            f"Invalid value for maxReceiveCount: {count}, "
            "valid values are from 1 to 1000 both inclusive.",
        )
    arn = policy["deadLetterTargetArn"]
    if not isinstance(arn, str) or not _ARN.fullmatch(arn):
        raise _bad_redrive(raw, "Invalid value for deadLetterTargetArn.")
    ref = parse_arn(arn)
    if ref is None or ref.service != "sqs":
        raise _bad_redrive(raw, "Only SQS queues are valid resources for deadLetterTargetArn.")
    return json.dumps(
        {"deadLetterTargetArn": arn, "maxReceiveCount": number}, separators=(",", ":")
    )


def _bad_redrive(raw: str, reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Value {raw} for parameter RedrivePolicy is invalid. Reason: {reason}"
    )


def check_redrive_target(conn: sqlite3.Connection, raw: object, policy: str, *, fifo: bool) -> None:
    """The dead-letter queue of a checked (non-empty) RedrivePolicy exists and is of the
    source queue's type (``raw`` is the policy as given, for the message).

    Raises:
        InvalidParameterValue: it does not exist, or it is of the other type.
    """
    ref = parse_arn(json.loads(policy)["deadLetterTargetArn"])
    target = get_queue(conn, ref) if ref is not None else None
    if target is None:
        raise _bad_redrive(str(raw), "Dead letter target does not exist.")
    if target.fifo != fifo:
        raise _bad_redrive(str(raw), "Dead-letter queue must be same type of queue as the source..")


# messages -------------------------------------------------------------------------------------
def check_body(body: object) -> None:
    """A message body: a non-empty string of the characters SQS allows."""
    if not isinstance(body, str) or body == "":
        raise MissingParameter("The request must contain the parameter MessageBody.")
    if bad := _INVALID_CHARACTER.search(body):
        raise InvalidMessageContents(
            f"Invalid binary character '#x{ord(bad.group()):X}' was found in the message "
            "body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | "
            "#xE000 to #xFFFD | #x10000 to #x10FFFF"
        )


def check_delay(delay_seconds: object) -> None:
    if delay_seconds is None:
        return
    if not isinstance(delay_seconds, int) or not 0 <= delay_seconds <= 900:
        raise InvalidParameterValue(
            f"Value {delay_seconds} for parameter DelaySeconds is invalid. "
            "Reason: DelaySeconds must be >= 0 and <= 900."
        )


def check_message_id(parameter: str, value: object) -> None:
    """A MessageGroupId or MessageDeduplicationId: 1-128 alphanumerics and punctuation."""
    if value is None:
        return
    if not isinstance(value, str) or not _MESSAGE_ID.fullmatch(value):
        raise InvalidParameterValue(
            f"Value {value} for parameter {parameter} is invalid. Reason: {parameter} can only "
            "include alphanumeric and punctuation characters. 1 to 128 in length."
        )


def check_visibility_timeout(value: object) -> None:
    if not isinstance(value, int) or not 0 <= value <= MAX_VISIBILITY_TIMEOUT:
        raise InvalidParameterValue(
            f"Value {value} for parameter VisibilityTimeout is invalid. "
            "Reason: Must be between 0 and 43200, if provided."
        )


def check_message_attributes(
    attributes: MessageAttributes | None, error: type[ServiceError]
) -> None:
    """Check message attributes as SQS and SNS do (SQS Developer Guide, "Amazon SQS message
    attributes"), raising ``error`` with their messages."""
    if not attributes:
        return
    if len(attributes) > 10:
        raise error(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum [10]."
        )
    for name, attribute in attributes.items():
        if not name:
            raise error("The request must contain non-empty message attribute name.")
        if len(name) > 256:
            raise error("Length of message attribute name must be less than 256 bytes.")
        if not _ATTRIBUTE_NAME.fullmatch(name):
            raise error(
                f"Invalid non-alphanumeric character was found in the message attribute name "
                f"'{name}'. Can only include alphanumeric characters, hyphens, underscores, "
                "or dots."
            )
        lowered = name.lower()
        if lowered.startswith(("aws.", "amazon.")):
            raise error(
                f"You can't use message attribute name '{name}'. Names starting with 'AWS.' "
                "or 'Amazon.' are reserved."
            )
        if name.startswith(".") or name.endswith(".") or ".." in name:
            raise error(
                f"Message attribute name '{name}' can not start or end with a period, or "
                "contain consecutive periods."
            )
        data_type = attribute.get("DataType") if isinstance(attribute, Mapping) else None
        if not data_type:
            raise error(
                f"The message attribute '{name}' must contain non-empty message attribute type."
            )
        data_type = str(data_type)
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary"):
            raise error(
                f"The type of message (user) attribute '{name}' is invalid. You must use only "
                "the following supported type prefixes: Binary, Number, String."
            )
        field = "BinaryValue" if base == "Binary" else "StringValue"
        value = attribute.get(field)
        if value is None or value in ("", b""):
            raise error(
                f"The message attribute '{name}' must contain non-empty message attribute "
                f"value for message attribute type '{data_type}'."
            )
        if base == "Binary" and not isinstance(value, bytes | bytearray):
            raise error(f"The message attribute '{name}' with type 'Binary' must use bytes.")
        if base == "Number":
            try:
                float(str(value))
            except ValueError:
                raise error(
                    f"Can't cast the value of message (user) attribute '{name}' to a number."
                ) from None


# receipt handles ------------------------------------------------------------------------------
def delete_error(outcome: HandleOutcome, handle: str) -> ServiceError | None:
    """The error DeleteMessage answers with, or None when it succeeds."""
    if outcome is HandleOutcome.INVALID:
        return ReceiptHandleIsInvalid(
            f'The input receipt handle "{handle}" is not a valid receipt handle.'
        )
    if outcome is HandleOutcome.EXPIRED:  # FIFO queues only
        return InvalidParameterValue(
            f"Value {handle} for parameter ReceiptHandle is invalid. "
            "Reason: The receipt handle has expired."
        )
    return None


def visibility_error(outcome: HandleOutcome, handle: str, timeout: int) -> ServiceError | None:
    """The error ChangeMessageVisibility answers with, or None when it succeeds."""
    if outcome is HandleOutcome.INVALID:
        return ReceiptHandleIsInvalid(
            f'The input receipt handle "{handle}" is not a valid receipt handle.'
        )
    if outcome is HandleOutcome.GONE:
        return InvalidParameterValue(
            f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not "
            "exist or is not available for visibility timeout change."
        )
    if outcome is HandleOutcome.NOT_IN_FLIGHT:
        return MessageNotInflight("The specified message isn't in flight.")
    if outcome is HandleOutcome.TOO_LONG:
        return InvalidParameterValue(
            f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
            f"VisibilityTimeout for the message is beyond the limit [{MAX_VISIBILITY_TIMEOUT} "
            "seconds]"
        )
    return None


# batches --------------------------------------------------------------------------------------
def check_batch(entries: Sequence[Mapping[str, Any]], entry_name: str) -> None:
    """A batch request as a whole: 1-10 entries with distinct, well-formed ids.

    Raises:
        EmptyBatchRequest, TooManyEntriesInBatchRequest, InvalidBatchEntryId,
        BatchEntryIdsNotDistinct: the batch breaks a rule (nothing is done).
    """
    if not entries:
        raise EmptyBatchRequest(f"There should be at least one {entry_name} in the request.")
    if len(entries) > MAX_BATCH_ENTRIES:
        raise TooManyEntriesInBatchRequest(
            f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. "
            f"You have sent {len(entries)}."
        )
    seen: set[str] = set()
    for entry in entries:
        entry_id = entry.get("Id") if isinstance(entry, Mapping) else None
        if not isinstance(entry_id, str) or not _BATCH_ID.fullmatch(entry_id):
            raise InvalidBatchEntryId(
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long."
            )
        if entry_id in seen:
            raise BatchEntryIdsNotDistinct(f"Id {entry_id} repeated.")
        seen.add(entry_id)
