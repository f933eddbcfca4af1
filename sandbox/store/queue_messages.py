"""SQS messages in the store: sends with FIFO rules, receives with redrive and
message-group rules, and the calls that name a message by its receipt handle.

Why it exists: ReceiveMessage (the client's) and an event source mapping's poll (Lambda's,
in :mod:`sandbox.store.queue_rows`) must hand out messages by the same rules, so both go
through :func:`receive`:

- a message about to be received more than its queue's ``maxReceiveCount`` times moves to
  the dead-letter queue instead (SQS Developer Guide, "Using dead-letter queues"): same
  MessageId, body and attributes, receive count back to 0, ``DeadLetterQueueSourceArn``
  set;
- a FIFO queue hands out the messages of a group in order, and nothing of a group that
  has a message in flight (received, neither deleted nor visible again); a receive takes
  as many messages of one group as it can before the next group (SQS Developer Guide,
  "FIFO queue logic").

Every function works inside the caller's transaction and takes the platform time ``now``
(the sandbox clock); API checks and AWS's error messages are the clients' business.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sandbox.store.resource_rows import (
    MessageAttributes,
    QueueRow,
    ResourceRef,
    attributes_from_json,
    attributes_json,
    get_queue,
    parse_arn,
)
from sandbox.store.resources import (
    DeliveryRejected,
    ResourceMissing,
    md5_of_body,
    md5_of_message_attributes,
    message_size,
)

__all__ = [
    "DEDUPLICATION_INTERVAL",
    "MAX_VISIBILITY_TIMEOUT",
    "HandleOutcome",
    "Received",
    "RedrivePolicy",
    "SendResult",
    "change_visibility",
    "dead_letter_sources",
    "delete_message",
    "expire",
    "find_queue",
    "handle_owner",
    "queue_url",
    "receive",
    "redrive_policy",
    "send",
]

DEDUPLICATION_INTERVAL = 300.0
"""Seconds a FIFO queue remembers a MessageDeduplicationId (SendMessage API reference)."""

MAX_VISIBILITY_TIMEOUT = 43_200
"""12 hours: the longest visibility timeout, and the longest a message may stay invisible
counted from its receive (ChangeMessageVisibility API reference)."""

_SEQUENCE_BASE = 18_000_000_000_000_000_000  # SequenceNumber: a 20-digit string, increasing
_COLUMNS = (
    "seq, message_id, body, md5_body, attributes, md5_attributes, sender_id, sent, "
    "receive_count, first_received, group_id, deduplication_id, dead_letter_source"
)
_CHUNK = 500  # rows read at a time while looking for visible messages


def queue_url(ref: ResourceRef) -> str:
    """``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME``, as CreateQueue answers."""
    return f"https://sqs.{ref.region}.amazonaws.com/{ref.account}/{ref.name}"


def find_queue(conn: sqlite3.Connection, queue_arn: str) -> QueueRow | None:
    """The queue an ARN names, or None."""
    ref = parse_arn(queue_arn)
    if ref is None or ref.service != "sqs":
        return None
    return get_queue(conn, ref)


# redrive --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RedrivePolicy:
    """A queue's RedrivePolicy attribute, parsed (the client checked it when it was set)."""

    dead_letter_target_arn: str
    max_receive_count: int

    @property
    def target(self) -> ResourceRef | None:
        ref = parse_arn(self.dead_letter_target_arn)
        return ref if ref is not None and ref.service == "sqs" else None


def redrive_policy(queue: QueueRow) -> RedrivePolicy | None:
    """The queue's redrive policy, or None when it has none."""
    text = queue.attributes.get("RedrivePolicy")
    if not text:
        return None
    policy = json.loads(text)
    return RedrivePolicy(str(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"]))


def dead_letter_sources(conn: sqlite3.Connection, queue: QueueRow) -> list[str]:
    """Names of the queues (same account and region) whose redrive policy targets ``queue``,
    sorted."""
    rows = conn.execute(
        "SELECT name, attributes FROM sqs_queues WHERE account=? AND region=? ORDER BY name",
        (queue.ref.account, queue.ref.region),
    ).fetchall()
    names = []
    for name, text in rows:
        policy = json.loads(text).get("RedrivePolicy")
        if policy and json.loads(policy).get("deadLetterTargetArn") == queue.ref.arn:
            names.append(str(name))
    return names


# receipt handles ------------------------------------------------------------------------------
def _new_handle(ref: ResourceRef, message_id: str) -> str:
    """A new handle naming the queue and message, different at every receive."""
    raw = f"{ref.arn} {message_id} {uuid.uuid4().hex}".encode()
    return "AQEB" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def handle_owner(handle: object) -> tuple[str, str] | None:
    """(queue ARN, MessageId) a receipt handle was given out for; None for anything that is
    not a handle of this sandbox."""
    if not isinstance(handle, str) or not handle.startswith("AQEB"):
        return None
    encoded = handle[4:]
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    parts = raw.split(" ")
    return (parts[0], parts[1]) if len(parts) == 3 else None


# sending --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SendResult:
    """What a send gave: the MessageId, the SequenceNumber (FIFO queues only) and whether
    the message was a duplicate, accepted but not queued again (it then carries the id and
    sequence number of the message first sent with its deduplication id)."""

    message_id: str
    sequence_number: str | None
    duplicate: bool = False


def send(
    conn: sqlite3.Connection,
    queue_arn: str,
    body: str,
    *,
    message_attributes: MessageAttributes | None = None,
    now: float,
    delay_seconds: int | None = None,
    sender_id: str | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
) -> SendResult:
    """Put a message on a standard or FIFO queue.

    FIFO queues need ``group_id``, and ``deduplication_id`` unless the queue has
    ContentBasedDeduplication (then the SHA-256 hex of the body is the id); a message whose
    id was sent in the last 5 minutes (in the queue, or in its group with
    DeduplicationScope ``messageGroup``) is accepted and dropped. A FIFO queue takes no
    per-message delay but 0. A standard queue takes a ``group_id`` (fair queues) but no
    ``deduplication_id``.

    Raises:
        ResourceMissing: no such queue.
        DeliveryRejected: a rule above is broken, or the message is over the queue's
            MaximumMessageSize; ``code`` and ``message`` are SQS's.
    """
    queue = find_queue(conn, queue_arn)
    if queue is None:
        raise ResourceMissing(queue_arn)
    not_for_this_type = (
        "Reason: The request include parameter that is not valid for this queue type."
    )
    if queue.fifo:  # SendMessage API reference: MessageGroupId is required for FIFO queues
        if group_id is None:
            raise DeliveryRejected(
                queue_arn,
                "MissingParameter",
                "The request must contain the parameter MessageGroupId.",
            )
        if delay_seconds:  # FIFO queues take a delay per queue only (0 is let through)
            raise DeliveryRejected(
                queue_arn,
                "InvalidParameterValue",
                f"Value {delay_seconds} for parameter DelaySeconds is invalid. {not_for_this_type}",
            )
        if deduplication_id is None:
            if queue.attributes["ContentBasedDeduplication"] != "true":
                raise DeliveryRejected(
                    queue_arn,
                    "InvalidParameterValue",
                    "The queue should either have ContentBasedDeduplication enabled or "
                    "MessageDeduplicationId provided explicitly",
                )
            deduplication_id = hashlib.sha256(body.encode()).hexdigest()
    elif deduplication_id is not None:
        raise DeliveryRejected(
            queue_arn,
            "InvalidParameterValue",
            f"Value {deduplication_id} for parameter MessageDeduplicationId is invalid. "
            f"{not_for_this_type}",
        )
    limit = int(queue.attributes["MaximumMessageSize"])
    if message_size(body, message_attributes) > limit:
        raise DeliveryRejected(
            queue_arn,
            "InvalidParameterValue",
            "One or more parameters are invalid. "
            f"Reason: Message must be shorter than {limit} bytes.",
        )
    key = queue.ref.key
    scope = ""
    if queue.fifo:
        if queue.attributes["DeduplicationScope"] == "messageGroup":
            scope = str(group_id)
        conn.execute(
            "DELETE FROM sqs_deduplication WHERE account=? AND region=? AND queue=? AND expires<=?",
            (*key, now),
        )
        earlier = conn.execute(
            "SELECT message_id, sequence_number FROM sqs_deduplication WHERE account=? AND "
            "region=? AND queue=? AND scope=? AND deduplication_id=?",
            (*key, scope, deduplication_id),
        ).fetchone()
        if earlier is not None:  # accepted, not delivered again within the interval
            return SendResult(str(earlier[0]), str(earlier[1]), duplicate=True)
    if queue.fifo or delay_seconds is None:
        delay = int(queue.attributes["DelaySeconds"])
    else:
        delay = delay_seconds
    message_id = str(uuid.uuid4())
    cursor = conn.execute(
        "INSERT INTO sqs_messages (account, region, queue, message_id, body, attributes, "
        "md5_body, md5_attributes, sender_id, sent, visible_at, group_id, deduplication_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            *key,
            message_id,
            body,
            attributes_json(message_attributes),
            md5_of_body(body),
            md5_of_message_attributes(message_attributes) if message_attributes else None,
            sender_id or queue.ref.account,
            now,
            now + delay,
            group_id,
            deduplication_id,
        ),
    )
    if not queue.fifo:
        return SendResult(message_id, None)
    sequence = _sequence_number(int(cursor.lastrowid or 0))
    conn.execute(
        "INSERT INTO sqs_deduplication (account, region, queue, scope, deduplication_id, "
        "message_id, sequence_number, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (*key, scope, deduplication_id, message_id, sequence, now + DEDUPLICATION_INTERVAL),
    )
    return SendResult(message_id, sequence)


def _sequence_number(seq: int) -> str:
    return str(_SEQUENCE_BASE + seq)


# receiving ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Received:
    """A message as a receive hands it out."""

    message_id: str
    receipt_handle: str
    body: str
    md5_body: str
    attributes: dict[str, dict[str, Any]]  # message attributes, SQS shape
    md5_attributes: str | None
    sender_id: str
    sent: float
    receive_count: int
    first_received: float
    group_id: str | None
    deduplication_id: str | None
    sequence_number: str | None  # FIFO queues only
    dead_letter_source: str | None  # the queue it was moved from, in a dead-letter queue

    def system_attributes(self) -> dict[str, str]:
        """Every SQS system attribute the message has, as strings (times in epoch ms),
        in the order of the examples in the Lambda Developer Guide's SQS page."""
        every = {
            "ApproximateReceiveCount": str(self.receive_count),
            "SentTimestamp": str(int(self.sent * 1000)),
        }
        if self.sequence_number is not None:
            every["SequenceNumber"] = self.sequence_number
        if self.group_id is not None:
            every["MessageGroupId"] = self.group_id
        every["SenderId"] = self.sender_id
        if self.deduplication_id is not None:
            every["MessageDeduplicationId"] = self.deduplication_id
        every["ApproximateFirstReceiveTimestamp"] = str(int(self.first_received * 1000))
        if self.dead_letter_source is not None:
            every["DeadLetterQueueSourceArn"] = self.dead_letter_source
        return every


def receive(
    conn: sqlite3.Connection,
    queue: QueueRow,
    *,
    max_number: int,
    visibility_timeout: float,
    now: float,
) -> list[Received]:
    """Take up to ``max_number`` messages, oldest first (per group on a FIFO queue): each
    becomes invisible for ``visibility_timeout`` seconds, counts one more receive and gets
    a new receipt handle. Messages past the retention period are deleted first; a message
    over the redrive policy's maxReceiveCount moves to the dead-letter queue instead of
    being handed out (when that queue still exists: otherwise it stays, as on SQS)."""
    expire(conn, queue, now)
    policy = redrive_policy(queue)
    target = policy.target if policy is not None else None
    dead_letter = get_queue(conn, target) if target is not None else None
    limit = policy.max_receive_count if policy is not None else None
    chosen: list[int] = []
    if max_number > 0:
        candidates = _fifo_candidates if queue.fifo else _standard_candidates
        for seq, count in candidates(conn, queue, now):
            if dead_letter is not None and limit is not None and count >= limit:
                _move(conn, seq, queue, dead_letter, now)
                continue
            chosen.append(seq)
            if len(chosen) >= max_number:
                break
    return [_hand_out(conn, queue, seq, visibility_timeout, now) for seq in chosen]


def expire(conn: sqlite3.Connection, queue: QueueRow, now: float) -> None:
    """Delete the messages older than the queue's MessageRetentionPeriod."""
    oldest = now - int(queue.attributes["MessageRetentionPeriod"])
    conn.execute(
        "DELETE FROM sqs_messages WHERE account=? AND region=? AND queue=? AND sent <= ?",
        (*queue.ref.key, oldest),
    )


def _standard_candidates(
    conn: sqlite3.Connection, queue: QueueRow, now: float
) -> Iterator[tuple[int, int]]:
    """(seq, receive count) of the visible messages, oldest first, read a chunk at a time
    (the caller moves some of them away between chunks)."""
    last = 0
    while True:
        rows = conn.execute(
            # send order (the sqs_messages_order index); "+visible_at" keeps the planner
            # from sorting every visible message by the visibility index instead
            "SELECT seq, receive_count FROM sqs_messages INDEXED BY sqs_messages_order "
            "WHERE account=? AND region=? AND queue=? AND +visible_at <= ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (*queue.ref.key, now, last, _CHUNK),
        ).fetchall()
        if not rows:
            return
        for seq, count in rows:
            yield int(seq), int(count)
        last = int(rows[-1][0])


def _fifo_candidates(
    conn: sqlite3.Connection, queue: QueueRow, now: float
) -> Iterator[tuple[int, int]]:
    """(seq, receive count) of the messages a FIFO receive may take, group by group: the
    groups in the order of their oldest available message, each group's messages in order
    up to its first one that is not visible. A group with a message in flight offers none."""
    key = queue.ref.key
    blocked = {
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT group_id FROM sqs_messages WHERE account=? AND region=? "
            "AND queue=? AND receive_count > 0 AND visible_at > ?",
            (*key, now),
        )
    }
    groups: dict[str, list[tuple[int, int]]] = {}
    rows = conn.execute(
        "SELECT seq, group_id, visible_at, receive_count FROM sqs_messages "
        "WHERE account=? AND region=? AND queue=? ORDER BY seq",
        key,
    ).fetchall()
    for seq, group, visible_at, count in rows:
        if group in blocked:
            continue
        if visible_at > now:  # delayed: the group's later messages wait behind it
            blocked.add(group)
            continue
        groups.setdefault(group, []).append((int(seq), int(count)))
    for members in groups.values():
        yield from members


def _move(
    conn: sqlite3.Connection, seq: int, source: QueueRow, target: QueueRow, now: float
) -> None:
    """Move a message to the dead-letter queue: same id, body and attributes, receive count
    reset, visible at once, ``DeadLetterQueueSourceArn`` set. Its retention still counts
    from the original send (SQS does so for standard queues)."""
    row = conn.execute(
        "SELECT message_id, body, attributes, md5_body, md5_attributes, sender_id, sent, "
        "group_id, deduplication_id FROM sqs_messages WHERE seq=?",
        (seq,),
    ).fetchone()
    conn.execute("DELETE FROM sqs_messages WHERE seq=?", (seq,))
    conn.execute(
        "INSERT INTO sqs_messages (account, region, queue, message_id, body, attributes, "
        "md5_body, md5_attributes, sender_id, sent, visible_at, group_id, deduplication_id, "
        "dead_letter_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*target.ref.key, *row[:7], now, row[7], row[8], source.ref.arn),
    )


def _hand_out(
    conn: sqlite3.Connection, queue: QueueRow, seq: int, visibility_timeout: float, now: float
) -> Received:
    row = conn.execute(f"SELECT {_COLUMNS} FROM sqs_messages WHERE seq=?", (seq,)).fetchone()
    _, message_id, body, md5_body, attributes, md5_attributes, sender, sent, count, first = row[:10]
    group_id, deduplication_id, dead_letter_source = row[10:]
    handle = _new_handle(queue.ref, message_id)
    first = now if first is None else first
    conn.execute(
        "UPDATE sqs_messages SET visible_at=?, receive_count=?, first_received=?, "
        "receipt_handle=?, received=? WHERE seq=?",
        (now + visibility_timeout, count + 1, first, handle, now, seq),
    )
    return Received(
        message_id=message_id,
        receipt_handle=handle,
        body=body,
        md5_body=md5_body,
        attributes=attributes_from_json(attributes),
        md5_attributes=md5_attributes,
        sender_id=sender,
        sent=sent,
        receive_count=count + 1,
        first_received=first,
        group_id=group_id,
        deduplication_id=deduplication_id if queue.fifo else None,
        sequence_number=_sequence_number(seq) if queue.fifo else None,
        dead_letter_source=dead_letter_source,
    )


# receipt-handle calls -------------------------------------------------------------------------
class HandleOutcome(StrEnum):
    """What became of a call naming a message by its receipt handle."""

    DONE = "done"
    INVALID = "invalid"  # not a handle this queue gave out
    GONE = "gone"  # the message is gone, or was received again since (a newer handle)
    EXPIRED = "expired"  # FIFO: the handle's visibility timeout has ended
    NOT_IN_FLIGHT = "not-in-flight"  # the message is visible again
    TOO_LONG = "too-long"  # the message would stay invisible past 12 h from its receive


def _current(
    conn: sqlite3.Connection, queue: QueueRow, handle: str
) -> tuple[HandleOutcome, tuple[Any, ...] | None]:
    """The message row (seq, receipt handle, visible_at, received) a handle names."""
    owner = handle_owner(handle)
    if owner is None or owner[0] != queue.ref.arn:
        return HandleOutcome.INVALID, None
    row = conn.execute(
        "SELECT seq, receipt_handle, visible_at, received FROM sqs_messages "
        "WHERE account=? AND region=? AND queue=? AND message_id=?",
        (*queue.ref.key, owner[1]),
    ).fetchone()
    if row is None or row[1] != handle:
        return HandleOutcome.GONE, row
    return HandleOutcome.DONE, row


def delete_message(
    conn: sqlite3.Connection, queue: QueueRow, handle: str, now: float
) -> HandleOutcome:
    """Delete the message received with ``handle``.

    DONE also when the message is already gone; GONE (delete nothing, succeed: "the request
    succeeds, but the message might not be deleted") for an older handle of a standard
    queue; EXPIRED for a FIFO handle that is not the latest or whose visibility timeout
    has ended (SQS refuses those); INVALID for a handle of another queue.
    """
    outcome, row = _current(conn, queue, handle)
    if outcome is HandleOutcome.INVALID:
        return outcome
    if row is None:  # deleted already (or moved to the dead-letter queue)
        return HandleOutcome.DONE
    if queue.fifo and (outcome is HandleOutcome.GONE or row[2] <= now):
        return HandleOutcome.EXPIRED
    if outcome is HandleOutcome.GONE:
        return outcome
    conn.execute("DELETE FROM sqs_messages WHERE seq=?", (row[0],))
    return HandleOutcome.DONE


def change_visibility(
    conn: sqlite3.Connection, queue: QueueRow, handle: str, timeout: int, now: float
) -> HandleOutcome:
    """Make the message received with ``handle`` visible ``timeout`` seconds from now (0:
    at once). Only the latest handle of a message in flight can; a message may not stay
    invisible more than 12 hours after its receive."""
    outcome, row = _current(conn, queue, handle)
    if outcome is not HandleOutcome.DONE or row is None:
        return outcome
    seq, _, visible_at, received = row
    if visible_at <= now:
        return HandleOutcome.NOT_IN_FLIGHT
    if now + timeout > (now if received is None else received) + MAX_VISIBILITY_TIMEOUT:
        return HandleOutcome.TOO_LONG
    conn.execute("UPDATE sqs_messages SET visible_at=? WHERE seq=?", (now + timeout, seq))
    return HandleOutcome.DONE
