"""The Lambda SQS poller's reads and writes of a queue (spec §8.3): poll a batch, delete
or release it, count what waits, and shape each message as a Lambda event record.

Why it exists: an event source mapping is Lambda reading a queue as a consumer would, so
a poll follows ReceiveMessage's rules exactly (it calls
:func:`sandbox.store.queue_messages.receive`: redrive to the dead-letter queue, FIFO
message groups), only with batches of up to 10,000 where ReceiveMessage stops at 10.
Every function works inside the caller's transaction and takes the platform time.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.store.queue_messages import find_queue, queue_url, receive, redrive_policy
from sandbox.store.resource_admin import queue_counts
from sandbox.store.resource_rows import as_bytes, parse_arn
from sandbox.store.resources import message_size

__all__ = [
    "MAX_POLL",
    "PolledMessage",
    "QueueInfo",
    "delete",
    "depth",
    "lambda_record",
    "poll",
    "queue_info",
    "release",
]

MAX_POLL = 10_000
"""The most messages one poll takes: an SQS event source mapping's largest BatchSize."""


# the Lambda poller ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QueueInfo:
    """What a poller needs to know of its queue."""

    arn: str
    url: str
    fifo: bool
    visibility_timeout: int
    redrive_max_receive_count: int | None
    dlq_arn: str | None


@dataclass(frozen=True, slots=True)
class PolledMessage:
    """A message taken by a poll.

    Attributes:
        attributes: the SQS system attributes as strings: ApproximateReceiveCount,
            SentTimestamp and ApproximateFirstReceiveTimestamp (epoch ms), SenderId; FIFO
            adds SequenceNumber, MessageGroupId, MessageDeduplicationId; a message moved
            to a dead-letter queue adds DeadLetterQueueSourceArn.
        message_attributes: SQS shape, ``{"Name": {"DataType": "String", "StringValue":
            "..."}}`` (``BinaryValue`` holds bytes).
        md5_of_message_attributes: None when the message has no attributes.
        size: bytes counted against the size limits: body plus attributes.
    """

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]
    message_attributes: dict[str, dict[str, Any]]
    md5_of_body: str
    md5_of_message_attributes: str | None
    size: int


def queue_info(conn: sqlite3.Connection, queue_arn: str) -> QueueInfo | None:
    """The queue ``queue_arn`` names, or None when there is none."""
    queue = find_queue(conn, queue_arn)
    if queue is None:
        return None
    policy = redrive_policy(queue)
    return QueueInfo(
        arn=queue.ref.arn,
        url=queue_url(queue.ref),
        fifo=queue.fifo,
        visibility_timeout=int(queue.attributes["VisibilityTimeout"]),
        redrive_max_receive_count=None if policy is None else policy.max_receive_count,
        dlq_arn=None if policy is None else policy.dead_letter_target_arn,
    )


def poll(
    conn: sqlite3.Connection,
    queue_arn: str,
    *,
    max_messages: int,
    visibility_timeout: float,
    now: float,
) -> list[PolledMessage]:
    """Receive up to ``max_messages`` (1-10,000: an event source mapping's batch exceeds
    ReceiveMessage's 10) with :func:`receive`'s rules: oldest first, redrive, FIFO groups.
    A queue that no longer exists gives nothing.

    Raises:
        ValueError: ``max_messages`` out of range.
    """
    if not 1 <= max_messages <= MAX_POLL:
        raise ValueError(f"max_messages must be between 1 and {MAX_POLL}, not {max_messages}")
    queue = find_queue(conn, queue_arn)
    if queue is None:
        return []
    received = receive(
        conn, queue, max_number=max_messages, visibility_timeout=visibility_timeout, now=now
    )
    return [
        PolledMessage(
            message_id=m.message_id,
            receipt_handle=m.receipt_handle,
            body=m.body,
            attributes=m.system_attributes(),
            message_attributes=m.attributes,
            md5_of_body=m.md5_body,
            md5_of_message_attributes=m.md5_attributes,
            size=message_size(m.body, m.attributes),
        )
        for m in received
    ]


def delete(conn: sqlite3.Connection, queue_arn: str, receipt_handles: Sequence[str]) -> int:
    """Delete the messages whose latest receipt handle is among ``receipt_handles``; returns
    how many were deleted (a message received again since, or gone, is not)."""
    ref = parse_arn(queue_arn)
    if ref is None or not receipt_handles:
        return 0
    deleted = 0
    for handle in receipt_handles:
        cursor = conn.execute(
            "DELETE FROM sqs_messages WHERE account=? AND region=? AND queue=? "
            "AND receipt_handle=?",
            (*ref.key, handle),
        )
        deleted += cursor.rowcount
    return deleted


def release(
    conn: sqlite3.Connection, queue_arn: str, receipt_handles: Sequence[str], *, visible_at: float
) -> None:
    """Make the messages received with ``receipt_handles`` (still their latest handles)
    visible at ``visible_at``: now to hand them back at once, or the end of the visibility
    timeout for a failed batch. Their receive counts stay, so redrive still applies."""
    ref = parse_arn(queue_arn)
    if ref is None:
        return
    conn.executemany(
        "UPDATE sqs_messages SET visible_at=? WHERE account=? AND region=? AND queue=? "
        "AND receipt_handle=?",
        [(visible_at, *ref.key, handle) for handle in receipt_handles],
    )


def depth(conn: sqlite3.Connection, queue_arn: str, now: float) -> tuple[int, int, int]:
    """(visible, in flight, delayed) messages, as GetQueueAttributes counts them; zeros for
    a queue that does not exist."""
    queue = find_queue(conn, queue_arn)
    return (0, 0, 0) if queue is None else queue_counts(conn, queue, now)


def lambda_record(message: PolledMessage, *, queue_arn: str, region: str) -> dict[str, Any]:
    """The record of a Lambda SQS event for ``message`` (spec §9, Lambda Developer Guide
    "Using Lambda with Amazon SQS"): message attributes in Lambda's camelCase shape, Binary
    values in base64; ``md5OfMessageAttributes`` is null when there are none (as recorded
    from AWS)."""
    return {
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": dict(message.attributes),
        "messageAttributes": {
            name: _lambda_attribute(attribute)
            for name, attribute in message.message_attributes.items()
        },
        "md5OfMessageAttributes": message.md5_of_message_attributes,
        "md5OfBody": message.md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _lambda_attribute(attribute: dict[str, Any]) -> dict[str, Any]:
    """``{"DataType": "String", "StringValue": "v"}`` as Lambda shows it:
    ``{"stringValue": "v", "stringListValues": [], "binaryListValues": [], "dataType":
    "String"}`` (``binaryValue`` in base64 for Binary types)."""
    if "BinaryValue" in attribute:
        value = base64.b64encode(as_bytes(attribute["BinaryValue"])).decode()
        shaped: dict[str, Any] = {"binaryValue": value}
    else:
        shaped = {"stringValue": str(attribute["StringValue"])}
    shaped["stringListValues"] = []
    shaped["binaryListValues"] = []
    shaped["dataType"] = str(attribute["DataType"])
    return shaped
