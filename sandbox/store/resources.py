"""Delivery to the local stand-ins for the resources that receive Lambda's destinations:
SQS queues, SNS topics, EventBridge event buses and S3 buckets.

Why it exists: asynchronous invocation delivers invocation records and dead letters to these
resources inside its own transaction (the record is written and the event marked done, or
neither), so every operation takes an open :class:`sqlite3.Connection` and the platform time
``now`` (from the sandbox clock), never a client or the wall clock. The user-facing clients
in :mod:`sandbox.resources` check API input with AWS's messages and deliver through the
same functions; their other rows are in :mod:`sandbox.store.resource_admin`.

The delivery contract: :func:`send_message`, :func:`publish`, :func:`put_event`,
:func:`put_object` and :func:`exists`. Each delivery raises :class:`ResourceMissing` when the
target does not exist and :class:`DeliveryRejected` when it exists but refuses the message
(over the size limit, a FIFO queue or topic without a message group); both are
:class:`DeliveryError`, so ``except DeliveryError`` catches every failed delivery.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import uuid
from collections.abc import Mapping

from sandbox.core.clock import iso8601_ms
from sandbox.store.resource_rows import (
    MAX_MESSAGE_BYTES,
    MessageAttributes,
    ResourceRef,
    Subscription,
    as_bytes,
    attributes_json,
    get_bucket,
    get_bus,
    get_queue,
    get_topic,
    parse_arn,
    subscriptions,
)

__all__ = [
    "KEEP_RECORDED",
    "MAX_MESSAGE_BYTES",
    "DeliveryError",
    "DeliveryRejected",
    "MessageAttributes",
    "ResourceMissing",
    "ResourceRef",
    "exists",
    "is_fifo",
    "md5_of_body",
    "md5_of_message_attributes",
    "message_size",
    "parse_arn",
    "publish",
    "put_event",
    "put_object",
    "send_message",
]

KEEP_RECORDED = 1_000
"""How many published messages per topic and received events per bus the sandbox keeps."""

_KIND = {"sqs": "queue", "sns": "topic", "events": "event bus", "s3": "bucket"}


# errors ---------------------------------------------------------------------------------------
class DeliveryError(Exception):
    """A message could not be delivered to ``arn``."""

    def __init__(self, arn: str, message: str) -> None:
        super().__init__(message)
        self.arn = arn
        self.message = message


class ResourceMissing(DeliveryError):
    """The target does not exist (the message says which ARN)."""

    def __init__(self, arn: str) -> None:
        ref = parse_arn(arn)
        kind = _KIND[ref.service] if ref else "resource"
        super().__init__(arn, f"The {kind} {arn} does not exist.")


class DeliveryRejected(DeliveryError):
    """The target exists but refuses the message; ``code`` and ``message`` are the
    service's own (e.g. SQS ``InvalidParameterValue``, "Message must be shorter than ...")."""

    def __init__(self, arn: str, code: str, message: str) -> None:
        super().__init__(arn, message)
        self.code = code


# ARNs -----------------------------------------------------------------------------------------
def _ref(arn: str, service: str) -> ResourceRef:
    ref = parse_arn(arn)
    if ref is None or ref.service != service:
        raise ResourceMissing(arn)
    return ref


def exists(conn: sqlite3.Connection, arn: str) -> bool:
    """Whether the queue, topic, event bus or bucket ``arn`` names exists (the ``default``
    bus of every account and region always does)."""
    ref = parse_arn(arn)
    if ref is None:
        return False
    if ref.service == "s3":
        return get_bucket(conn, ref.name) is not None
    if ref.service == "events" and ref.name == "default":
        return True
    table = {"sqs": "sqs_queues", "sns": "sns_topics", "events": "event_buses"}[ref.service]
    row = conn.execute(
        f"SELECT 1 FROM {table} WHERE account=? AND region=? AND name=?", ref.key
    ).fetchone()
    return row is not None


def is_fifo(conn: sqlite3.Connection, arn: str) -> bool:
    """Whether ``arn`` is an existing FIFO queue or FIFO topic (Lambda destinations must be
    standard queues and topics)."""
    ref = parse_arn(arn)
    if ref is None or ref.service not in ("sqs", "sns"):
        return False
    table = "sqs_queues" if ref.service == "sqs" else "sns_topics"
    flag = "FifoQueue" if ref.service == "sqs" else "FifoTopic"
    row = conn.execute(
        f"SELECT attributes FROM {table} WHERE account=? AND region=? AND name=?", ref.key
    ).fetchone()
    return row is not None and json.loads(row[0]).get(flag) == "true"


# MD5s and sizes -------------------------------------------------------------------------------
def md5_of_body(body: str) -> str:
    """SQS's ``MD5OfMessageBody``: the MD5 hex digest of the UTF-8 body."""
    return hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()


def md5_of_message_attributes(attributes: MessageAttributes) -> str:
    """SQS's ``MD5OfMessageAttributes``.

    The documented encoding (SQS Developer Guide, "Calculating the MD5 message digest for
    message attributes"): for each attribute, names sorted, the 4-byte big-endian length and
    UTF-8 bytes of the name, then of the data type, then one transport byte (1 for String
    and Number values, 2 for Binary), then the length and bytes of the value.
    """
    buffer = bytearray()

    def put(data: bytes) -> None:
        buffer.extend(len(data).to_bytes(4, "big"))
        buffer.extend(data)

    for name in sorted(attributes):
        attribute = attributes[name]
        put(name.encode())
        put(str(attribute["DataType"]).encode())
        if "BinaryValue" in attribute:
            buffer.append(2)
            put(as_bytes(attribute["BinaryValue"]))
        else:
            buffer.append(1)
            put(str(attribute["StringValue"]).encode())
    return hashlib.md5(bytes(buffer), usedforsecurity=False).hexdigest()


def message_size(body: str, attributes: MessageAttributes | None) -> int:
    """Bytes counted against the size limit: the body plus each attribute's name, data type
    and value (SQS quotas page: "message attributes count toward the message size")."""
    size = len(body.encode())
    for name, attribute in (attributes or {}).items():
        value = attribute.get("BinaryValue", attribute.get("StringValue", ""))
        size += len(name.encode()) + len(str(attribute["DataType"]).encode())
        size += len(as_bytes(value))
    return size


# SQS ------------------------------------------------------------------------------------------
def send_message(
    conn: sqlite3.Connection,
    queue_arn: str,
    body: str,
    *,
    message_attributes: MessageAttributes | None = None,
    now: float,
    delay_seconds: int | None = None,
    sender_id: str | None = None,
) -> str:
    """Put a message on a standard queue; returns its MessageId.

    ``delay_seconds`` (default: the queue's DelaySeconds) keeps it invisible that long;
    ``sender_id`` is what ``SenderId`` shows (default: the queue's account).

    Raises:
        ResourceMissing: no such queue.
        DeliveryRejected: the message is over the queue's MaximumMessageSize, or the queue is
            FIFO (sending to one needs a MessageGroupId: use
            :func:`sandbox.store.queue_messages.send`).
    """
    ref = _ref(queue_arn, "sqs")
    queue = get_queue(conn, ref)
    if queue is None:
        raise ResourceMissing(queue_arn)
    if queue.fifo:  # SendMessage API reference: MessageGroupId is required for FIFO queues
        raise DeliveryRejected(
            queue_arn, "MissingParameter", "The request must contain the parameter MessageGroupId."
        )
    limit = int(queue.attributes["MaximumMessageSize"])
    if message_size(body, message_attributes) > limit:
        raise DeliveryRejected(
            queue_arn,
            "InvalidParameterValue",
            "One or more parameters are invalid. "
            f"Reason: Message must be shorter than {limit} bytes.",
        )
    delay = int(queue.attributes["DelaySeconds"]) if delay_seconds is None else delay_seconds
    message_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO sqs_messages (account, region, queue, message_id, body, attributes, "
        "md5_body, md5_attributes, sender_id, sent, visible_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            *ref.key,
            message_id,
            body,
            attributes_json(message_attributes),
            md5_of_body(body),
            md5_of_message_attributes(message_attributes) if message_attributes else None,
            sender_id or ref.account,
            now,
            now + delay,
        ),
    )
    return message_id


# SNS ------------------------------------------------------------------------------------------
def publish(
    conn: sqlite3.Connection,
    topic_arn: str,
    message: str,
    *,
    subject: str | None = None,
    message_attributes: MessageAttributes | None = None,
    now: float,
) -> str:
    """Publish to a standard topic and deliver to its ``sqs`` subscriptions, all in the
    caller's transaction; returns the MessageId.

    Each subscribed queue receives the SNS notification JSON, or the message itself (with
    the message attributes as SQS message attributes) when the subscription has
    RawMessageDelivery. A subscription whose queue is gone or refuses the message is skipped,
    as SNS drops a delivery that fails after its retries.

    Raises:
        ResourceMissing: no such topic.
        DeliveryRejected: the message is over 256 KiB, or the topic is FIFO.
    """
    ref = _ref(topic_arn, "sns")
    topic = get_topic(conn, ref)
    if topic is None:
        raise ResourceMissing(topic_arn)
    if topic.attributes.get("FifoTopic") == "true":
        raise DeliveryRejected(
            topic_arn,
            "InvalidParameter",
            "Invalid parameter: The MessageGroupId parameter is required for FIFO topics",
        )
    if message_size(message, message_attributes) > MAX_MESSAGE_BYTES:
        raise DeliveryRejected(topic_arn, "InvalidParameter", "Invalid parameter: Message too long")
    message_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO sns_messages (account, region, topic, message_id, message, subject, "
        "attributes, published) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (*ref.key, message_id, message, subject, attributes_json(message_attributes), now),
    )
    _trim(conn, "sns_messages", "topic", ref)
    for subscription in subscriptions(conn, ref):
        if subscription.protocol != "sqs":
            continue
        if subscription.raw:
            body, attributes = message, message_attributes
        else:
            body = notification(
                ref, subscription, message_id, message, subject, message_attributes, now
            )
            attributes = None
        try:
            send_message(
                conn,
                subscription.endpoint,
                body,
                message_attributes=attributes,
                now=now,
                sender_id=ref.account,
            )
        except DeliveryError:
            continue
    return message_id


def notification(
    topic: ResourceRef,
    subscription: Subscription,
    message_id: str,
    message: str,
    subject: str | None,
    message_attributes: MessageAttributes | None,
    now: float,
) -> str:
    """The JSON document SNS delivers to an SQS subscription (SNS Developer Guide, "HTTP/S
    notification JSON format"), laid out as SNS lays it out. ``Signature`` is a stand-in
    that no certificate verifies."""
    fields: dict[str, object] = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic.arn,
    }
    if subject is not None:
        fields["Subject"] = subject
    fields["Message"] = message
    fields["Timestamp"] = iso8601_ms(now)
    fields["SignatureVersion"] = "1"
    digest = hashlib.sha256(f"{message_id}\n{topic.arn}\n{message}".encode()).digest()
    fields["Signature"] = base64.b64encode(digest).decode()
    fields["SigningCertURL"] = (
        f"https://sns.{topic.region}.amazonaws.com/SimpleNotificationService-sandbox.pem"
    )
    fields["UnsubscribeURL"] = (
        f"https://sns.{topic.region}.amazonaws.com/?Action=Unsubscribe"
        f"&SubscriptionArn={subscription.arn}"
    )
    if message_attributes:
        fields["MessageAttributes"] = sns_attributes(message_attributes)
    lines = [
        f"  {json.dumps(k)} : {json.dumps(v, ensure_ascii=False, separators=(',', ':'))}"
        for k, v in fields.items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}"


def sns_attributes(attributes: MessageAttributes) -> dict[str, dict[str, str]]:
    """Message attributes in the notification's shape: ``{"Type": ..., "Value": ...}``,
    Binary values base64-encoded."""
    shaped = {}
    for name in sorted(attributes):
        attribute = attributes[name]
        if "BinaryValue" in attribute:
            value = base64.b64encode(as_bytes(attribute["BinaryValue"])).decode()
        else:
            value = str(attribute["StringValue"])
        shaped[name] = {"Type": str(attribute["DataType"]), "Value": value}
    return shaped


def _trim(conn: sqlite3.Connection, table: str, column: str, ref: ResourceRef) -> None:
    """Keep the newest :data:`KEEP_RECORDED` rows of one topic or bus."""
    conn.execute(
        f"DELETE FROM {table} WHERE account=? AND region=? AND {column}=? AND seq <= ("
        f"SELECT seq FROM {table} WHERE account=? AND region=? AND {column}=? "
        "ORDER BY seq DESC LIMIT 1 OFFSET ?)",
        (*ref.key, *ref.key, KEEP_RECORDED),
    )


# EventBridge ----------------------------------------------------------------------------------
def put_event(
    conn: sqlite3.Connection, bus_arn: str, event: Mapping[str, object], *, now: float
) -> str:
    """Record a full event envelope (version, id, detail-type, source, account, time, region,
    resources, detail) on the bus; returns its ``id``.

    Raises:
        ResourceMissing: no such bus (the ``default`` bus always exists).
    """
    ref = _ref(bus_arn, "events")
    if get_bus(conn, ref) is None:
        raise ResourceMissing(bus_arn)
    event_id = str(event.get("id") or uuid.uuid4())
    conn.execute(
        "INSERT INTO bus_events (account, region, bus, event_id, event, received) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (*ref.key, event_id, json.dumps(event), now),
    )
    _trim(conn, "bus_events", "bus", ref)
    return event_id


# S3 -------------------------------------------------------------------------------------------
def put_object(
    conn: sqlite3.Connection,
    bucket: str,
    key: str,
    body: bytes,
    *,
    now: float,
    content_type: str = "application/json",
) -> str:
    """Write (or overwrite) an object; returns its ETag, the MD5 hex in double quotes.

    Raises:
        ResourceMissing: no such bucket.
    """
    if get_bucket(conn, bucket) is None:
        raise ResourceMissing(f"arn:aws:s3:::{bucket}")
    etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
    conn.execute(
        "INSERT INTO s3_objects (bucket, object_key, body, etag, content_type, last_modified) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (bucket, object_key) DO UPDATE SET "
        "body=excluded.body, etag=excluded.etag, content_type=excluded.content_type, "
        "last_modified=excluded.last_modified",
        (bucket, key, bytes(body), etag, content_type, now),
    )
    return etag
