"""What the stores of the resource stand-ins hold: ARNs, row records and their reads.

The base of :mod:`sandbox.store.resources` (delivery) and :mod:`sandbox.store.resource_admin`
(create, list, receive, delete): one place that knows how a queue, topic, event bus or
bucket is keyed and how its row reads back. Queues, topics and buses are keyed by (account,
region, name) parsed from their ARN; buckets are global by name, as in S3.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FIFO_QUEUE_DEFAULTS",
    "MAX_MESSAGE_BYTES",
    "QUEUE_DEFAULTS",
    "SUBSCRIPTION_COLUMNS",
    "TOPIC_DEFAULTS",
    "BucketRow",
    "BusRow",
    "MessageAttributes",
    "QueueRow",
    "ResourceRef",
    "Subscription",
    "TopicRow",
    "as_bytes",
    "attributes_from_json",
    "attributes_json",
    "get_bucket",
    "get_bus",
    "get_queue",
    "get_topic",
    "parse_arn",
    "subscription_from_row",
    "subscriptions",
]

MAX_MESSAGE_BYTES = 262_144
"""SQS and SNS message size limit: body plus message attributes (256 KiB). SQS raised its
limit to 1 MiB in 2025; the sandbox keeps 256 KiB, the limit SNS still has and the one
Lambda's documentation gives for destination records."""

MessageAttributes = Mapping[str, Mapping[str, str | bytes]]
"""Message attributes in SQS shape: ``{"Name": {"DataType": "String", "StringValue": "v"}}``
(``BinaryValue`` holds bytes for Binary types)."""

# ARNs -----------------------------------------------------------------------------------------
_REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d"
_ARN = re.compile(
    rf"^arn:aws[a-zA-Z-]*:(?P<service>sqs|sns|events):(?P<region>{_REGION}):"
    r"(?P<account>\d{12}):(?P<resource>.+)$"
)
_S3_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:s3:::(?P<name>[^/:]+)$")


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """One queue, topic, event bus or bucket. Buckets are global: no account or region."""

    service: str  # sqs | sns | events | s3
    account: str
    region: str
    name: str

    @property
    def arn(self) -> str:
        if self.service == "s3":
            return f"arn:aws:s3:::{self.name}"
        resource = f"event-bus/{self.name}" if self.service == "events" else self.name
        return f"arn:aws:{self.service}:{self.region}:{self.account}:{resource}"

    @property
    def key(self) -> tuple[str, str, str]:
        return self.account, self.region, self.name


def parse_arn(arn: str) -> ResourceRef | None:
    """The resource an ARN names, or None for anything but the four kinds.

    >>> parse_arn("arn:aws:events:us-east-1:123456789012:event-bus/default").name
    'default'
    >>> parse_arn("arn:aws:sns:us-east-1:123456789012:topic:5f1c0a9e") is None  # subscription
    True
    """
    if not isinstance(arn, str):
        return None
    if m := _S3_ARN.match(arn):
        return ResourceRef("s3", "", "", m["name"])
    m = _ARN.match(arn)
    if m is None:
        return None
    service, resource = m["service"], m["resource"]
    if service == "events":
        if not resource.startswith("event-bus/") or len(resource) == len("event-bus/"):
            return None
        resource = resource[len("event-bus/") :]
    elif ":" in resource or "/" in resource:
        return None
    return ResourceRef(service, m["account"], m["region"], resource)


# message attributes ---------------------------------------------------------------------------
def as_bytes(value: object) -> bytes:
    """A Binary attribute value (bytes) or a String one (text) as bytes."""
    return bytes(value) if isinstance(value, bytes | bytearray) else str(value).encode()


def attributes_json(attributes: MessageAttributes | None) -> str | None:
    """Message attributes as stored: JSON, Binary values in base64."""
    if not attributes:
        return None
    stored: dict[str, dict[str, str]] = {}
    for name, attribute in attributes.items():
        entry = {"DataType": str(attribute["DataType"])}
        if "BinaryValue" in attribute:
            entry["BinaryValue"] = base64.b64encode(as_bytes(attribute["BinaryValue"])).decode()
        else:
            entry["StringValue"] = str(attribute["StringValue"])
        stored[name] = entry
    return json.dumps(stored, sort_keys=True)


def attributes_from_json(text: object) -> dict[str, dict[str, Any]]:
    """Stored message attributes back in SQS shape (Binary values as bytes)."""
    if not text:
        return {}
    attributes: dict[str, dict[str, Any]] = json.loads(str(text))
    for attribute in attributes.values():
        if "BinaryValue" in attribute:
            attribute["BinaryValue"] = base64.b64decode(attribute["BinaryValue"])
    return attributes


# SQS ------------------------------------------------------------------------------------------
QUEUE_DEFAULTS: dict[str, str] = {
    "DelaySeconds": "0",
    "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
    "MessageRetentionPeriod": "345600",  # 4 days
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "true",  # SSE-SQS is on by default since 2022
}


FIFO_QUEUE_DEFAULTS: dict[str, str] = {
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "queue",
    "FifoThroughputLimit": "perQueue",
}


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A queue and the settable attributes in effect (defaults included)."""

    ref: ResourceRef
    attributes: dict[str, str]
    created: float
    last_modified: float
    purged: float | None

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoQueue") == "true"


def get_queue(conn: sqlite3.Connection, ref: ResourceRef) -> QueueRow | None:
    row = conn.execute(
        "SELECT attributes, created, last_modified, purged FROM sqs_queues "
        "WHERE account=? AND region=? AND name=?",
        ref.key,
    ).fetchone()
    if row is None:
        return None
    given: dict[str, str] = json.loads(row[0])
    defaults = QUEUE_DEFAULTS | (FIFO_QUEUE_DEFAULTS if given.get("FifoQueue") == "true" else {})
    return QueueRow(ref, defaults | given, row[1], row[2], row[3])


# SNS ------------------------------------------------------------------------------------------
TOPIC_DEFAULTS: dict[str, str] = {"DisplayName": "", "SignatureVersion": "1"}


@dataclass(frozen=True, slots=True)
class TopicRow:
    """A topic and the attributes in effect."""

    ref: ResourceRef
    attributes: dict[str, str]  # given ones over the defaults
    created: float


@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscription of a topic: its ARN is the topic's plus ``:`` and ``id``."""

    id: str
    topic: ResourceRef
    protocol: str
    endpoint: str
    attributes: dict[str, str]
    owner: str

    @property
    def arn(self) -> str:
        return f"{self.topic.arn}:{self.id}"

    @property
    def raw(self) -> bool:
        return self.attributes.get("RawMessageDelivery", "false").lower() == "true"


def get_topic(conn: sqlite3.Connection, ref: ResourceRef) -> TopicRow | None:
    row = conn.execute(
        "SELECT attributes, created FROM sns_topics WHERE account=? AND region=? AND name=?",
        ref.key,
    ).fetchone()
    return None if row is None else TopicRow(ref, TOPIC_DEFAULTS | json.loads(row[0]), row[1])


SUBSCRIPTION_COLUMNS = "id, account, region, topic, protocol, endpoint, attributes, owner"


def subscription_from_row(row: tuple[Any, ...]) -> Subscription:
    """A :class:`Subscription` from the :data:`SUBSCRIPTION_COLUMNS` of a row."""
    id_, account, region, topic, protocol, endpoint, attributes, owner = row
    ref = ResourceRef("sns", account, region, topic)
    return Subscription(id_, ref, protocol, endpoint, json.loads(attributes), owner)


def subscriptions(conn: sqlite3.Connection, topic: ResourceRef) -> list[Subscription]:
    """The topic's subscriptions, oldest first."""
    rows = conn.execute(
        f"SELECT {SUBSCRIPTION_COLUMNS} FROM sns_subscriptions "
        "WHERE account=? AND region=? AND topic=? ORDER BY created, id",
        topic.key,
    ).fetchall()
    return [subscription_from_row(r) for r in rows]


# EventBridge ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BusRow:
    """An event bus (the implicit ``default`` bus has no times)."""

    ref: ResourceRef
    description: str | None
    created: float | None
    last_modified: float | None


def get_bus(conn: sqlite3.Connection, ref: ResourceRef) -> BusRow | None:
    """The bus, or None; every account and region has a ``default`` bus without a row."""
    if ref.name == "default":
        return BusRow(ref, None, None, None)
    row = conn.execute(
        "SELECT description, created, last_modified FROM event_buses "
        "WHERE account=? AND region=? AND name=?",
        ref.key,
    ).fetchone()
    return None if row is None else BusRow(ref, row[0], row[1], row[2])


# S3 -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BucketRow:
    """A bucket and its owner (bucket names are global)."""

    name: str
    account: str
    region: str
    created: float


def get_bucket(conn: sqlite3.Connection, name: str) -> BucketRow | None:
    row = conn.execute(
        "SELECT account, region, created FROM s3_buckets WHERE name=?", (name,)
    ).fetchone()
    return None if row is None else BucketRow(name, row[0], row[1], row[2])
