"""A local Amazon SQS: standard and FIFO queues that hold, hide, order and redrive messages.

Why it exists: a Lambda destination or dead-letter queue is where a failed asynchronous
event ends up, and a queue is the classic event source of a function (an event source
mapping polls it); a student should be able to send, receive and watch messages with the
same calls and the same answers as boto3's ``sqs`` client. Messages live in the sandbox's
store, so they survive a kernel restart; visibility timeouts, delays, retention and FIFO
deduplication run on the sandbox clock.

The rules live next door: input checks and SQS's messages in
:mod:`sandbox.resources.queue_rules`, the batch calls in
:mod:`sandbox.resources.queue_batches`, receiving, redrive and FIFO ordering in
:mod:`sandbox.store.queue_messages` (shared with Lambda's poller).

Not yet: RedriveAllowPolicy, dead-letter queue redrive back to the source (the
StartMessageMoveTask family), tags, ReceiveRequestAttemptId, high-throughput FIFO limits.
"""

from __future__ import annotations

import base64
import sqlite3
import time
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any, ClassVar

from sandbox.resources import errors
from sandbox.resources.client import ResourceClient
from sandbox.resources.errors import (
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValue,
    PurgeQueueInProgress,
    QueueDoesNotExist,
    QueueNameExists,
    error_for,
)
from sandbox.resources.queue_batches import BatchCalls
from sandbox.resources.queue_rules import (
    KNOWN_QUEUE_ATTRIBUTES,
    SYSTEM_ATTRIBUTES,
    check_attributes,
    check_body,
    check_delay,
    check_message_attributes,
    check_message_id,
    check_queue_name,
    check_redrive_target,
    check_visibility_timeout,
    delete_error,
    parse_queue,
    visibility_error,
)
from sandbox.store import queue_messages as messages
from sandbox.store import resource_admin as admin
from sandbox.store import resources
from sandbox.store.resource_rows import MessageAttributes, QueueRow, ResourceRef, get_queue

__all__ = ["SQSClient", "check_message_attributes"]

_LONG_POLL_INTERVAL = 0.05  # real seconds between looks at the store while long polling


class SQSClient(BatchCalls, ResourceClient):
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

    # queues ---------------------------------------------------------------------------------
    def create_queue(
        self, queue_name: str, attributes: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Create a queue, or return the URL of the existing one when every attribute given
        has the same value (CreateQueue is idempotent only then).

        A ``RedrivePolicy`` (``'{"deadLetterTargetArn": ARN, "maxReceiveCount": N}'``) names
        an existing queue of the same type as the dead-letter queue, N in 1-1000.

        Raises:
            InvalidParameterValue: the name breaks SQS's rules, or the redrive policy does.
            InvalidAttributeName, InvalidAttributeValue: an attribute is unknown or invalid.
            QueueNameExists: the queue exists with a different value for an attribute given.
            UnsupportedOperation: RedriveAllowPolicy (not supported).
        """
        given = dict(attributes or {})
        fifo = str(given.get("FifoQueue", "false")).lower() == "true"
        check_queue_name(queue_name, fifo)
        checked = check_attributes(given, fifo=fifo)
        if checked.get("RedrivePolicy") == "":
            del checked["RedrivePolicy"]  # no policy: the default
        ref = ResourceRef("sqs", self.account_id, self.region, queue_name)
        with self._db.transaction() as conn:
            if "RedrivePolicy" in checked:
                check_redrive_target(
                    conn, given["RedrivePolicy"], checked["RedrivePolicy"], fifo=fifo
                )
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
        return {"QueueUrl": messages.queue_url(ref)}

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
        return {"QueueUrl": messages.queue_url(ref)}

    def list_queues(self, queue_name_prefix: str | None = None) -> dict[str, list[str]]:
        """The URLs of this account's queues in this region (at most 1,000), by name;
        ``{}`` when there are none, as SQS omits ``QueueUrls``."""
        with self._db.read() as conn:
            names = admin.list_queues(conn, self.account_id, self.region, queue_name_prefix or "")
        urls = [
            messages.queue_url(ResourceRef("sqs", self.account_id, self.region, n)) for n in names
        ]
        return {"QueueUrls": urls[:1000]} if urls else {}

    def list_dead_letter_source_queues(
        self, queue_url: str, next_token: str | None = None, max_results: int | None = None
    ) -> dict[str, Any]:
        """The URLs of the queues whose RedrivePolicy names this queue as dead-letter queue,
        by name. As SQS answers: ``queueUrls`` (lower-case q, always present); with
        ``max_results`` (1-1000) a page, and ``NextToken`` when there is more.

        Raises:
            QueueDoesNotExist: no such queue.
            InvalidParameterValue: ``max_results`` out of range, or a foreign ``next_token``.
        """
        if max_results is not None and not (
            isinstance(max_results, int) and 1 <= max_results <= 1000
        ):
            raise InvalidParameterValue(
                f"Value {max_results} for parameter MaxResults is invalid. "
                "Reason: MaxResults must be an integer between 1 and 1000."
            )
        with self._db.read() as conn:
            queue = self._queue(conn, queue_url)
            names = messages.dead_letter_sources(conn, queue)
        if next_token is not None:
            try:
                after = base64.urlsafe_b64decode(next_token.encode()).decode()
            except (ValueError, UnicodeDecodeError, AttributeError):
                raise InvalidParameterValue("Invalid NextToken value.") from None
            names = [n for n in names if n > after]
        page = names if max_results is None else names[:max_results]
        answer: dict[str, Any] = {
            "queueUrls": [
                messages.queue_url(ResourceRef("sqs", queue.ref.account, queue.ref.region, n))
                for n in page
            ]
        }
        if len(page) < len(names):
            answer["NextToken"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
        return answer

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
        chosen = {}
        for name in names:
            if name not in KNOWN_QUEUE_ATTRIBUTES:
                raise InvalidAttributeName(f"Unknown Attribute {name}.")
            if name in everything:
                chosen[name] = everything[name]
        return {"Attributes": chosen} if chosen else {}

    def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        """Change settable attributes; the others keep their values. An empty
        ``RedrivePolicy`` removes the queue's redrive policy.

        Raises:
            QueueDoesNotExist: no such queue.
            InvalidAttributeName, InvalidAttributeValue, InvalidParameterValue: an attribute
                is unknown or invalid (a queue's type cannot change).
        """
        given = dict(attributes)
        with self._db.transaction() as conn:
            queue = self._queue(conn, queue_url)
            if "FifoQueue" in given:
                raise InvalidAttributeValue(
                    "Invalid value for the parameter FifoQueue. "
                    "Reason: Modifying queue type is not supported."
                )
            checked = check_attributes(given, fifo=queue.fifo)
            if checked.get("RedrivePolicy"):
                check_redrive_target(
                    conn, given["RedrivePolicy"], checked["RedrivePolicy"], fifo=queue.fifo
                )
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
        message_group_id: str | None = None,
        message_deduplication_id: str | None = None,
    ) -> dict[str, str]:
        """Put a message on the queue.

        A FIFO queue needs ``message_group_id`` and, unless it has
        ContentBasedDeduplication, ``message_deduplication_id``; a message whose
        deduplication id was sent in the last 5 minutes is accepted, answered with the
        first message's MessageId and SequenceNumber, and not queued again. FIFO queues
        delay per queue only (``delay_seconds`` must be absent or 0).

        Returns:
            ``MessageId``, ``MD5OfMessageBody``, with attributes ``MD5OfMessageAttributes``
            (SQS's digests, checked by the SDKs) and, on a FIFO queue, ``SequenceNumber``.

        Raises:
            QueueDoesNotExist: no such queue.
            MissingParameter: an empty body, or a FIFO queue without a message group.
            InvalidMessageContents: a character SQS does not allow.
            InvalidParameterValue: a bad delay, id or attribute, or the message is too long.
        """
        self._check_message(
            message_body, message_attributes, delay_seconds, message_group_id,
            message_deduplication_id,
        )  # fmt: skip
        with self._db.transaction(traffic=True) as conn:
            queue = self._queue(conn, queue_url)
            return self._send(
                conn,
                queue,
                message_body,
                message_attributes,
                delay_seconds,
                message_group_id,
                message_deduplication_id,
            )

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
        before the timeout ends, or it is handed out again. With a RedrivePolicy, a message
        already received maxReceiveCount times moves to the dead-letter queue instead. A
        FIFO queue hands out each message group in order, and nothing of a group while one
        of its messages is in flight.

        ``wait_time_seconds`` (0-20, default the queue's ReceiveMessageWaitTimeSeconds) long
        polls: with no message at hand the call waits for one to arrive, at most that long
        in sandbox time and never more than 20 real seconds. On a ``FakeClock`` (where only
        an explicit advance moves time) it does not wait at all.

        ``attribute_names`` / ``message_system_attribute_names`` choose system attributes
        (``All``, ``SenderId``, ``SentTimestamp``, ``ApproximateReceiveCount``,
        ``ApproximateFirstReceiveTimestamp``, ``SequenceNumber``, ``MessageGroupId``,
        ``MessageDeduplicationId``, ``DeadLetterQueueSourceArn``); ``message_attribute_names``
        chooses message attributes (``All``, ``.*``, a name, or a ``prefix.*``).

        Returns:
            ``{"Messages": [...]}``, or ``{}`` when there is none (SQS omits the key).
        """
        if not 1 <= max_number_of_messages <= 10:
            raise InvalidParameterValue(
                f"Value {max_number_of_messages} for parameter MaxNumberOfMessages is invalid. "
                "Reason: Must be between 1 and 10, if provided."
            )
        if visibility_timeout is not None:
            check_visibility_timeout(visibility_timeout)
        if wait_time_seconds is not None and not 0 <= wait_time_seconds <= 20:
            raise InvalidParameterValue(
                f"Value {wait_time_seconds} for parameter WaitTimeSeconds is invalid. "
                "Reason: Must be >= 0 and <= 20, if provided."
            )
        system = [*(attribute_names or []), *(message_system_attribute_names or [])]
        for name in system:
            if name != "All" and name not in SYSTEM_ATTRIBUTES:
                raise InvalidAttributeName(f"Unknown Attribute {name}.")
        deadline: float | None = None
        while True:
            with self._db.transaction(traffic=True) as conn:
                queue = self._queue(conn, queue_url)
                attributes = queue.attributes
                timeout = visibility_timeout
                if timeout is None:
                    timeout = int(attributes["VisibilityTimeout"])
                received = messages.receive(
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
            if received or remaining <= 0:
                break
            time.sleep(min(_LONG_POLL_INTERVAL, remaining))
        wanted = list(message_attribute_names or [])
        shaped = [_message(m, system, wanted) for m in received]
        return {"Messages": shaped} if shaped else {}

    def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        """Delete the message received with ``receipt_handle``. On a standard queue, a
        handle from an earlier receive of a message received again since deletes nothing
        (SQS: "the request succeeds, but the message might not be deleted"); a FIFO queue
        refuses it, and a handle whose visibility timeout has ended.

        Raises:
            QueueDoesNotExist: no such queue.
            ReceiptHandleIsInvalid: the handle is not one this queue gave out.
            InvalidParameterValue: a FIFO handle that has expired.
        """
        with self._db.transaction(traffic=True) as conn:
            queue = self._queue(conn, queue_url)
            outcome = messages.delete_message(conn, queue, receipt_handle, self._clock.time())
            if error := delete_error(outcome, receipt_handle):
                raise error

    def change_message_visibility(
        self, queue_url: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        """Make a message in flight visible again ``visibility_timeout`` seconds (0-43200)
        from now: 0 hands it back at once, more keeps it longer. The timeout counts from
        this call, and a message may not stay invisible past 12 hours from its receive.

        Raises:
            QueueDoesNotExist: no such queue.
            ReceiptHandleIsInvalid: the handle is not one this queue gave out.
            InvalidParameterValue: a timeout out of range or past the 12 hours, or a handle
                whose message is deleted or was received again since.
            MessageNotInflight: the message's visibility timeout has already ended.
        """
        check_visibility_timeout(visibility_timeout)
        with self._db.transaction(traffic=True) as conn:
            queue = self._queue(conn, queue_url)
            outcome = messages.change_visibility(
                conn, queue, receipt_handle, visibility_timeout, self._clock.time()
            )
            if error := visibility_error(outcome, receipt_handle, visibility_timeout):
                raise error

    # helpers --------------------------------------------------------------------------------
    def _queue(self, conn: sqlite3.Connection, queue_url: str) -> QueueRow:
        queue = get_queue(conn, parse_queue(queue_url))
        if queue is None:
            raise QueueDoesNotExist("The specified queue does not exist.")
        return queue

    @staticmethod
    def _check_message(
        body: object,
        attributes: MessageAttributes | None,
        delay_seconds: object,
        group_id: object,
        deduplication_id: object,
    ) -> None:
        """The checks of a message that need no queue."""
        check_body(body)
        check_delay(delay_seconds)
        check_message_attributes(attributes, InvalidParameterValue)
        check_message_id("MessageGroupId", group_id)
        check_message_id("MessageDeduplicationId", deduplication_id)

    def _send(
        self,
        conn: sqlite3.Connection,
        queue: QueueRow,
        body: str,
        attributes: MessageAttributes | None,
        delay_seconds: int | None,
        group_id: str | None,
        deduplication_id: str | None,
    ) -> dict[str, str]:
        """Send a checked message; SendMessage's answer."""
        try:
            sent = messages.send(
                conn,
                queue.ref.arn,
                body,
                message_attributes=attributes or None,
                now=self._clock.time(),
                delay_seconds=delay_seconds,
                sender_id=self.account_id,
                group_id=group_id,
                deduplication_id=deduplication_id,
            )
        except resources.DeliveryRejected as exc:
            raise error_for("sqs", exc.code, exc.message) from exc
        answer = {"MessageId": sent.message_id, "MD5OfMessageBody": resources.md5_of_body(body)}
        if attributes:
            answer["MD5OfMessageAttributes"] = resources.md5_of_message_attributes(attributes)
        if sent.sequence_number is not None:
            answer["SequenceNumber"] = sent.sequence_number
        return answer

    def _real_wait(self, platform_seconds: int) -> float:
        """Real seconds a long poll may wait: none on a fake clock, else the platform wait
        converted by the clock, at most 20 s."""
        if platform_seconds <= 0:
            return 0.0
        real = self._clock.real_delay(platform_seconds)
        return 0.0 if real == float("inf") else min(real, 20.0)

    def __repr__(self) -> str:
        return f"<SQSClient {self.account_id} {self.region}>"


def _message(
    received: messages.Received, system: Sequence[str], wanted: Sequence[str]
) -> dict[str, Any]:
    """A received message in ReceiveMessage's shape."""
    message: dict[str, Any] = {
        "MessageId": received.message_id,
        "ReceiptHandle": received.receipt_handle,
        "MD5OfBody": received.md5_body,
        "Body": received.body,
    }
    if system:
        every = received.system_attributes()
        message["Attributes"] = {k: v for k, v in every.items() if "All" in system or k in system}
    chosen = {n: a for n, a in received.attributes.items() if _wanted(n, wanted)}
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
