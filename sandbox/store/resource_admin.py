"""The management rows of the resource stand-ins: create, list, receive, subscribe, delete.

What the clients in :mod:`sandbox.resources` call beyond delivery (which lives in
:mod:`sandbox.store.resources`). Each function works inside the caller's transaction and
takes the platform time ``now`` where time matters; the API rules and AWS's messages are
the clients' business.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.core.clock import iso8601_ms
from sandbox.store.resource_rows import (
    SUBSCRIPTION_COLUMNS,
    BucketRow,
    BusRow,
    QueueRow,
    ResourceRef,
    Subscription,
    attributes_from_json,
    parse_arn,
    subscription_from_row,
)

__all__ = [
    "ObjectRow",
    "bucket_is_empty",
    "create_bucket",
    "create_bus",
    "create_queue",
    "create_topic",
    "delete_bucket",
    "delete_bus",
    "delete_object",
    "delete_queue",
    "delete_topic",
    "get_object",
    "get_subscription",
    "list_buckets",
    "list_buses",
    "list_objects",
    "list_queues",
    "list_topics",
    "published",
    "purge_queue",
    "queue_counts",
    "received_events",
    "set_queue_attributes",
    "subscribe",
    "unsubscribe",
]


# SQS ------------------------------------------------------------------------------------------
def create_queue(
    conn: sqlite3.Connection, ref: ResourceRef, attributes: Mapping[str, str], now: float
) -> None:
    conn.execute(
        "INSERT INTO sqs_queues (account, region, name, attributes, created, last_modified) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (*ref.key, json.dumps(dict(attributes), sort_keys=True), now, now),
    )


def set_queue_attributes(
    conn: sqlite3.Connection, ref: ResourceRef, attributes: Mapping[str, str], now: float
) -> None:
    """Merge ``attributes`` into the queue's given attributes; an empty value removes one
    (SQS: an empty RedrivePolicy or Policy removes it)."""
    (text,) = conn.execute(
        "SELECT attributes FROM sqs_queues WHERE account=? AND region=? AND name=?", ref.key
    ).fetchone()
    merged = {k: v for k, v in (json.loads(text) | dict(attributes)).items() if v != ""}
    conn.execute(
        "UPDATE sqs_queues SET attributes=?, last_modified=? WHERE account=? AND region=? "
        "AND name=?",
        (json.dumps(merged, sort_keys=True), now, *ref.key),
    )


def delete_queue(conn: sqlite3.Connection, ref: ResourceRef) -> bool:
    """Delete the queue and its messages; False when there was none."""
    cursor = conn.execute("DELETE FROM sqs_queues WHERE account=? AND region=? AND name=?", ref.key)
    return cursor.rowcount > 0


def list_queues(conn: sqlite3.Connection, account: str, region: str, prefix: str) -> list[str]:
    """Queue names of one account and region starting with ``prefix``, sorted."""
    rows = conn.execute(
        "SELECT name FROM sqs_queues WHERE account=? AND region=? AND substr(name, 1, ?)=? "
        "ORDER BY name",
        (account, region, len(prefix), prefix),
    ).fetchall()
    return [str(r[0]) for r in rows]


def queue_counts(conn: sqlite3.Connection, queue: QueueRow, now: float) -> tuple[int, int, int]:
    """(visible, in flight, delayed) messages within the retention period."""
    oldest = now - int(queue.attributes["MessageRetentionPeriod"])
    row = conn.execute(
        "SELECT COALESCE(SUM(visible_at <= ?), 0), "
        "COALESCE(SUM(visible_at > ? AND receive_count > 0), 0), "
        "COALESCE(SUM(visible_at > ? AND receive_count = 0), 0) "
        "FROM sqs_messages WHERE account=? AND region=? AND queue=? AND sent > ?",
        (now, now, now, *queue.ref.key, oldest),
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def purge_queue(conn: sqlite3.Connection, ref: ResourceRef, now: float) -> None:
    conn.execute("DELETE FROM sqs_messages WHERE account=? AND region=? AND queue=?", ref.key)
    conn.execute(
        "UPDATE sqs_queues SET purged=? WHERE account=? AND region=? AND name=?", (now, *ref.key)
    )


# SNS ------------------------------------------------------------------------------------------
def create_topic(
    conn: sqlite3.Connection, ref: ResourceRef, attributes: Mapping[str, str], now: float
) -> None:
    conn.execute(
        "INSERT INTO sns_topics (account, region, name, attributes, created) "
        "VALUES (?, ?, ?, ?, ?)",
        (*ref.key, json.dumps(dict(attributes), sort_keys=True), now),
    )


def delete_topic(conn: sqlite3.Connection, ref: ResourceRef) -> None:
    """Delete the topic with its subscriptions and published messages."""
    conn.execute("DELETE FROM sns_topics WHERE account=? AND region=? AND name=?", ref.key)


def list_topics(conn: sqlite3.Connection, account: str, region: str) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sns_topics WHERE account=? AND region=? ORDER BY name",
        (account, region),
    ).fetchall()
    return [str(r[0]) for r in rows]


def subscribe(
    conn: sqlite3.Connection,
    topic: ResourceRef,
    protocol: str,
    endpoint: str,
    attributes: Mapping[str, str],
    *,
    owner: str,
    now: float,
) -> Subscription:
    subscription = Subscription(
        str(uuid.uuid4()), topic, protocol, endpoint, dict(attributes), owner
    )
    conn.execute(
        f"INSERT INTO sns_subscriptions ({SUBSCRIPTION_COLUMNS}, created) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            subscription.id,
            *topic.key,
            protocol,
            endpoint,
            json.dumps(subscription.attributes, sort_keys=True),
            owner,
            now,
        ),
    )
    return subscription


def get_subscription(conn: sqlite3.Connection, subscription_arn: str) -> Subscription | None:
    topic_arn, _, id_ = subscription_arn.rpartition(":")
    topic = parse_arn(topic_arn)
    if topic is None or topic.service != "sns":
        return None
    row = conn.execute(
        f"SELECT {SUBSCRIPTION_COLUMNS} FROM sns_subscriptions "
        "WHERE id=? AND account=? AND region=? AND topic=?",
        (id_, *topic.key),
    ).fetchone()
    return None if row is None else subscription_from_row(row)


def unsubscribe(conn: sqlite3.Connection, subscription: Subscription) -> None:
    conn.execute("DELETE FROM sns_subscriptions WHERE id=?", (subscription.id,))


def published(conn: sqlite3.Connection, topic: ResourceRef) -> list[dict[str, Any]]:
    """The topic's last :data:`KEEP_RECORDED` published messages, oldest first."""
    rows = conn.execute(
        "SELECT message_id, message, subject, attributes, published FROM sns_messages "
        "WHERE account=? AND region=? AND topic=? ORDER BY seq",
        topic.key,
    ).fetchall()
    messages = []
    for message_id, message, subject, attributes, when in rows:
        entry: dict[str, Any] = {"MessageId": message_id, "Message": message}
        if subject is not None:
            entry["Subject"] = subject
        if attributes:
            entry["MessageAttributes"] = attributes_from_json(attributes)
        entry["Timestamp"] = iso8601_ms(when)
        messages.append(entry)
    return messages


# EventBridge ----------------------------------------------------------------------------------
def create_bus(
    conn: sqlite3.Connection, ref: ResourceRef, description: str | None, now: float
) -> None:
    conn.execute(
        "INSERT INTO event_buses (account, region, name, description, created, last_modified) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (*ref.key, description, now, now),
    )


def delete_bus(conn: sqlite3.Connection, ref: ResourceRef) -> None:
    """Delete a custom bus and the events it received (idempotent)."""
    conn.execute("DELETE FROM event_buses WHERE account=? AND region=? AND name=?", ref.key)
    conn.execute("DELETE FROM bus_events WHERE account=? AND region=? AND bus=?", ref.key)


def list_buses(conn: sqlite3.Connection, account: str, region: str) -> list[BusRow]:
    """The default bus and the custom ones, by name."""
    rows = conn.execute(
        "SELECT name, description, created, last_modified FROM event_buses "
        "WHERE account=? AND region=?",
        (account, region),
    ).fetchall()
    buses = [BusRow(ResourceRef("events", account, region, r[0]), *r[1:]) for r in rows]
    buses.append(BusRow(ResourceRef("events", account, region, "default"), None, None, None))
    return sorted(buses, key=lambda bus: bus.ref.name)


def received_events(conn: sqlite3.Connection, bus: ResourceRef) -> list[dict[str, Any]]:
    """The bus's last :data:`KEEP_RECORDED` event envelopes, oldest first."""
    rows = conn.execute(
        "SELECT event FROM bus_events WHERE account=? AND region=? AND bus=? ORDER BY seq",
        bus.key,
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


# S3 -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ObjectRow:
    """An object (``body`` is empty in listings)."""

    key: str
    body: bytes
    size: int
    etag: str
    content_type: str
    last_modified: float


def create_bucket(
    conn: sqlite3.Connection, name: str, *, account: str, region: str, now: float
) -> None:
    conn.execute(
        "INSERT INTO s3_buckets (name, account, region, created) VALUES (?, ?, ?, ?)",
        (name, account, region, now),
    )


def delete_bucket(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("DELETE FROM s3_buckets WHERE name=?", (name,))


def bucket_is_empty(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM s3_objects WHERE bucket=? LIMIT 1", (name,)).fetchone()
    return row is None


def list_buckets(conn: sqlite3.Connection, account: str) -> list[BucketRow]:
    rows = conn.execute(
        "SELECT name, account, region, created FROM s3_buckets WHERE account=? ORDER BY name",
        (account,),
    ).fetchall()
    return [BucketRow(*r) for r in rows]


def get_object(conn: sqlite3.Connection, bucket: str, key: str) -> ObjectRow | None:
    row = conn.execute(
        "SELECT body, etag, content_type, last_modified FROM s3_objects "
        "WHERE bucket=? AND object_key=?",
        (bucket, key),
    ).fetchone()
    if row is None:
        return None
    body = bytes(row[0])
    return ObjectRow(key, body, len(body), row[1], row[2], row[3])


def list_objects(
    conn: sqlite3.Connection, bucket: str, *, prefix: str, after: str, limit: int
) -> list[ObjectRow]:
    """Objects whose keys start with ``prefix`` and sort after ``after`` (UTF-8 byte order,
    as S3 lists them), at most ``limit``, without their bodies."""
    rows = conn.execute(
        "SELECT object_key, length(body), etag, content_type, last_modified FROM s3_objects "
        "WHERE bucket=? AND substr(object_key, 1, ?)=? AND object_key > ? "
        "ORDER BY object_key LIMIT ?",
        (bucket, len(prefix), prefix, after, limit),
    ).fetchall()
    return [ObjectRow(r[0], b"", int(r[1]), r[2], r[3], r[4]) for r in rows]


def delete_object(conn: sqlite3.Connection, bucket: str, key: str) -> None:
    conn.execute("DELETE FROM s3_objects WHERE bucket=? AND object_key=?", (bucket, key))
