"""A local Amazon SQS: standard queues that hold, hide and hand out messages.

Why it exists: a Lambda destination or dead-letter queue is where a failed asynchronous
event ends up, and a student should be able to open that queue and read the record, with
the same calls and the same answers as boto3's ``sqs`` client. Messages live in the
sandbox's store, so they survive a kernel restart; visibility timeouts, delays and retention
run on the sandbox clock.

Not yet: FIFO queues can be created and described but not sent to (SQS wants a
``MessageGroupId``); redrive to a dead-letter queue, ``ChangeMessageVisibility`` and the
batch calls arrive with the triggers feature.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any, ClassVar

from sandbox.core.clock import Clock
from sandbox.resources import errors
from sandbox.resources.errors import (
    InvalidAddress,
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidMessageContents,
    InvalidParameterValue,
    MissingParameter,
    PurgeQueueInProgress,
    QueueDoesNotExist,
    QueueNameExists,
    ReceiptHandleIsInvalid,
    ServiceError,
    UnsupportedOperation,
    error_for,
)
from sandbox.store import resource_admin as admin
from sandbox.store import resources
from sandbox.store.db import Database
from sandbox.store.resource_rows import (
    FIFO_QUEUE_DEFAULTS,
    MAX_MESSAGE_BYTES,
    QUEUE_DEFAULTS,
    MessageAttributes,
    QueueRow,
    ResourceRef,
    get_queue,
    parse_arn,
)

__all__ = ["SQSClient", "check_message_attributes"]

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

# SetQueueAttributes API reference: the settable attributes and their ranges
_INTEGER_RANGES = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, MAX_MESSAGE_BYTES),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43_200),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400),
}
_BOOLEANS = {"SqsManagedSseEnabled", "FifoQueue", "ContentBasedDeduplication"}
_CHOICES = {
    "DeduplicationScope": {"messageGroup", "queue"},
    "FifoThroughputLimit": {"perQueue", "perMessageGroupId"},
}
_FREE_TEXT = {"Policy", "KmsMasterKeyId"}
_FIFO_ONLY = {"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"}
_LATER = {"RedrivePolicy", "RedriveAllowPolicy"}
_COMPUTED = (
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
)
_SYSTEM_ATTRIBUTES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
)
_LONG_POLL_INTERVAL = 0.05  # real seconds between looks at the store while long polling


class SQSClient:
    """Amazon SQS for one account and region: boto3's ``sqs`` client in snake_case.

    A queue is named by its URL (``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME``) or its
    ARN wherever a call takes ``queue_url``. Messages are limited to 256 KiB (body plus
    attributes), the limit SQS had until 2025 (it allows 1 MiB since) and SNS still has.

    Example:
        >>> url = sb.sqs.create_queue("orders")["QueueUrl"]  # doctest: +SKIP
        >>> sb.sqs.send_message(url, "hello")["MD5OfMessageBody"]  # doctest: +SKIP
        '5d41402abc4b2a76b9719d911017c592'
    """

    exceptions: ClassVar[ModuleType] = errors
    """The exception classes, as boto3's ``client.exceptions``."""

    def __init__(self, db: Database, clock: Clock, account_id: str, region: str) -> None:
        self._db = db
        self._clock = clock
        self.account_id = account_id
        self.region = region

    # queues ---------------------------------------------------------------------------------
    def create_queue(
        self, queue_name: str, attributes: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Create a queue, or return the URL of the existing one when every attribute given
        has the same value (CreateQueue is idempotent only then).

        Raises:
            InvalidParameterValue: the name breaks SQS's rules.
            InvalidAttributeName, InvalidAttributeValue: an attribute is unknown or invalid.
            QueueNameExists: the queue exists with a different value for an attribute given.
            UnsupportedOperation: RedrivePolicy and RedriveAllowPolicy (not yet supported).
        """
        given = dict(attributes or {})
        fifo = str(given.get("FifoQueue", "false")).lower() == "true"
        _check_queue_name(queue_name, fifo)
        checked = _check_attributes(given, fifo=fifo)
        ref = ResourceRef("sqs", self.account_id, self.region, queue_name)
        with self._db.transaction() as conn:
            existing = get_queue(conn, ref)
            if existing is None:
                admin.create_queue(conn, ref, checked, self._clock.time())
            else:
                for name, value in checked.items():
                    if existing.attributes.get(name) != value:
                        raise QueueNameExists(
                            "A queue already exists with the same name and a different value "
                            f"for attribute {name}"
                        )
        return {"QueueUrl": _url(ref)}

    def get_queue_url(
        self, queue_name: str, queue_owner_aws_account_id: str | None = None
    ) -> dict[str, str]:
        """The URL of a queue of this region (of this account unless another owner is given).

        Raises:
            QueueDoesNotExist: no such queue.
        """
        account = queue_owner_aws_account_id or self.account_id
        ref = ResourceRef("sqs", account, self.region, queue_name)
        with self._db.read() as conn:
            self._queue(conn, ref.arn)
        return {"QueueUrl": _url(ref)}

    def list_queues(self, queue_name_prefix: str | None = None) -> dict[str, list[str]]:
        """The URLs of this account's queues in this region (at most 1,000), by name;
        ``{}`` when there are none, as SQS omits ``QueueUrls``."""
        with self._db.read() as conn:
            names = admin.list_queues(conn, self.account_id, self.region, queue_name_prefix or "")
        urls = [_url(ResourceRef("sqs", self.account_id, self.region, n)) for n in names]
        return {"QueueUrls": urls[:1000]} if urls else {}

    def delete_queue(self, queue_url: str) -> None:
        """Delete a queue and every message in it.

        Raises:
            QueueDoesNotExist: no such queue.
        """
        with self._db.transaction() as conn:
            queue = self._queue(conn, queue_url)
            admin.delete_queue(conn, queue.ref)

    def get_queue_attributes(
        self, queue_url: str, attribute_names: Sequence[str] | None = None
    ) -> dict[str, dict[str, str]]:
        """The attributes named (``["All"]`` for every one); as SQS, naming none returns
        ``{}``. Counts are approximate on AWS and exact here.

        Raises:
            QueueDoesNotExist: no such queue.
            InvalidAttributeName: an unknown attribute name.
        """
        names = list(attribute_names or [])
        with self._db.read() as conn:
            queue = self._queue(conn, queue_url)
            now = self._clock.time()
            visible, in_flight, delayed = admin.queue_counts(conn, queue, now)
        everything = {
            "QueueArn": queue.ref.arn,
            "ApproximateNumberOfMessages": str(visible),
            "ApproximateNumberOfMessagesNotVisible": str(in_flight),
            "ApproximateNumberOfMessagesDelayed": str(delayed),
            "CreatedTimestamp": str(int(queue.created)),
            "LastModifiedTimestamp": str(int(queue.last_modified)),
            **queue.attributes,
        }
        if "All" in names:
            return {"Attributes": everything}
        known = set(_COMPUTED) | set(QUEUE_DEFAULTS) | set(FIFO_QUEUE_DEFAULTS) | _FREE_TEXT
        known |= set(_INTEGER_RANGES) | _LATER
        chosen = {}
        for name in names:
            if name not in known:
                raise InvalidAttributeName(f"Unknown Attribute {name}.")
            if name in everything:
                chosen[name] = everything[name]
        return {"Attributes": chosen} if chosen else {}

    def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        """Change settable attributes; the others keep their values.

        Raises:
            QueueDoesNotExist: no such queue.
            InvalidAttributeName, InvalidAttributeValue: an attribute is unknown or invalid
                (a queue's type cannot change).
        """
        given = dict(attributes)
        with self._db.transaction() as conn:
            queue = self._queue(conn, queue_url)
            if "FifoQueue" in given:
                raise InvalidAttributeValue(
                    "Invalid value for the parameter FifoQueue. "
                    "Reason: Modifying queue type is not supported."
                )
            checked = _check_attributes(given, fifo=queue.fifo)
            admin.set_queue_attributes(conn, queue.ref, checked, self._clock.time())

    def purge_queue(self, queue_url: str) -> None:
        """Delete every message; SQS allows one purge per queue every 60 seconds.

        Raises:
            QueueDoesNotExist: no such queue.
            PurgeQueueInProgress: the queue was purged less than 60 seconds ago.
        """
        with self._db.transaction() as conn:
            queue = self._queue(conn, queue_url)
            now = self._clock.time()
            if queue.purged is not None and now - queue.purged < 60:  # PurgeQueue reference
                raise PurgeQueueInProgress(
                    f"Only one PurgeQueue operation on {queue.ref.name} is allowed every "
                    "60 seconds."
                )
            admin.purge_queue(conn, queue.ref, now)

    # messages -------------------------------------------------------------------------------
    def send_message(
        self,
        queue_url: str,
        message_body: str,
        message_attributes: MessageAttributes | None = None,
        delay_seconds: int | None = None,
    ) -> dict[str, str]:
        """Put a message on the queue.

        Returns:
            ``MessageId``, ``MD5OfMessageBody`` and, with attributes,
            ``MD5OfMessageAttributes`` (SQS's digests, checked by the SDKs).

        Raises:
            QueueDoesNotExist: no such queue.
            MissingParameter: an empty body, or a FIFO queue (no MessageGroupId yet).
            InvalidMessageContents: a character SQS does not allow.
            InvalidParameterValue: a bad delay or attribute, or the message is too long.
        """
        if not isinstance(message_body, str) or message_body == "":
            raise MissingParameter("The request must contain the parameter MessageBody.")
        if bad := _INVALID_CHARACTER.search(message_body):
            raise InvalidMessageContents(
                f"Invalid binary character '#x{ord(bad.group()):X}' was found in the message "
                "body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | "
                "#xE000 to #xFFFD | #x10000 to #x10FFFF"
            )
        if delay_seconds is not None and not 0 <= delay_seconds <= 900:
            raise InvalidParameterValue(
                f"Value {delay_seconds} for parameter DelaySeconds is invalid. "
                "Reason: DelaySeconds must be >= 0 and <= 900."
            )
        check_message_attributes(message_attributes, InvalidParameterValue)
        with self._db.transaction() as conn:
            queue = self._queue(conn, queue_url)
            try:
                message_id = resources.send_message(
                    conn,
                    queue.ref.arn,
                    message_body,
                    message_attributes=message_attributes or None,
                    now=self._clock.time(),
                    delay_seconds=delay_seconds,
                    sender_id=self.account_id,
                )
            except resources.DeliveryRejected as exc:
                raise error_for("sqs", exc.code, exc.message) from exc
        answer = {"MessageId": message_id, "MD5OfMessageBody": resources.md5_of_body(message_body)}
        if message_attributes:
            answer["MD5OfMessageAttributes"] = resources.md5_of_message_attributes(
                message_attributes
            )
        return answer

    def receive_message(
        self,
        queue_url: str,
        max_number_of_messages: int = 1,
        visibility_timeout: int | None = None,
        wait_time_seconds: int | None = None,
        attribute_names: Sequence[str] | None = None,
        message_attribute_names: Sequence[str] | None = None,
        message_system_attribute_names: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Take up to ``max_number_of_messages`` (1-10) visible messages, oldest first.

        Each message received becomes invisible for ``visibility_timeout`` seconds of
        sandbox time (default: the queue's VisibilityTimeout), its ApproximateReceiveCount
        goes up by one and it carries a new ``ReceiptHandle``; delete it with that handle
        before the timeout ends, or it is handed out again.

        ``wait_time_seconds`` (0-20, default the queue's ReceiveMessageWaitTimeSeconds) long
        polls: with no message at hand the call waits for one to arrive, at most that long
        in sandbox time and never more than 20 real seconds. On a ``FakeClock`` (where only
        an explicit advance moves time) it does not wait at all.

        ``attribute_names`` / ``message_system_attribute_names`` choose system attributes
        (``All``, ``SenderId``, ``SentTimestamp``, ``ApproximateReceiveCount``,
        ``ApproximateFirstReceiveTimestamp``); ``message_attribute_names`` chooses message
        attributes (``All``, ``.*``, a name, or a ``prefix.*``).

        Returns:
            ``{"Messages": [...]}``, or ``{}`` when there is none (SQS omits the key).
        """
        if not 1 <= max_number_of_messages <= 10:
            raise InvalidParameterValue(
                f"Value {max_number_of_messages} for parameter MaxNumberOfMessages is invalid. "
                "Reason: Must be between 1 and 10, if provided."
            )
        if visibility_timeout is not None and not 0 <= visibility_timeout <= 43_200:
            raise InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. "
                "Reason: Must be between 0 and 43200, if provided."
            )
        if wait_time_seconds is not None and not 0 <= wait_time_seconds <= 20:
            raise InvalidParameterValue(
                f"Value {wait_time_seconds} for parameter WaitTimeSeconds is invalid. "
                "Reason: Must be >= 0 and <= 20, if provided."
            )
        system = [*(attribute_names or []), *(message_system_attribute_names or [])]
        for name in system:
            if name != "All" and name not in _SYSTEM_ATTRIBUTES:
                raise InvalidAttributeName(f"Unknown Attribute {name}.")
        deadline: float | None = None
        while True:
            with self._db.transaction() as conn:
                queue = self._queue(conn, queue_url)
                attributes = queue.attributes
                timeout = visibility_timeout
                if timeout is None:
                    timeout = int(attributes["VisibilityTimeout"])
                stored = admin.receive_messages(
                    conn,
                    queue,
                    max_number=max_number_of_messages,
                    visibility_timeout=timeout,
                    now=self._clock.time(),
                )
            if deadline is None:
                wait = wait_time_seconds
                if wait is None:
                    wait = int(attributes["ReceiveMessageWaitTimeSeconds"])
                deadline = time.monotonic() + self._real_wait(wait)
            remaining = deadline - time.monotonic()
            if stored or remaining <= 0:
                break
            time.sleep(min(_LONG_POLL_INTERVAL, remaining))
        messages = [_message(m, system, list(message_attribute_names or [])) for m in stored]
        return {"Messages": messages} if messages else {}

    def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        """Delete the message received with ``receipt_handle``. A handle from an earlier
        receive of a message received again since deletes nothing (SQS: "the request
        succeeds, but the message might not be deleted").

        Raises:
            QueueDoesNotExist: no such queue.
            ReceiptHandleIsInvalid: the handle is not one this queue gave out.
        """
        with self._db.transaction() as conn:
            queue = self._queue(conn, queue_url)
            if not admin.delete_message(conn, queue.ref, receipt_handle):
                raise ReceiptHandleIsInvalid(
                    f'The input receipt handle "{receipt_handle}" is not a valid receipt handle.'
                )

    # helpers --------------------------------------------------------------------------------
    def _queue(self, conn: sqlite3.Connection, queue_url: str) -> QueueRow:
        queue = get_queue(conn, _parse_queue(queue_url))
        if queue is None:
            raise QueueDoesNotExist("The specified queue does not exist.")
        return queue

    def _real_wait(self, platform_seconds: int) -> float:
        """Real seconds a long poll may wait: none on a fake clock, else the platform wait
        converted by the clock, at most 20 s."""
        if platform_seconds <= 0:
            return 0.0
        real = self._clock.real_delay(platform_seconds)
        return 0.0 if real == float("inf") else min(real, 20.0)

    def __repr__(self) -> str:
        return f"<SQSClient {self.account_id} {self.region}>"


def _url(ref: ResourceRef) -> str:
    return f"https://sqs.{ref.region}.amazonaws.com/{ref.account}/{ref.name}"


def _parse_queue(queue: str) -> ResourceRef:
    """A queue URL or ARN as a reference."""
    if isinstance(queue, str):
        if m := _URL.match(queue):
            return ResourceRef("sqs", m["account"], m["region"], m["name"])
        ref = parse_arn(queue)
        if ref is not None and ref.service == "sqs":
            return ref
    raise InvalidAddress(f"The address {queue} is not valid for this endpoint.")


def _check_queue_name(name: str, fifo: bool) -> None:
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


def _check_attributes(given: Mapping[str, object], *, fifo: bool) -> dict[str, str]:
    """The attributes, checked and normalised (integers without padding, booleans in lower
    case) so that equal settings compare equal."""
    checked: dict[str, str] = {}
    for name, raw in given.items():
        value = str(raw)
        if name in _LATER:
            raise UnsupportedOperation(
                f"{name} is not supported by the sandbox yet: redrive to a dead-letter queue "
                "arrives with the triggers feature."
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
            try:
                json.loads(value)
            except ValueError:
                raise invalid from None
        elif name not in _FREE_TEXT:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        checked[name] = value
    if checked.get("FifoQueue") == "false":
        del checked["FifoQueue"]  # a standard queue's default, not a setting of its own
    return checked


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


def _message(
    stored: admin.StoredMessage, system: Sequence[str], wanted: Sequence[str]
) -> dict[str, Any]:
    """A received message in ReceiveMessage's shape."""
    message: dict[str, Any] = {
        "MessageId": stored.message_id,
        "ReceiptHandle": stored.receipt_handle,
        "MD5OfBody": stored.md5_body,
        "Body": stored.body,
    }
    if system:
        every = {
            "SenderId": stored.sender_id,
            "SentTimestamp": str(int(stored.sent * 1000)),
            "ApproximateReceiveCount": str(stored.receive_count),
            "ApproximateFirstReceiveTimestamp": str(int(stored.first_received * 1000)),
        }
        message["Attributes"] = {k: v for k, v in every.items() if "All" in system or k in system}
    chosen = {n: a for n, a in stored.attributes.items() if _wanted(n, wanted)}
    if chosen:
        message["MD5OfMessageAttributes"] = resources.md5_of_message_attributes(chosen)
        message["MessageAttributes"] = chosen
    return message


def _wanted(name: str, wanted: Sequence[str]) -> bool:
    for pattern in wanted:
        if pattern in ("All", ".*") or pattern == name:
            return True
        if pattern.endswith(".*") and name.startswith(pattern[:-1]):
            return True
    return False
